"""One suite over every synthesizer (DESIGN.md §7), with tiny networks and a few epochs.

Each synthesizer comes as a :class:`Case`: how to build it, its training data, how to sample
and how to compare two samples. Tables and images share every contract test; the few that are
about one kind of data (a table's schema, an image's shape) are at the end.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

import synthgan
from synthgan import (
    ConditionalGANSynthesizer,
    CTGANSynthesizer,
    DCGANSynthesizer,
    ModelFileError,
    NotFittedError,
)


def tiny_ctgan(**kwargs):
    """synthgan's defaults (speed options and generator averaging on), tiny networks."""
    params = dict(
        epochs=2, batch_size=40, pac=4, embedding_dim=8, generator_dim=(16, 16),
        discriminator_dim=(16,), verbose=False, random_state=0, autocast=True,
    )  # fmt: skip
    return CTGANSynthesizer(**{**params, **kwargs})


def tiny_ctgan_reference(**kwargs):
    """The reference algorithm step for step: the same contract must hold."""
    options = dict(gp_every=1, reuse_fake=False, autocast=False, ema_decay=None)
    return tiny_ctgan(**{**options, **kwargs})


_TINY_IMAGE = dict(
    epochs=2, batch_size=32, latent_dim=8, generator_width=4, discriminator_width=4,
    verbose=False, random_state=0,
)  # fmt: skip


def tiny_dcgan(**kwargs):
    return DCGANSynthesizer(**{**_TINY_IMAGE, **kwargs})


def tiny_cgan(**kwargs):
    return ConditionalGANSynthesizer(**{**_TINY_IMAGE, "embedding_dim": 4, **kwargs})


def digits() -> tuple[np.ndarray, np.ndarray]:
    """240 scikit-learn digits: 8x8 uint8 images (0..255) and labels."""
    bunch = load_digits()
    images = np.rint(bunch.images[:240] * (255 / 16)).astype(np.uint8)
    return images, bunch.target[:240]


@dataclass(frozen=True)
class Case:
    make: Callable[..., Any]
    data: Callable[[Any], Any]  # request -> training data (what fit_args unpacks)
    fit_args: Callable[[Any], tuple]
    sample: Callable[[Any, int, int], Any]  # (model, n, seed) -> output
    equal: Callable[[Any, Any], bool]  # asserts with a helpful diff where it can
    same: Callable[[Any, Any], bool]  # a plain yes / no


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    pd.testing.assert_frame_equal(a, b)
    return True


_TABLE = dict(
    data=lambda request: request.getfixturevalue("mixed_frame"),
    fit_args=lambda data: (data,),
    sample=lambda model, n, seed: model.sample(n, random_state=seed),
    equal=_frames_equal,
    same=lambda a, b: a.equals(b),
)
_IMAGES = dict(
    data=lambda request: digits(),
    fit_args=lambda data: data,
    equal=np.array_equal,
    same=np.array_equal,
)
SYNTHESIZERS = {
    "ctgan": Case(make=tiny_ctgan, **_TABLE),
    "ctgan_reference": Case(make=tiny_ctgan_reference, **_TABLE),
    "dcgan": Case(
        make=tiny_dcgan,
        sample=lambda model, n, seed: model.sample(n, random_state=seed),
        **_IMAGES,
    ),
    "conditional_gan": Case(
        make=tiny_cgan,
        sample=lambda model, n, seed: model.sample(n, random_state=seed),
        **_IMAGES,
    ),
}


@pytest.fixture(params=sorted(SYNTHESIZERS))
def case(request) -> Case:
    return SYNTHESIZERS[request.param]


@pytest.fixture
def make(case):
    return case.make


@pytest.fixture
def data(case, request):
    return case.data(request)


@pytest.fixture
def fitted(case, data):
    return case.make().fit(*case.fit_args(data))


def test_fit_returns_self(case, data):
    model = case.make()
    assert model.fit(*case.fit_args(data)) is model


def test_init_stores_params_unchanged_and_clone_works(make):
    model = make(random_state=7)
    assert model.get_params()["random_state"] == 7
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert "generator_" not in vars(twin)


def test_not_fitted_error(make, tmp_path):
    with pytest.raises(NotFittedError):
        make().sample(3)
    with pytest.raises(NotFittedError):
        make().save(tmp_path / "m.synthgan")


def test_same_seed_same_model_and_samples(case, data, fitted):
    twin = case.make().fit(*case.fit_args(data))
    for (ka, va), (kb, vb) in zip(
        fitted.generator_.state_dict().items(), twin.generator_.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)
    assert case.equal(case.sample(fitted, 100, 3), case.sample(twin, 100, 3))
    assert not case.same(case.sample(fitted, 100, 3), case.sample(fitted, 100, 4))


