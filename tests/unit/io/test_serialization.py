"""Safe model files: round trips, and every kind of tampered file refused without running code."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import synthgan
import synthgan.io.serialization as serialization
from synthgan.exceptions import ModelFileError
from synthgan.io import ModelFile, read_model, save_model, to_jsonable

MEMBERS = ["config.json", "state.json", "tensors.safetensors"]  # covered by the manifest
MANIFEST = "manifest.json"


class _RunsShellCommand:
    """Pickles into a payload that runs a shell command when unpickled."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture
def tensors() -> dict[str, torch.Tensor]:
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    return {
        "weight": torch.randn(4, 3, generator=torch.Generator().manual_seed(0)),
        "transposed": base.T,  # non-contiguous
        "row": base[1],  # shares storage with "transposed"
        "steps": torch.tensor([1, 2, 3], dtype=torch.int64),
        "mask": torch.tensor([True, False]),
        "trained": torch.ones(2, requires_grad=True),
    }


@pytest.fixture
def model_path(tmp_path, tensors) -> Path:
    return save_model(
        tmp_path / "model.synthgan",
        kind="demo",
        params={"epochs": 3, "dims": (8, 4)},
        state={"columns": ["a", "b"], "mean": np.array([0.5, 1.5])},
        tensors=tensors,
    )


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about deliberately duplicated names
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for name, data in members:
                archive.writestr(name, data)
    return path


def _manifest_bytes(members: dict[str, bytes]) -> bytes:
    digests = {name: hashlib.sha256(members[name]).hexdigest() for name in MEMBERS}
    manifest = {"format": "synthgan-manifest", "algorithm": "sha256", "members": digests}
    return json.dumps(manifest).encode()


def _tampered(model_path: Path, rehash: bool = True, **replacements: bytes) -> Path:
    """A copy with members replaced; ``rehash`` also rewrites the manifest to match them, as a
    deliberate editor could, so that the checks behind the manifest are reached."""
    members = _members(model_path)
    members.update({name.replace("__", "."): data for name, data in replacements.items()})
    if rehash:
        members[MANIFEST] = _manifest_bytes(members)
    return _write_zip(model_path.with_name("tampered.synthgan"), list(members.items()))


def _version_1_file(model_path: Path) -> Path:
    """What synthgan wrote before the manifest: the same three members, format_version 1."""
    members = _members(model_path)
    config = json.loads(members.pop("config.json"))
    config["format_version"] = 1
    members.pop(MANIFEST)
    old = [("config.json", json.dumps(config).encode()), *members.items()]
    return _write_zip(model_path.with_name("old.synthgan"), old, zipfile.ZIP_STORED)


# -- round trips --------------------------------------------------------------------------------
def test_round_trip_restores_params_state_and_tensors(model_path, tensors):
    model_file = read_model(model_path)

    assert isinstance(model_file, ModelFile)
    assert model_file.kind == "demo"
    assert model_file.params == {"epochs": 3, "dims": [8, 4]}  # tuples are stored as lists
    assert model_file.state == {"columns": ["a", "b"], "mean": [0.5, 1.5]}
    assert model_file.library_version == synthgan.__version__
    assert model_file.format_version == 2
    assert set(model_file.tensors) == set(tensors)  # safetensors orders names itself
    for name, tensor in tensors.items():
        loaded = model_file.tensors[name]
        assert loaded.dtype == tensor.dtype
        assert torch.equal(loaded, tensor.detach())
        assert loaded.device.type == "cpu"


def test_file_holds_exactly_the_four_documented_members(model_path):
    members = _members(model_path)
    assert list(members) == [*MEMBERS, MANIFEST]
    assert json.loads(members[MANIFEST]) == json.loads(_manifest_bytes(members))
    config = json.loads(members["config.json"])
    assert config == {
        "format": "synthgan-model",
        "format_version": 2,
        "library_version": synthgan.__version__,
        "kind": "demo",
        "params": {"epochs": 3, "dims": [8, 4]},
    }


def test_same_model_gives_identical_bytes(tmp_path, tensors):
    kwargs = {"kind": "demo", "params": {"a": 1}, "state": {"b": [2]}, "tensors": tensors}
    first = save_model(tmp_path / "one.synthgan", **kwargs)
    second = save_model(tmp_path / "two.synthgan", **kwargs)
    assert first.read_bytes() == second.read_bytes()


