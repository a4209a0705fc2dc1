"""Feature extractors for the image metrics, their registry, and the small CNN they train (private).

An extractor maps float images ``(n, C, H, W)`` in [0, 1] to a feature matrix ``(n, d)``. The
metrics (Fréchet distance, KID, precision/recall/density/coverage, feature-space memorisation)
only see that matrix, so extractors plug in through :func:`register_feature_extractor`.

Built in:

* ``"classifier"`` (default): :class:`SmallCNN` trained on the real training images and their
  labels; its 128 penultimate ReLU activations are the features. Works offline on any data set.
* ``"pixels"``: images area-downscaled to at most 16x16 and flattened; needs no labels and no
  training, but pixel distances see little beyond shape and brightness.
* ``"inception"``: torchvision's ImageNet Inception-v3 pool features (2048), only when the weight
  file is already in torch hub's cache; it is never downloaded. These weights are torchvision's,
  not the TensorFlow graph of Heusel et al., so the numbers are not comparable with published
  FIDs. On CPU it costs about 6 GFLOPs per image: meant for a GPU, or a small ``max_images``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from synthgan.core.random import torch_seed_scope

__all__ = [
    "ExtractorConfig",
    "FeatureExtractor",
    "SmallCNN",
    "available_feature_extractors",
    "create_feature_extractor",
    "embed",
    "epochs_run",
    "inception_weights_path",
    "predict",
    "register_feature_extractor",
    "train_classifier",
]

_CNN_SIDE = 32  # the CNN sees images area-downscaled to at most 32 px a side (CPU cost bound)
_PIXEL_SIDE = 16  # the "pixels" extractor keeps at most 16x16 per channel (<= 768 features)
_FEATURES = 128  # width of the CNN's penultimate layer, the classifier feature space
_BATCH = 64
_EVAL_BATCH = 500
_LEARNING_RATE = 1e-3
_MIN_STEPS = 400  # small training sets get more epochs: 2000 images x 2 epochs is 63 steps
# (measured on MNIST, 2000 images: 63 steps leave the CNN at 58% training accuracy and 38%
# held-out accuracy, so TSTR/TRTR are meaningless; 400 steps give 95% and 93%)
_INCEPTION_SIDE = 299
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------------------------
# The small CNN shared by the classifier extractor and the utility (TSTR) scores.
# --------------------------------------------------------------------------------------------
def _downscale(images: Tensor, side: int) -> Tensor:
    """Area-downscale so the longer side is at most ``side``, keeping the aspect ratio."""
    height, width = images.shape[-2:]
    if max(height, width) <= side:
        return images
    factor = side / max(height, width)
    size = (max(1, round(height * factor)), max(1, round(width * factor)))
    return F.interpolate(images, size=size, mode="area")


class SmallCNN(nn.Module):
    """Three 3x3 conv layers and a 128-unit hidden layer; any input size, 1 or 3 channels.

    ``ceil_mode`` pooling and a final adaptive pool let images as small as 1x1 through.
    """

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),  # (n, 16, H/2, W/2)
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),  # (n, 32, H/4, W/4)
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),  # (n, 64, 4, 4)
            nn.Flatten(),  # (n, 1024)
            nn.Linear(64 * 16, _FEATURES),
            nn.ReLU(),  # (n, 128): the features
        )
        self.head = nn.Linear(_FEATURES, n_classes)

    def features(self, images: Tensor) -> Tensor:
        # Pixels in [0, 1] centred to [-1, 1]: ReLU layers at default init train much faster.
        return self.body(_downscale(images, _CNN_SIDE) * 2.0 - 1.0)  # (n, 128)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images))  # (n, n_classes) logits


# Trained classifiers of this process, by what determines them: scoring several generators
# against one real set (or the same set twice) trains its feature classifier once. Reproducible
# training makes this exact; the models are only ever used in eval mode, never trained further.
_TRAINED: OrderedDict[tuple, tuple[SmallCNN, float]] = OrderedDict()
_TRAINED_MAX = 8


def train_classifier(
    images: Tensor, codes: np.ndarray, n_classes: int, *, epochs: int, seed: int, device
) -> tuple[SmallCNN, float]:
    """Train a :class:`SmallCNN` with Adam and cross-entropy; return it (eval mode) and the
    accuracy on the training images over the last epoch.

    Initialisation runs in :func:`torch_seed_scope` and batches are drawn from a seeded
    ``torch.Generator``, so the model is reproducible on CPU and the caller's RNG is untouched.
    The same images, labels and settings give the same model, so the last few are kept and
    returned again rather than retrained.
    """
    key = _training_key(images, codes, n_classes, epochs, seed, device)
    if key in _TRAINED:
        _TRAINED.move_to_end(key)
        return _TRAINED[key]
    result = _train(images, codes, n_classes, epochs=epochs, seed=seed, device=device)
    _TRAINED[key] = result
    if len(_TRAINED) > _TRAINED_MAX:
        _TRAINED.popitem(last=False)
    return result


def _training_key(images: Tensor, codes, n_classes: int, epochs: int, seed: int, device) -> tuple:
    digest = hashlib.sha256(images.detach().cpu().contiguous().numpy().tobytes())
    digest.update(np.ascontiguousarray(codes, dtype=np.int64).tobytes())
    shape = (tuple(images.shape), str(images.dtype))
    return (digest.hexdigest(), shape, n_classes, epochs_run(len(images), epochs), seed,
            str(torch.device(device)), _LEARNING_RATE)  # fmt: skip


def _train(
    images: Tensor, codes: np.ndarray, n_classes: int, *, epochs: int, seed: int, device
) -> tuple[SmallCNN, float]:
    device = torch.device(device)
    targets = torch.as_tensor(codes, dtype=torch.long)
    order = torch.Generator().manual_seed(seed)
    n_epochs = epochs_run(len(images), epochs)
    with torch_seed_scope(seed, device):
        model = SmallCNN(images.shape[1], n_classes).to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=_LEARNING_RATE)
        model.train()
        for _ in range(n_epochs):
            correct = 0
            for batch in torch.randperm(len(images), generator=order).split(_BATCH):
                x, y = images[batch].to(device), targets[batch].to(device)  # (b, C, H, W), (b,)
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                correct += int((logits.argmax(1) == y).sum())
    return model.eval(), correct / len(images)


def epochs_run(n_images: int, epochs: int) -> int:
    """Epochs :func:`train_classifier` runs: ``epochs``, or enough for ``_MIN_STEPS`` steps."""
    steps_per_epoch = -(-n_images // _BATCH)  # ceil
    return max(epochs, -(-_MIN_STEPS // steps_per_epoch))


@torch.inference_mode()
def _batched(function: Callable[[Tensor], Tensor], images: Tensor, device, size: int) -> Tensor:
    """Apply ``function`` to ``images`` in batches on ``device``; concatenate on the CPU."""
    outputs = [
        function(images[lo : lo + size].to(device)).float().cpu()
        for lo in range(0, len(images), size)
    ]
    return torch.cat(outputs)


def embed(model: SmallCNN, images: Tensor, device) -> np.ndarray:
    """Penultimate-layer features ``(n, 128)`` as float64."""
    return _batched(model.features, images, device, _EVAL_BATCH).numpy().astype(np.float64)


def predict(model: SmallCNN, images: Tensor, device) -> np.ndarray:
    """Predicted class codes ``(n,)``."""
    logits = _batched(model, images, device, _EVAL_BATCH)  # (n, n_classes)
    return logits.argmax(1).numpy()


# --------------------------------------------------------------------------------------------
# Extractors and their registry.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExtractorConfig:
    """What every extractor factory receives: training epochs, seed and device."""

    epochs: int = 3
    seed: int = 0
    device: str = "cpu"


class FeatureExtractor(Protocol):
    """Maps images to features. ``fit`` sees the real training images (and labels if any).

    An extractor that is itself a classifier of the real training images may expose it as
    ``classifier_`` (a fitted :class:`SmallCNN`); :func:`image_scores` then reuses it as the
    train-on-real model of the utility scores instead of training the same network again.
    """

    name: str
    needs_labels: bool

    def fit(self, images: Tensor, codes: np.ndarray | None, n_classes: int) -> FeatureExtractor:
        """Prepare on real training images ``(n, C, H, W)`` with class codes ``(n,)`` or None."""
        ...

    def transform(self, images: Tensor) -> np.ndarray:
        """Features ``(n, d)`` (float64) of images ``(n, C, H, W)`` in [0, 1]."""
        ...

    def describe(self) -> dict:
        """JSON-ready description: at least ``name`` and ``description``."""
        ...


class ClassifierFeatures:
    """Penultimate features of a :class:`SmallCNN` trained on the real labelled images."""

    name = "classifier"
    needs_labels = True

    def __init__(self, config: ExtractorConfig) -> None:
        self.config = config

    def fit(self, images: Tensor, codes: np.ndarray | None, n_classes: int) -> ClassifierFeatures:
        if codes is None:
            raise ValueError(
                "feature_extractor='classifier' trains a CNN on the real images and needs their "
                "labels: pass real_labels, or choose feature_extractor='pixels' (no labels)."
            )
        if len(np.unique(codes)) < 2:
            raise ValueError(
                "feature_extractor='classifier' needs real images of at least two classes to "
                "learn features from; real_labels hold one. Use feature_extractor='pixels'."
            )
        config = self.config
        self.classifier_, self.train_accuracy_ = train_classifier(
            images, codes, n_classes, epochs=config.epochs, seed=config.seed, device=config.device
        )
        self.n_train_ = len(images)
        return self

    def transform(self, images: Tensor) -> np.ndarray:
        return embed(self.classifier_, images, self.config.device)  # (n, 128)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": (
                "penultimate-layer (128 ReLU units) features of a 3-conv-layer CNN trained with "
                f"Adam for {epochs_run(self.n_train_, self.config.epochs)} epoch(s) (at least "
                f"{_MIN_STEPS} steps of {_BATCH}) on the real training images and labels "
                f"(images area-downscaled to at most {_CNN_SIDE} px a side)"
            ),
            "feature_dim": _FEATURES,
            "epochs": epochs_run(self.n_train_, self.config.epochs),
            "epochs_requested": self.config.epochs,
            "n_train_images": self.n_train_,
            "train_accuracy_last_epoch": self.train_accuracy_,
        }


class PixelFeatures:
    """Pixels area-downscaled to at most 16x16 per channel, flattened; no training."""

    name = "pixels"
    needs_labels = False

    def __init__(self, config: ExtractorConfig) -> None:
        self.config = config

    def fit(self, images: Tensor, codes: np.ndarray | None, n_classes: int) -> PixelFeatures:
        self.feature_dim_ = int(_downscale(images[:1], _PIXEL_SIDE).numel())
        return self

    def transform(self, images: Tensor) -> np.ndarray:
        small = _downscale(images, _PIXEL_SIDE)  # (n, C, <=16, <=16)
        return small.flatten(1).numpy().astype(np.float64)  # (n, C * h * w)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": (
                f"pixel values in [0, 1], area-downscaled to at most {_PIXEL_SIDE} px a side "
                "and flattened (no training, no labels needed)"
            ),
            "feature_dim": self.feature_dim_,
        }


def inception_weights_path() -> Path:
    """Where torchvision keeps its ImageNet Inception-v3 weights: ``<hub dir>/checkpoints``."""
    from torchvision.models import Inception_V3_Weights

    file_name = Path(Inception_V3_Weights.IMAGENET1K_V1.url).name
    return Path(torch.hub.get_dir()) / "checkpoints" / file_name


def _load_inception(device) -> nn.Module:
    """torchvision's Inception-v3 from the local weight file, ``fc`` removed (pool features)."""
    from torchvision.models import Inception_V3_Weights, inception_v3

    path = inception_weights_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"feature_extractor='inception' needs torchvision's ImageNet Inception-v3 weights at "
            f"{path}, which does not exist; synthgan never downloads them. Copy the file "
            f"{path.name} (from {Inception_V3_Weights.IMAGENET1K_V1.url}) there, point "
            "TORCH_HOME at a cache that holds it, or use feature_extractor='classifier'."
        )
    # transform_input=True is what torchvision sets for these weights: it maps ImageNet-normalised
    # inputs back to the [-1, 1] scaling the network was trained with.
    model = inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=False)
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    model.fc = nn.Identity()  # outputs the 2048 average-pooled features
    return model.eval().to(device)


