"""Evaluation of generated images: fidelity, diversity, memorisation and utility (DESIGN.md §6).

:func:`image_scores` compares generated images with the real images their generator was trained
on (``real``) and, optionally, real images it never saw (``holdout``). The metrics, written here
from the papers:

* **Fréchet distance** (Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to
  a Local Nash Equilibrium", NeurIPS 2017): ``|mu_r - mu_g|^2 + tr(S_r + S_g - 2 (S_r S_g)^1/2)``
  between Gaussians fitted to the features of both sets. The trace of the matrix square root is
  taken from the eigenvalues of the symmetric ``S_r^1/2 S_g S_r^1/2``, which has the same
  spectrum as ``S_r S_g``, so no complex parts arise; tiny negative eigenvalues are clipped.
* **KID** (Bińkowski et al., "Demystifying MMD GANs", ICLR 2018): the unbiased estimate of
  MMD^2 with the kernel ``k(x, y) = (x . y / d + 1)^3``, averaged over random subsets (mean and
  standard deviation reported). Unlike the Fréchet distance it is unbiased, so it can be
  negative and is near 0 for two samples of one distribution.
* **Precision, recall, density, coverage** (Naeem et al., "Reliable Fidelity and Diversity
  Metrics for Generative Models", ICML 2020), with k-nearest-neighbour balls of radius the
  distance to the k-th nearest other point of the same set.
* **Memorisation**: the share of generated images whose nearest training image is closer than
  their nearest holdout image, with train and holdout samples of equal size (0.5 is ideal, 1
  means copies), in pixel space and in feature space; and the exact-copy rate. The share reads
  only for images near the data (high precision): the nearest neighbours of off-manifold images
  are a few "hub" images (1000 pixel-shuffled MNIST digits have 32 distinct nearest real
  images, one of them nearest to 545), so their share is set by where the hubs fell. Train and
  holdout must be random draws from one pool: MNIST's train and test splits differ in writers,
  and fresh training-split digits score 0.58, not 0.5, against a test-split holdout.
* **Utility**: train-on-generated-test-on-real (TSTR) accuracy of a small CNN beside the
  train-on-real-test-on-real (TRTR) reference and train-on-real-test-on-generated (TRTS).

Features come from a registered extractor (see :mod:`synthgan.evaluation._image_features`);
the default is a small CNN trained on the real labelled training images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.metrics import f1_score

from synthgan.core.random import check_random_state, derive_seed
from synthgan.evaluation._image_features import (
    ExtractorConfig,
    FeatureExtractor,
    available_feature_extractors,
    create_feature_extractor,
    predict,
    register_feature_extractor,
    train_classifier,
)
from synthgan.evaluation._neighbours import nearest, squared_distance_blocks
from synthgan.evaluation._prep import json_safe
from synthgan.io.grid import grid_array, grid_png_bytes
from synthgan.io.images import (
    ImageSet,
    as_image_set,
    check_labels,
    check_same_geometry,
    normalize_images,
)

__all__ = [
    "ExtractorConfig",
    "FeatureExtractor",
    "available_feature_extractors",
    "create_feature_extractor",
    "frechet_distance",
    "image_scores",
    "kernel_distance",
    "normalize_images",
    "prdc",
    "register_feature_extractor",
    "sample_grid_png",
]

_KID_SUBSETS = 50
_KID_SUBSET_SIZE = 1000
_SPLIT_FRACTION = 0.2  # share of real set aside to test TSTR/TRTR when no labelled holdout
_GRID_BACKGROUND = 128  # grey between the cells of the report's sample grids


# --------------------------------------------------------------------------------------------
# Metrics on feature matrices (pure functions).
# --------------------------------------------------------------------------------------------
def _feature_pair(real, generated) -> tuple[np.ndarray, np.ndarray]:
    """Both feature sets as float64 ``(n, d)`` with n >= 2, finite, and one ``d``."""
    pair = []
    for name, values in (("real_features", real), ("generated_features", generated)):
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or len(array) < 2:
            raise ValueError(f"{name} must be a (n, d) matrix with n >= 2, got {array.shape}.")
        if not np.isfinite(array).all():
            raise ValueError(f"{name} contains NaN or infinite values.")
        pair.append(array)
    if pair[0].shape[1] != pair[1].shape[1]:
        raise ValueError(
            f"real_features have {pair[0].shape[1]} columns, generated_features "
            f"{pair[1].shape[1]}; both must come from one extractor."
        )
    return pair[0], pair[1]


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Symmetric square root of a covariance matrix; round-off negatives clipped to 0."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(real_features, generated_features) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017).

    Parameters
    ----------
    real_features, generated_features : array-like of shape (n, d) and (m, d)
        Feature matrices (at least two rows each).

    Returns
    -------
    float
        ``|mu_r - mu_g|^2 + tr(S_r) + tr(S_g) - 2 tr((S_r S_g)^1/2)``, clipped at 0.
    """
    real, generated = _feature_pair(real_features, generated_features)
    cov_r = np.atleast_2d(np.cov(real, rowvar=False))  # (d, d)
    cov_g = np.atleast_2d(np.cov(generated, rowvar=False))
    root_r = _psd_sqrt(cov_r)
    # S_r^1/2 S_g S_r^1/2 is symmetric PSD and similar to S_r S_g: same eigenvalues.
    middle = root_r @ cov_g @ root_r
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    trace_root = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())
    shift = real.mean(axis=0) - generated.mean(axis=0)
    value = float(shift @ shift) + float(np.trace(cov_r) + np.trace(cov_g)) - 2.0 * trace_root
    return max(value, 0.0)