def test_empty_tensors_and_state_round_trip(tmp_path):
    path = save_model(tmp_path / "m.synthgan", kind="empty", params={}, state={}, tensors={})
    model_file = read_model(path)
    assert (model_file.params, model_file.state, model_file.tensors) == ({}, {}, {})


def test_save_refuses_to_replace_a_file_without_overwrite(model_path):
    before = model_path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_model(model_path, kind="other", params={}, state={}, tensors={})
    assert model_path.read_bytes() == before
    save_model(model_path, kind="other", params={}, state={}, tensors={}, overwrite=True)
    assert read_model(model_path).kind == "other"


# -- to_jsonable --------------------------------------------------------------------------------
def test_to_jsonable_converts_numpy_and_tuples_to_plain_json():
    value = {
        "int": np.int32(7),
        "float": np.float32(0.25),
        "flag": np.bool_(True),
        "text": np.str_("x"),
        "shape": (2, (3, 4)),
        "matrix": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "labels": np.array(["a", "b"]),
        "none": None,
    }
    result = to_jsonable(value)
    assert result == {
        "int": 7,
        "float": 0.25,
        "flag": True,
        "text": "x",
        "shape": [2, [3, 4]],
        "matrix": [[1, 2], [3, 4]],
        "labels": ["a", "b"],
        "none": None,
    }
    assert type(result["int"]) is int and type(result["flag"]) is bool
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (pd.Timestamp("2020-01-01"), "Timestamp"),
        ({1, 2}, "set"),
        (object(), "object"),
        (np.array([1 + 2j]), "ndarray"),
    ],
)
def test_unrepresentable_values_raise_type_error_naming_the_key(tmp_path, bad, shown):
    with pytest.raises(TypeError, match=rf"state\['outer'\]\['inner'\]\[1\] is a .*{shown}"):
        save_model(
            tmp_path / "m.synthgan",
            kind="demo",
            params={},
            state={"outer": {"inner": [0, bad]}},
            tensors={},
        )
    assert not (tmp_path / "m.synthgan").exists()


def test_non_string_keys_and_non_tensors_are_refused(tmp_path):
    with pytest.raises(TypeError, match=r"params has the key 3 of type int"):
        save_model(tmp_path / "m.synthgan", kind="d", params={3: "x"}, state={}, tensors={})
    with pytest.raises(TypeError, match=r"tensors\['w'\] must be a torch.Tensor"):
        save_model(tmp_path / "m.synthgan", kind="d", params={}, state={}, tensors={"w": [1.0]})
    assert list(tmp_path.iterdir()) == []


# -- crafted and damaged files ------------------------------------------------------------------
def test_extra_pickle_member_is_refused(model_path):
    members = [*_members(model_path).items(), ("data.pkl", pickle.dumps({"a": 1}))]
    path = _write_zip(model_path.with_name("extra.synthgan"), members)
    with pytest.raises(ModelFileError) as excinfo:
        read_model(path)
    message = str(excinfo.value)
    assert "extra.synthgan" in message and "data.pkl" in message
    assert "Pickle payloads" in message and "never writes" in message


def test_malicious_pickle_in_place_of_tensors_is_refused_and_never_run(model_path, tmp_path):
    marker = tmp_path / "pwned"
    control = tmp_path / "control"
    payload = pickle.dumps(_RunsShellCommand(f"touch '{marker}'"), protocol=4)
    # The payload is live: unpickling the same kind of bytes does run the command.
    pickle.loads(pickle.dumps(_RunsShellCommand(f"touch '{control}'"), protocol=4))
    assert control.exists()

    path = _tampered(model_path, tensors__safetensors=payload)
    with pytest.raises(ModelFileError, match=r"tensors\.safetensors holds pickle data"):
        read_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pickle_bytes_under_a_json_name_are_refused(model_path, protocol):
    path = _tampered(model_path, config__json=pickle.dumps({"format": "x"}, protocol=protocol))
    with pytest.raises(ModelFileError, match=r"config\.json holds pickle data.*never writes"):
        read_model(path)


def test_torch_save_archives_are_refused(model_path, tmp_path, tensors):
    whole = tmp_path / "model.pt"
    torch.save(tensors, whole)
    with pytest.raises(ModelFileError, match=r"Pickle payloads .* are refused"):
        read_model(whole)

    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    nested = _tampered(model_path, tensors__safetensors=buffer.getvalue())
    with pytest.raises(ModelFileError, match="nested zip archive"):
        read_model(nested)