def test_global_rng_state_untouched(case, data):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global
    torch_state = torch.get_rng_state().clone()
    case.sample(case.make().fit(*case.fit_args(data)), 10, 0)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_sampling_leaves_the_generator_in_eval_mode(case, fitted):
    case.sample(fitted, 5, 0)
    assert not fitted.generator_.training


def test_save_load_round_trip(case, fitted, tmp_path):
    path = fitted.save(tmp_path / "model.synthgan")
    loaded = synthgan.load(path)
    assert type(loaded) is type(fitted)
    assert case.equal(case.sample(loaded, 80, 5), case.sample(fitted, 80, 5))
    assert type(fitted).load(path).get_params().keys() == fitted.get_params().keys()
    with pytest.raises(FileExistsError):
        fitted.save(path)
    fitted.save(path, overwrite=True)


def test_model_file_holds_no_pickle(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.synthgan")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "config.json",
            "manifest.json",
            "state.json",
            "tensors.safetensors",
        ]


def test_pickle_payload_is_refused_and_never_runs(fitted, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = fitted.save(tmp_path / "model.synthgan")
    evil = tmp_path / "evil.synthgan"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            payload = pickle.dumps(Payload()) if name == "tensors.safetensors" else src.read(name)
            dst.writestr(name, payload)
    with pytest.raises(ModelFileError, match="pickle"):
        synthgan.load(evil)
    assert not marker.exists()


def test_truncated_model_file(fitted, tmp_path):
    path = fitted.save(tmp_path / "model.synthgan")
    raw = path.read_bytes()
    cut = tmp_path / "cut.synthgan"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError):
        synthgan.load(cut)


def test_bad_hyperparameter_is_refused_at_fit_naming_it(case, data):
    model = case.make(epochs=0)  # __init__ stores it unchanged ...
    with pytest.raises(ValueError, match="epochs"):  # ... fit explains
        model.fit(*case.fit_args(data))


# -- tables ------------------------------------------------------------------------------------
TABLES = ["ctgan", "ctgan_reference"]
IMAGES = ["dcgan", "conditional_gan"]


@pytest.mark.parametrize("name", TABLES)
def test_schema_is_preserved(name, mixed_frame):
    out = SYNTHESIZERS[name].make().fit(mixed_frame).sample(57, random_state=1)
    assert len(out) == 57
    assert list(out.columns) == list(mixed_frame.columns)
    assert out.dtypes.equals(mixed_frame.dtypes)


@pytest.mark.parametrize("name", TABLES)
def test_bad_input_type(name):
    with pytest.raises(TypeError, match="DataFrame"):
        SYNTHESIZERS[name].make().fit([[1, 2], [3, 4]])


@pytest.mark.parametrize("name", TABLES)
def test_fit_from_file_path(name, mixed_frame, tmp_path):
    path = tmp_path / "train.parquet"
    mixed_frame.to_parquet(path)
    out = SYNTHESIZERS[name].make().fit(str(path)).sample(5, random_state=0)
    assert list(out.columns) == list(mixed_frame.columns)


# -- images ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IMAGES)
def test_image_shape_and_dtype(name):
    images, labels = digits()
    model = SYNTHESIZERS[name].make().fit(images, labels)
    out = model.sample(7, random_state=0)
    assert out.shape == (7, 8, 8, 1) and out.dtype == np.uint8
    tensor = model.sample(7, random_state=0, output="tensor")
    assert tensor.shape == (7, 1, 8, 8) and tensor.dtype == torch.float32
    assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0
    assert np.array_equal(np.rint(tensor.permute(0, 2, 3, 1).numpy() * 255), out)


@pytest.mark.parametrize("name", IMAGES)
def test_fit_from_npz_file(name, tmp_path):
    images, labels = digits()
    path = tmp_path / "digits.npz"
    np.savez_compressed(path, images=images, labels=labels)
    from_file = SYNTHESIZERS[name].make().fit(str(path))
    from_arrays = SYNTHESIZERS[name].make().fit(images, labels)
    same_seed = from_file.sample(5, random_state=0), from_arrays.sample(5, random_state=0)
    assert np.array_equal(*same_seed)


@pytest.mark.parametrize("name", IMAGES)
def test_bad_image_input_type(name):
    with pytest.raises((TypeError, ValueError), match="images"):
        SYNTHESIZERS[name].make().fit({"not": "images"})