def _polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3  # (len(x), len(y)): (x.y / d + 1)^3


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2: within-set means skip the diagonal, the cross term keeps every pair."""
    m, n = len(x), len(y)
    k_xx, k_yy = _polynomial_kernel(x, x), _polynomial_kernel(y, y)
    within_x = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    within_y = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * _polynomial_kernel(x, y).mean())


def kernel_distance(
    real_features,
    generated_features,
    *,
    n_subsets: int = _KID_SUBSETS,
    subset_size: int = _KID_SUBSET_SIZE,
    random_state=0,
) -> dict:
    """Kernel Inception Distance (Bińkowski et al. 2018) on any pair of feature sets.

    Parameters
    ----------
    real_features, generated_features : array-like of shape (n, d) and (m, d)
        Feature matrices (at least two rows each).
    n_subsets : int, default 50
        Random subset pairs averaged; a single one when both sets fit in one subset.
    subset_size : int, default 1000
        Images per subset (capped at the smaller set), drawn without replacement.
    random_state : int, Generator or None, default 0
        Seed of the subset draws.

    Returns
    -------
    dict
        ``mean`` and ``std`` (population) of the unbiased MMD^2 over subsets, ``subset_size``
        and ``n_subsets``.
    """
    real, generated = _feature_pair(real_features, generated_features)
    size = min(int(subset_size), len(real), len(generated))
    draws = 1 if size == len(real) == len(generated) else int(n_subsets)
    rng = check_random_state(random_state)
    values = np.array(
        [
            _mmd2_unbiased(
                real[rng.choice(len(real), size, replace=False)],
                generated[rng.choice(len(generated), size, replace=False)],
            )
            for _ in range(draws)
        ]
    )
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "subset_size": size,
        "n_subsets": draws,
    }


def _kth_neighbour_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest other point, ``(n,)``."""
    radii = np.empty(len(points))
    for lo, block in squared_distance_blocks(points, points):
        # Sorted, a row starts with the point itself at 0, so index k is the k-th other point.
        radii[lo : lo + len(block)] = np.partition(block, k, axis=1)[:, k]
    return radii