def test_plain_pickle_file_is_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(_RunsShellCommand(f"touch '{tmp_path / 'pwned'}'")))
    with pytest.raises(ModelFileError, match="is a pickle file"):
        read_model(path)
    assert not (tmp_path / "pwned").exists()


def test_truncated_file_is_refused(model_path):
    data = model_path.read_bytes()
    truncated = model_path.with_name("truncated.synthgan")
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"truncated\.synthgan .*truncated or corrupted"):
        read_model(truncated)


def test_flipped_byte_in_tensor_data_fails_the_crc_check(model_path):
    data = bytearray(model_path.read_bytes())
    tensor_bytes = _members(model_path)["tensors.safetensors"]
    offset = bytes(data).index(tensor_bytes) + len(tensor_bytes) - 3  # inside the float data
    data[offset] ^= 0xFF
    model_path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="CRC"):
        read_model(model_path)


def test_any_flipped_byte_is_detected_or_harmless(tmp_path):
    # Flipping any single byte either raises ModelFileError or leaves the content unchanged
    # (for example a flip in a zip timestamp); it never returns altered data or another error.
    path = save_model(
        tmp_path / "small.synthgan",
        kind="demo",
        params={"a": 1},
        state={"b": [1.5]},
        tensors={"w": torch.arange(4.0)},
    )
    original = read_model(path)
    data = path.read_bytes()
    damaged = tmp_path / "damaged.synthgan"
    refused = 0
    for offset in range(len(data)):
        damaged.write_bytes(data[:offset] + bytes([data[offset] ^ 0x5A]) + data[offset + 1 :])
        try:
            result = read_model(damaged)
        except ModelFileError:
            refused += 1
            continue
        assert (result.kind, result.params, result.state) == (
            original.kind,
            original.params,
            original.state,
        )
        assert all(torch.equal(result.tensors[k], v) for k, v in original.tensors.items())
    assert refused > len(data) // 2


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "notes.synthgan"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match=r"notes\.synthgan"):
        read_model(path)


@pytest.mark.parametrize("missing", MEMBERS)
def test_missing_member_is_refused(model_path, missing):
    members = [(n, d) for n, d in _members(model_path).items() if n != missing]
    path = _write_zip(model_path.with_name("partial.synthgan"), members)
    with pytest.raises(ModelFileError, match=rf"missing \['{missing}'\]"):
        read_model(path)


def test_duplicated_member_is_refused(model_path):
    members = list(_members(model_path).items())
    path = _write_zip(model_path.with_name("dup.synthgan"), [*members, members[0]])
    with pytest.raises(ModelFileError, match="same member twice"):
        read_model(path)


def test_newer_format_version_asks_for_an_upgrade(model_path):
    config = json.loads(_members(model_path)["config.json"])
    config.update(format_version=3, library_version="9.0.0")
    path = _tampered(model_path, config__json=json.dumps(config).encode())
    with pytest.raises(ModelFileError, match=r"format version 3 .*9\.0\.0.*Upgrade synthgan"):
        read_model(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a synthgan model file"),
        ({"format_version": "1"}, "invalid format_version"),
        ({"kind": 5}, "field 'kind' must be a str"),
        ({"params": [1]}, "field 'params' must be a dict"),
    ],
)
def test_wrong_config_fields_are_refused(model_path, change, message):
    config = json.loads(_members(model_path)["config.json"])
    config.update(change)
    path = _tampered(model_path, config__json=json.dumps(config).encode())
    with pytest.raises(ModelFileError, match=message):
        read_model(path)


def test_invalid_json_state_is_refused(model_path):
    path = _tampered(model_path, state__json=b'{"columns": [1, 2')
    with pytest.raises(ModelFileError, match=r"state\.json is not valid JSON"):
        read_model(path)
    path = _tampered(model_path, state__json=b"[1, 2]")
    with pytest.raises(ModelFileError, match="must hold a JSON object"):
        read_model(path)