class InceptionFeatures:
    """2048 pool features of torchvision's ImageNet Inception-v3 (local weights only)."""

    name = "inception"
    needs_labels = False

    def __init__(self, config: ExtractorConfig) -> None:
        self.config = config

    def fit(self, images: Tensor, codes: np.ndarray | None, n_classes: int) -> InceptionFeatures:
        self.model_ = _load_inception(self.config.device)
        return self

    def _prepare(self, images: Tensor) -> Tensor:
        """(n, C, H, W) in [0, 1] -> (n, 3, 299, 299), ImageNet-normalised."""
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        size = (_INCEPTION_SIDE, _INCEPTION_SIDE)
        images = F.interpolate(images, size=size, mode="bilinear", antialias=True)
        mean = images.new_tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
        std = images.new_tensor(_IMAGENET_STD).view(1, 3, 1, 1)
        return (images - mean) / std

    def transform(self, images: Tensor) -> np.ndarray:
        def features(batch: Tensor) -> Tensor:
            return self.model_(self._prepare(batch))  # (b, 2048)

        return _batched(features, images, self.config.device, 32).numpy().astype(np.float64)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "description": (
                "2048 average-pool features of torchvision's ImageNet Inception-v3 "
                "(IMAGENET1K_V1, read from the local torch hub cache), images bilinearly resized "
                "to 299x299; not the TensorFlow FID network, so values are not comparable with "
                "published FIDs"
            ),
            "feature_dim": 2048,
            "weights": str(inception_weights_path()),
        }