def prdc(real_features, generated_features, *, k: int = 5) -> dict:
    """Precision, recall, density and coverage (Naeem et al. 2020) with k-NN balls.

    With ``B(x, r)`` the ball around ``x`` whose radius is the distance to the ``k``-th nearest
    other point of its own set: precision is the share of generated points inside some real
    ball; recall the share of real points inside some generated ball; density the mean number
    of real balls holding a generated point, divided by ``k`` (about 1 for matching sets);
    coverage the share of real balls that hold at least one generated point.

    Parameters
    ----------
    real_features, generated_features : array-like of shape (n, d) and (m, d)
        Feature matrices, each with more than ``k`` rows.
    k : int, default 5
        Neighbour defining the ball radii.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``density``, ``coverage``.
    """
    real, fake = _feature_pair(real_features, generated_features)
    if k < 1 or len(real) <= k or len(fake) <= k:
        raise ValueError(f"prdc needs k >= 1 and more than k = {k} points in each set.")
    real_radii, fake_radii = _kth_neighbour_radii(real, k), _kth_neighbour_radii(fake, k)
    balls_holding = np.zeros(len(fake))  # real balls around each generated point
    covered = np.zeros(len(real), dtype=bool)
    recalled = np.zeros(len(real), dtype=bool)
    for lo, block in squared_distance_blocks(real, fake):  # (real rows, n_fake)
        rows = slice(lo, lo + len(block))
        inside = block <= real_radii[rows, None]  # generated j inside real ball i
        balls_holding += inside.sum(axis=0)
        covered[rows] = inside.any(axis=1)
        recalled[rows] = (block <= fake_radii[None, :]).any(axis=1)
    return {
        "precision": float(np.mean(balls_holding > 0)),
        "recall": float(recalled.mean()),
        "density": float(balls_holding.sum() / (k * len(fake))),
        "coverage": float(covered.mean()),
    }


def _closer_to_train(generated: np.ndarray, train: np.ndarray, holdout: np.ndarray) -> dict:
    """Share of generated points nearer to ``train`` than to ``holdout`` (ties count half)."""
    to_train = nearest(generated, train)[0][:, 0]  # (n_generated,) exact distances
    to_holdout = nearest(generated, holdout)[0][:, 0]
    share = np.mean((to_train < to_holdout) + 0.5 * (to_train == to_holdout))
    return {
        "share_closer_to_train": float(share),
        "median_distance_to_train": _median_distance(to_train),
        "median_distance_to_holdout": _median_distance(to_holdout),
    }


def _median_distance(distances: np.ndarray) -> float:
    # sqrt(median(d^2)), not median(d): they differ for an even count, and the report has
    # always shown the former.
    return float(np.sqrt(np.median(np.square(distances))))


# --------------------------------------------------------------------------------------------
# Inputs, seeds and samples.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inputs:
    """Validated image sets and their labels as codes ``0..n_classes-1`` over all sets."""

    real: ImageSet
    generated: ImageSet
    holdout: ImageSet | None
    real_codes: np.ndarray | None
    generated_codes: np.ndarray | None
    holdout_codes: np.ndarray | None
    n_classes: int

    @property
    def utility(self) -> bool:
        return self.real_codes is not None and self.generated_codes is not None


def _check_inputs(real, generated, holdout, real_labels, generated_labels, holdout_labels):
    sets = {"real": as_image_set(real, "real"), "generated": as_image_set(generated, "generated")}
    if holdout is not None:
        sets["holdout"] = as_image_set(holdout, "holdout")
    elif holdout_labels is not None:
        raise ValueError("holdout_labels were given without holdout images; pass both.")
    for name in ("generated", "holdout"):
        if name in sets:
            check_same_geometry(sets["real"], sets[name])
    given = {"real": real_labels, "generated": generated_labels, "holdout": holdout_labels}
    labels = {name: check_labels(given[name], len(sets[name]), f"{name}_labels") for name in sets}
    present = [v for v in labels.values() if v is not None]
    classes = np.unique(np.concatenate(present)) if present else np.zeros(0, dtype=np.int64)
    codes = {n: None if v is None else np.searchsorted(classes, v) for n, v in labels.items()}
    return _Inputs(
        real=sets["real"],
        generated=sets["generated"],
        holdout=sets.get("holdout"),
        real_codes=codes["real"],
        generated_codes=codes["generated"],
        holdout_codes=codes.get("holdout"),
        n_classes=max(len(classes), 1),
    )


@dataclass(frozen=True)
class _Seeds:
    """Independent seeds of every random stage, drawn in a fixed order from ``random_state``."""

    sample: int
    extractor: int
    tstr: int
    kid: int

    @classmethod
    def draw(cls, random_state) -> _Seeds:
        rng = check_random_state(random_state)
        return cls(*(derive_seed(rng) for _ in range(4)))


@dataclass(frozen=True)
class _Plan:
    """Shuffled indices of the images every stage reads from each input set."""

    train: np.ndarray  # real: trains the feature classifier; reference for FD/KID/PRDC
    test: np.ndarray | None  # real set aside to test TSTR/TRTR (when no labelled holdout)
    generated: np.ndarray
    holdout: np.ndarray | None


