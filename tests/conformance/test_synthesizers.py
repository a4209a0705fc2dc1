"""One suite over every synthesizer (DESIGN.md §7), with tiny networks and a few epochs."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone

import synthgan
from synthgan import CTGANSynthesizer, ModelFileError, NotFittedError


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


SYNTHESIZERS = {"ctgan": tiny_ctgan, "ctgan_reference": tiny_ctgan_reference}


@pytest.fixture(params=sorted(SYNTHESIZERS))
def make(request):
    return SYNTHESIZERS[request.param]


@pytest.fixture
def data(mixed_frame):
    return mixed_frame


def test_fit_returns_self(make, data):
    model = make()
    assert model.fit(data) is model


def test_init_stores_params_unchanged_and_clone_works(make):
    model = make(generator_dim=(16, 16))
    assert model.get_params()["generator_dim"] == (16, 16)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert "generator_" not in vars(twin)


def test_not_fitted_error(make, tmp_path):
    with pytest.raises(NotFittedError):
        make().sample(3)
    with pytest.raises(NotFittedError):
        make().save(tmp_path / "m.synthgan")


def test_schema_is_preserved(make, data):
    out = make().fit(data).sample(57, random_state=1)
    assert len(out) == 57
    assert list(out.columns) == list(data.columns)
    assert out.dtypes.equals(data.dtypes)


def test_same_seed_same_model_and_samples(make, data):
    a = make().fit(data)
    b = make().fit(data)
    for (ka, va), (kb, vb) in zip(
        a.generator_.state_dict().items(), b.generator_.state_dict().items(), strict=True
    ):
        assert ka == kb and torch.equal(va, vb)
    pd.testing.assert_frame_equal(a.sample(100, random_state=3), b.sample(100, random_state=3))
    assert not a.sample(100, random_state=3).equals(a.sample(100, random_state=4))


def test_global_rng_state_untouched(make, data):
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checking the legacy global
    torch_state = torch.get_rng_state().clone()
    make().fit(data).sample(10, random_state=0)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_save_load_round_trip(make, data, tmp_path):
    model = make().fit(data)
    path = model.save(tmp_path / "model.synthgan")
    loaded = synthgan.load(path)
    assert type(loaded) is type(model)
    pd.testing.assert_frame_equal(
        loaded.sample(80, random_state=5), model.sample(80, random_state=5)
    )
    assert type(model).load(path).get_params().keys() == model.get_params().keys()
    with pytest.raises(FileExistsError):
        model.save(path)
    model.save(path, overwrite=True)


def test_model_file_holds_no_pickle(make, data, tmp_path):
    path = make().fit(data).save(tmp_path / "model.synthgan")
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "state.json", "tensors.safetensors"]


def test_pickle_payload_is_refused_and_never_runs(make, data, tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = make().fit(data).save(tmp_path / "model.synthgan")
    evil = tmp_path / "evil.synthgan"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, "w") as dst:
        for name in src.namelist():
            payload = pickle.dumps(Payload()) if name == "tensors.safetensors" else src.read(name)
            dst.writestr(name, payload)
    with pytest.raises(ModelFileError, match="pickle"):
        synthgan.load(evil)
    assert not marker.exists()


def test_truncated_model_file(make, data, tmp_path):
    path = make().fit(data).save(tmp_path / "model.synthgan")
    raw = path.read_bytes()
    cut = tmp_path / "cut.synthgan"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError):
        synthgan.load(cut)


def test_bad_input_type(make):
    with pytest.raises(TypeError, match="DataFrame"):
        make().fit([[1, 2], [3, 4]])


def test_fit_from_file_path(make, data, tmp_path):
    path = tmp_path / "train.parquet"
    data.to_parquet(path)
    out = make().fit(str(path)).sample(5, random_state=0)
    assert list(out.columns) == list(data.columns)