ExtractorFactory = Callable[[ExtractorConfig], FeatureExtractor]
_EXTRACTORS: dict[str, ExtractorFactory] = {}


def register_feature_extractor(name: str, factory: ExtractorFactory) -> None:
    """Register ``factory(config) -> extractor`` under ``name`` (replacing any previous entry).

    The extractor must provide ``name``, ``needs_labels``, ``fit``, ``transform`` and
    ``describe`` (see :class:`FeatureExtractor`).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"An extractor name must be a non-empty string, got {name!r}.")
    if not callable(factory):
        raise TypeError(
            f"The factory of extractor {name!r} must be callable (config -> extractor), got "
            f"{type(factory).__name__}."
        )
    _EXTRACTORS[name] = factory


def available_feature_extractors() -> list[str]:
    """Names accepted by :func:`create_feature_extractor`."""
    return sorted(_EXTRACTORS)


def create_feature_extractor(name: str, config: ExtractorConfig | None = None) -> FeatureExtractor:
    """Build the registered extractor ``name`` (unfitted); the error lists valid names."""
    try:
        factory = _EXTRACTORS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown feature extractor {name!r}; choose one of {available_feature_extractors()} "
            "or register your own with register_feature_extractor."
        ) from None
    return factory(config if config is not None else ExtractorConfig())


register_feature_extractor("classifier", ClassifierFeatures)
register_feature_extractor("pixels", PixelFeatures)
register_feature_extractor("inception", InceptionFeatures)