def _cap(index: np.ndarray, max_images: int | None, rng: np.random.Generator) -> np.ndarray:
    """A random order of ``index``, cut to ``max_images``."""
    return rng.permutation(index)[:max_images]


def _stratified_split(codes: np.ndarray, rng: np.random.Generator):
    """Real indices split into (train, test) with ``_SPLIT_FRACTION`` of each class in test."""
    order = rng.permutation(len(codes))
    in_test = np.zeros(len(codes), dtype=bool)
    for code in np.unique(codes):
        members = order[codes[order] == code]
        in_test[members[: round(_SPLIT_FRACTION * len(members))]] = True
    if not in_test.any() or in_test.all():
        raise ValueError(
            f"Too few real images ({len(codes)}) to set aside {_SPLIT_FRACTION:.0%} per class "
            "for the utility scores; pass holdout with holdout_labels."
        )
    return np.flatnonzero(~in_test), np.flatnonzero(in_test)


def _plan(inputs: _Inputs, max_images: int | None, k: int, seed: int) -> _Plan:
    rng = np.random.default_rng(seed)
    train, test = np.arange(len(inputs.real)), None
    if inputs.utility and inputs.holdout_codes is None:
        train, test = _stratified_split(inputs.real_codes, rng)
        test = _cap(test, max_images, rng)
    holdout = None if inputs.holdout is None else np.arange(len(inputs.holdout))
    plan = _Plan(
        train=_cap(train, max_images, rng),
        test=test,
        generated=_cap(np.arange(len(inputs.generated)), max_images, rng),
        holdout=None if holdout is None else _cap(holdout, max_images, rng),
    )
    for name, index in (("real", plan.train), ("generated", plan.generated)):
        if len(index) <= k:
            raise ValueError(
                f"The {name} sample holds {len(index)} image(s); the k-NN metrics need more "
                f"than k = {k}. Pass more images, raise max_images or lower k."
            )
    if plan.holdout is not None and len(plan.holdout) <= k:
        raise ValueError(f"holdout holds {len(plan.holdout)} image(s); pass more than k = {k}.")
    return plan


# --------------------------------------------------------------------------------------------
# The stages of image_scores.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Batches:
    """The sampled images ``(n, C, H, W)`` in [0, 1] and their features ``(n, d)``."""

    real: torch.Tensor
    generated: torch.Tensor
    holdout: torch.Tensor | None
    real_features: np.ndarray
    generated_features: np.ndarray
    holdout_features: np.ndarray | None


def _extract(inputs: _Inputs, plan: _Plan, extractor: FeatureExtractor) -> _Batches:
    """Read the samples, fit the extractor on the real training sample, embed every sample."""
    real = inputs.real.take(plan.train)  # (n_train, C, H, W)
    generated = inputs.generated.take(plan.generated)  # (n_generated, C, H, W)
    holdout = None if plan.holdout is None else inputs.holdout.take(plan.holdout)
    codes = None if inputs.real_codes is None else inputs.real_codes[plan.train]
    extractor.fit(real, codes, inputs.n_classes)
    return _Batches(
        real=real,
        generated=generated,
        holdout=holdout,
        real_features=extractor.transform(real),
        generated_features=extractor.transform(generated),
        holdout_features=None if holdout is None else extractor.transform(holdout),
    )


def _fidelity(real_features: np.ndarray, other: np.ndarray, k: int, seed: int) -> dict:
    return {
        "frechet_distance": frechet_distance(real_features, other),
        "kid": kernel_distance(real_features, other, random_state=seed),
        **prdc(real_features, other, k=k),
    }


def _flat(images: torch.Tensor) -> np.ndarray:
    return images.flatten(1).numpy().astype(np.float64)  # (n, C * H * W)


def _memorisation(batches: _Batches, n_real: int) -> dict | None:
    """Closer-to-train shares against equally large train and holdout samples."""
    if batches.holdout is None:
        return None
    n = min(len(batches.real), len(batches.holdout))
    pixel = _closer_to_train(
        _flat(batches.generated), _flat(batches.real[:n]), _flat(batches.holdout[:n])
    )
    feature = _closer_to_train(
        batches.generated_features, batches.real_features[:n], batches.holdout_features[:n]
    )
    # A generator copying its training images at random hits the n-image train sample with
    # probability n / n_real; other copies are as close to holdout as to train.
    return {"pixel": pixel, "feature": feature, "share_if_copied": 0.5 + 0.5 * n / n_real}