def test_corrupt_safetensors_is_refused(model_path):
    path = _tampered(model_path, tensors__safetensors=b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(ModelFileError, match="not a valid safetensors file"):
        read_model(path)


def test_oversized_member_is_refused_as_a_zip_bomb(model_path, monkeypatch):
    assert serialization.MAX_MEMBER_BYTES == 4 * 1024**3
    # Writing a real 4 GiB member would be slow; lower the limit below this file's members.
    monkeypatch.setattr(serialization, "MAX_MEMBER_BYTES", 64)
    with pytest.raises(
        ModelFileError, match=r"member config\.json claims \d+ uncompressed bytes.*zip bomb"
    ):
        read_model(model_path)


def test_unexpected_compression_method_is_refused(model_path):
    path = _write_zip(
        model_path.with_name("bz.synthgan"), list(_members(model_path).items()), zipfile.ZIP_BZIP2
    )
    with pytest.raises(ModelFileError, match="compression method 12"):
        read_model(path)


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.synthgan"):
        read_model(tmp_path / "absent.synthgan")
    with pytest.raises(ModelFileError, match="not a file"):
        read_model(tmp_path)


# -- integrity: the SHA-256 manifest (issue 15, finding 6) -------------------------------------
def test_edited_category_in_state_json_rezipped_is_refused_naming_state_json(tmp_path):
    # The finding's scenario: edit a category inside state.json, re-zip (valid CRCs), load.
    state = {"columns": {"workclass": {"categories": ["Private", "State-gov"]}}}
    path = save_model(tmp_path / "m.synthgan", kind="demo", params={}, state=state, tensors={})
    members = _members(path)
    edited = members["state.json"].replace(b"State-gov", b"Altered-gov")
    assert edited != members["state.json"]
    altered = _tampered(path, rehash=False, state__json=edited)
    with pytest.raises(ModelFileError, match=r"member state\.json does not match its SHA-256"):
        read_model(altered)


def test_flipped_byte_in_tensor_data_rezipped_is_refused_naming_the_tensors(model_path):
    data = bytearray(_members(model_path)["tensors.safetensors"])
    data[-3] ^= 0x01  # one bit of the float data; the safetensors header stays valid
    altered = _tampered(model_path, rehash=False, tensors__safetensors=bytes(data))
    with pytest.raises(ModelFileError, match=r"member tensors\.safetensors does not match"):
        read_model(altered)


def test_edited_config_is_refused_naming_config_json(model_path):
    config = json.loads(_members(model_path)["config.json"])
    config["params"]["epochs"] = 300
    altered = _tampered(model_path, rehash=False, config__json=json.dumps(config).encode())
    with pytest.raises(ModelFileError, match=r"member config\.json does not match"):
        read_model(altered)


def test_removed_manifest_is_refused(model_path):
    members = [(n, d) for n, d in _members(model_path).items() if n != MANIFEST]
    path = _write_zip(model_path.with_name("stripped.synthgan"), members)
    with pytest.raises(ModelFileError, match=r"missing manifest\.json.*format version 2"):
        read_model(path)


@pytest.mark.parametrize(
    "digests",
    [
        lambda d: {k: v for k, v in d.items() if k != "state.json"},  # a member left uncovered
        lambda d: {**d, "extra.bin": "0" * 64},  # a member that is not in the file
    ],
)
def test_manifest_that_does_not_cover_exactly_the_members_is_refused(model_path, digests):
    manifest = json.loads(_members(model_path)[MANIFEST])
    manifest["members"] = digests(manifest["members"])
    path = _tampered(model_path, rehash=False, manifest__json=json.dumps(manifest).encode())
    with pytest.raises(ModelFileError, match=r"manifest\.json lists .* must list exactly"):
        read_model(path)


def test_malformed_manifest_is_refused(model_path):
    path = _tampered(model_path, rehash=False, manifest__json=b'{"algorithm": "md5"}')
    with pytest.raises(ModelFileError, match=r"manifest\.json must be"):
        read_model(path)


def test_version_1_file_without_manifest_still_loads(model_path, tensors):
    old = _version_1_file(model_path)
    model_file = read_model(old)
    assert model_file.format_version == 1
    assert model_file.state == {"columns": ["a", "b"], "mean": [0.5, 1.5]}
    assert all(torch.equal(model_file.tensors[k], v.detach()) for k, v in tensors.items())
    # Its old checks still hold: a damaged member fails the zip CRC.
    data = bytearray(old.read_bytes())
    tensor_bytes = _members(old)["tensors.safetensors"]
    data[bytes(data).index(tensor_bytes) + len(tensor_bytes) - 3] ^= 0xFF
    old.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="CRC"):
        read_model(old)