def _exact_copies(inputs: _Inputs) -> dict:
    """Shares of generated (and holdout) images equal, at 8 bits, to any real image."""
    real_keys = set(inputs.real.digests())

    def rate(images: ImageSet) -> float:
        return float(np.mean([key in real_keys for key in images.digests()]))

    holdout = inputs.holdout
    return {
        "exact_copy_rate": rate(inputs.generated),
        "exact_copy_rate_holdout_baseline": None if holdout is None else rate(holdout),
    }


def _classification(true: np.ndarray, predicted: np.ndarray) -> dict:
    return {
        "accuracy": float(np.mean(true == predicted)),
        "macro_f1": float(f1_score(true, predicted, average="macro", zero_division=0)),
    }


def _utility(inputs, plan: _Plan, batches: _Batches, extractor, config, seed: int) -> dict:
    """TSTR, TRTR (the same CNN trained on as many real images) and TRTS accuracies."""
    if plan.test is None:  # a labelled holdout is the real test set
        test_images, test_codes = batches.holdout, inputs.holdout_codes[plan.holdout]
    else:
        test_images, test_codes = inputs.real.take(plan.test), inputs.real_codes[plan.test]
    real_codes = inputs.real_codes[plan.train]
    generated_codes = inputs.generated_codes[plan.generated]
    n = min(len(batches.real), len(batches.generated))

    def fit(images: torch.Tensor, codes: np.ndarray, fit_seed: int):
        options = {"epochs": config.epochs, "seed": fit_seed, "device": config.device}
        trained, _ = train_classifier(images[:n], codes[:n], inputs.n_classes, **options)
        return trained

    on_generated = fit(batches.generated, generated_codes, seed)
    on_real = getattr(extractor, "classifier_", None)  # reuse the feature classifier if equal
    if on_real is None or n != len(batches.real):
        on_real = fit(batches.real, real_codes, config.seed)
    return {
        "tstr": _classification(test_codes, predict(on_generated, test_images, config.device)),
        "trts": _classification(
            generated_codes, predict(on_real, batches.generated, config.device)
        ),
        "trtr": _classification(test_codes, predict(on_real, test_images, config.device)),
        "utility_test_set": "holdout" if plan.test is None else "real split",
        "sizes": {"train": n, "test": len(test_codes)},
    }


def _sizes(inputs: _Inputs, plan: _Plan, scores: dict, utility_sizes: dict | None) -> dict:
    """How many images every figure used."""
    n_train, n_generated = len(plan.train), len(plan.generated)
    n_holdout = None if plan.holdout is None else len(plan.holdout)
    n_reference = None if n_holdout is None else min(n_train, n_holdout)
    pair = {"real": n_train, "generated": n_generated}
    utility = utility_sizes or {}
    return {
        "inputs": {
            "real": len(inputs.real),
            "generated": len(inputs.generated),
            "holdout": 0 if inputs.holdout is None else len(inputs.holdout),
        },
        "feature_extractor_fit": n_train,
        "frechet_distance": pair,
        "kid": {k: scores["kid"][k] for k in ("subset_size", "n_subsets")},
        "prdc": pair,
        "memorisation": None
        if n_reference is None
        else {"train": n_reference, "holdout": n_reference, "generated": n_generated},
        "exact_copy_rate": {"real": len(inputs.real), "generated": len(inputs.generated)},
        "holdout_baseline": None if n_holdout is None else {"real": n_train, "holdout": n_holdout},
        "tstr": utility or None,
        "trtr": utility or None,
        "trts": {"train": utility["train"], "test": n_generated} if utility else None,
    }


def _notes(inputs: _Inputs, plan: _Plan, scores: dict) -> list[str]:
    """Plain-language caveats about what was skipped or how to read a figure."""
    notes = []
    if inputs.holdout is None:
        notes.append(
            "memorisation and holdout_baseline need holdout (real images the generator never "
            "saw); they are None."
        )
    elif scores["memorisation"]["share_if_copied"] < 1.0:
        notes.append(
            "memorisation compares with a sample of the real images, so a generator that copies "
            "its training images reaches memorisation.share_if_copied, not 1."
        )
    if not inputs.utility:
        notes.append("tstr, trts and trtr need real_labels and generated_labels; they are None.")
    elif plan.test is not None:
        notes.append(
            f"No labelled holdout: {len(plan.test)} real images ({_SPLIT_FRACTION:.0%} of each "
            "class) were set aside, unseen by the feature classifier, to test TSTR and TRTR. "
            "The generator may have seen them: pass holdout and holdout_labels for an unbiased "
            "TSTR."
        )
    return notes


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_options(max_images, classifier_epochs, k) -> None:
    if max_images is not None and (not _is_int(max_images) or max_images < 2):
        raise ValueError(f"max_images must be None or an integer >= 2, got {max_images!r}.")
    if not _is_int(classifier_epochs) or classifier_epochs < 1:
        raise ValueError(
            f"classifier_epochs must be a positive integer, got {classifier_epochs!r}."
        )
    if not _is_int(k) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")


def image_scores(
    real,
    generated,
    real_labels=None,
    generated_labels=None,
    holdout=None,
    holdout_labels=None,
    *,
    feature_extractor: str = "classifier",
    max_images: int | None = 5000,
    classifier_epochs: int = 3,
    k: int = 5,
    random_state=0,
    device: str | torch.device = "cpu",
) -> dict:
    """Score generated images against real ones: fidelity, diversity, memorisation, utility.

    Each image set is reduced to a seeded random sample of at most ``max_images`` images. The
    feature extractor is fitted on the real sample (the default trains a small CNN on it for
    ``classifier_epochs``); the real sample is also the reference of the Fréchet distance, KID
    and precision/recall/density/coverage. Exact copies are counted over the full sets. With a
    holdout, memorisation compares train and holdout samples of one size, and
    ``holdout_baseline`` scores the holdout sample as if it were generated: what an ideal
    generator would get with this extractor and these sample sizes (the Fréchet distance is
    biased upwards in small samples, so compare with it rather than with 0).

    The utility scores train the same CNN, for ``classifier_epochs``, on ``n = min(real sample,
    generated sample)`` generated images (TSTR) and on ``n`` real images (TRTR, TRTS) and test
    on the labelled holdout sample; without ``holdout_labels``, 20% of each class of ``real``
    is set aside first (seeded), the feature classifier never sees it, and TSTR/TRTR are tested
    on it (the generator may have seen those images, see ``notes``).

    With 5000 28x28 images per set, a call takes about a minute on two CPU cores. Results are
    reproducible on CPU for a given ``random_state``; the global RNGs are left untouched.

    Parameters
    ----------
    real : ndarray or Tensor
        Real images the generator was trained on: ``(N, H, W)``, ``(N, H, W, C)`` or
        ``(N, C, H, W)`` with C in {1, 3}. Integers must lie in 0..255; floats in [0, 1], or in
        [-1, 1] when any value is negative (detected per set; see :func:`normalize_images`).
    generated : ndarray or Tensor
        Generated images, with the channels and size of ``real``.
    real_labels, generated_labels : array-like of int, optional
        Class of every image (1-D). ``real_labels`` are required by the default
        ``"classifier"`` extractor; both are needed for ``tstr``, ``trts`` and ``trtr``.
    holdout : ndarray or Tensor, optional
        Real images the generator never saw; enables ``memorisation`` and ``holdout_baseline``.
    holdout_labels : array-like of int, optional
        Labels of ``holdout``; makes it the test set of the utility scores.
    feature_extractor : str, default "classifier"
        A registered extractor: ``"classifier"`` (CNN trained on the labelled real images,
        128 features), ``"pixels"`` (no labels needed) or ``"inception"`` (torchvision
        ImageNet weights, only when already in torch hub's cache; never downloaded).
    max_images : int or None, default 5000
        Cap on the sample drawn from each set; ``None`` uses every image.
    classifier_epochs : int, default 3
        Training epochs of the feature classifier and of the utility CNNs; a small training
        set gets more, so that every CNN takes at least 400 Adam steps of 64 images
        (``feature_extractor["epochs"]`` reports what ran).
    k : int, default 5
        Neighbour defining the k-NN balls of precision/recall/density/coverage.
    random_state : int, Generator or None, default 0
        Seed of the samples, the networks and the KID subsets.
    device : str or torch.device, default "cpu"
        Where the networks run.

    Returns
    -------
    dict
        JSON-serialisable (None instead of NaN): ``feature_extractor`` (name, description,
        details); ``frechet_distance``; ``kid`` (``mean``, ``std``, ``subset_size``,
        ``n_subsets``); ``precision``, ``recall``, ``density``, ``coverage`` and ``k``;
        ``memorisation`` (``pixel`` and ``feature``, each with ``share_closer_to_train``, 0.5
        ideal, and median distances; ``share_if_copied``) or None; ``exact_copy_rate`` and
        ``exact_copy_rate_holdout_baseline``; ``holdout_baseline`` (the fidelity figures of the
        holdout) or None; ``tstr``, ``trts``, ``trtr`` (``accuracy``, ``macro_f1``) or None;
        ``utility_test_set``; ``sizes`` (images behind every figure) and ``notes``.

    Examples
    --------
    >>> scores = image_scores(x_train, fake, y_train, fake_labels, x_test, y_test)  # doctest: +SKIP
    >>> scores["frechet_distance"], scores["tstr"]["accuracy"]  # doctest: +SKIP
    """
    _check_options(max_images, classifier_epochs, k)
    inputs = _check_inputs(real, generated, holdout, real_labels, generated_labels, holdout_labels)
    seeds = _Seeds.draw(random_state)
    device = str(torch.device(device))
    config = ExtractorConfig(epochs=int(classifier_epochs), seed=seeds.extractor, device=device)
    extractor = create_feature_extractor(feature_extractor, config)
    plan = _plan(inputs, max_images, k, seeds.sample)
    batches = _extract(inputs, plan, extractor)
    scores = {
        "feature_extractor": extractor.describe(),
        **_fidelity(batches.real_features, batches.generated_features, k, seeds.kid),
        "k": k,
        "memorisation": _memorisation(batches, len(inputs.real)),
        **_exact_copies(inputs),
        "holdout_baseline": None
        if batches.holdout is None
        else _fidelity(batches.real_features, batches.holdout_features, k, seeds.kid),
    }
    utility = (
        _utility(inputs, plan, batches, extractor, config, seeds.tstr) if inputs.utility else {}
    )
    utility_sizes = utility.pop("sizes", None)
    for key in ("tstr", "trts", "trtr", "utility_test_set"):
        scores[key] = utility.get(key)
    scores["sizes"] = _sizes(inputs, plan, scores, utility_sizes)
    scores["notes"] = _notes(inputs, plan, scores)
    return json_safe(scores)


# --------------------------------------------------------------------------------------------
# Sample grid.
# --------------------------------------------------------------------------------------------
def sample_grid_png(images, *, nrow: int = 8, labels=None) -> bytes:
    """Draw images in a grid and return it as PNG bytes.

    Cells are separated (and framed) by 2 grey pixels; with ``labels`` each cell gets a 12-pixel
    caption strip above the image. For ``n`` images of ``H x W`` the PNG is
    ``min(nrow, n) * (W + 2) + 2`` pixels wide and ``ceil(n / nrow) * (H + 2 + c) + 2`` tall,
    with ``c`` 12 when labelled and 0 otherwise; grayscale images give an 8-bit grey PNG,
    colour images an RGB one (the layout of :func:`synthgan.io.grid.grid_array`, which
    :func:`synthgan.image.writers.write_grid` shares). Every image given is drawn: pass a slice
    for a large set.

    Parameters
    ----------
    images : ndarray or Tensor
        Images in any layout and value range accepted by :func:`normalize_images`.
    nrow : int, default 8
        Images per row.
    labels : array-like of int, optional
        One label per image, written above it.

    Returns
    -------
    bytes
        The PNG file's content (write it with ``Path("grid.png").write_bytes(...)``).
    """
    batch = normalize_images(images, "images")  # (n, C, H, W) in [0, 1]
    labels = check_labels(labels, len(batch), "labels")
    pixels = np.rint(batch.numpy() * 255.0).astype(np.uint8)
    captions = None if labels is None else labels.tolist()
    return grid_png_bytes(grid_array(pixels, nrow, background=_GRID_BACKGROUND, captions=captions))
