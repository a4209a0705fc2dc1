"""Safe model files: JSON and safetensors in one zip, never pickle (DESIGN.md §5).

A model file is a zip archive holding exactly four members:

``config.json``
    ``{"format": "synthgan-model", "format_version": 2, "library_version": ..., "kind": ...,
    "params": {...}}`` -- what to build and with which hyperparameters.
``state.json``
    The learned non-tensor state (a JSON object).
``tensors.safetensors``
    A flat mapping of names to tensors in the safetensors format (possibly empty).
``manifest.json``
    ``{"format": "synthgan-manifest", "algorithm": "sha256", "members": {name: hex digest}}``:
    the SHA-256 of each of the three members above.

Loading parses JSON and safetensors only; nothing in a model file can run code. Anything else in
the archive (``data.pkl``, ``model.pt``, a pickle hidden under an expected name) is refused with a
:class:`~synthgan.exceptions.ModelFileError`.

Integrity: every member is hashed again on load and compared with the manifest, so a member
edited and re-zipped (the zip CRC is then valid again), damaged on disk or in transfer, or
replaced by one of another model is refused, naming the member. This guards against accidents
and damage, not against a deliberate editor: whoever can change a member can recompute its
hash, so the manifest is not a signature (sign the whole file separately when that matters).
Files of format version 1 (synthgan before the manifest) carry no manifest and still load with
the checks they had: the zip CRC-32 and the content checks. A file of version 2 or later
without a manifest, or whose manifest does not cover exactly its members, is refused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from synthgan.exceptions import ModelFileError
from synthgan.io.atomic import StrPath, atomic_path

__all__ = [
    "FORMAT_MARKER",
    "FORMAT_VERSION",
    "ModelFile",
    "read_model",
    "save_model",
    "to_jsonable",
]

FORMAT_MARKER = "synthgan-model"
FORMAT_VERSION = 2
FIRST_MANIFEST_VERSION = 2  # format versions from this one on must carry a manifest
CONFIG_MEMBER = "config.json"
STATE_MEMBER = "state.json"
TENSORS_MEMBER = "tensors.safetensors"
MANIFEST_MEMBER = "manifest.json"
MANIFEST_MARKER = "synthgan-manifest"
_MEMBERS = (CONFIG_MEMBER, STATE_MEMBER, TENSORS_MEMBER)  # what the manifest covers
_ALL_MEMBERS = (*_MEMBERS, MANIFEST_MEMBER)
MAX_MEMBER_BYTES = 4 * 1024**3  # larger members are refused as a zip-bomb guard
_CHUNK_BYTES = 1024**2
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same model gives the same bytes
_REFUSED_PICKLE = (
    "synthgan never writes pickle payloads and refuses to load them, because unpickling runs "
    "arbitrary code"
)
# What a damaged archive can raise while zipfile parses it.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)
_SAFETENSORS_ERRORS = (
    safetensors.SafetensorError,
    AssertionError,
    KeyError,
    OverflowError,
    RuntimeError,
    TypeError,
    ValueError,
)


@dataclass(frozen=True, eq=False)  # tensors have no boolean equality: compare fields yourself
class ModelFile:
    """The content of a synthgan model file, as returned by :func:`read_model`.

    Parameters
    ----------
    kind : str
        The model kind (``BaseSynthesizer.model_kind``) that wrote the file.
    params : dict
        Hyperparameters, as JSON (tuples were stored as lists).
    state : dict
        Learned non-tensor state, as JSON.
    tensors : dict of str to torch.Tensor
        Learned tensors, on the CPU (in the name order safetensors stores, not insertion order).
    library_version : str
        The synthgan version that wrote the file.
    format_version : int
        The model file format version.

    Examples
    --------
    >>> from synthgan.io import read_model
    >>> read_model("adult.synthgan").kind  # doctest: +SKIP
    'ctgan'
    """

    kind: str
    params: dict[str, Any]
    state: dict[str, Any]
    tensors: dict[str, torch.Tensor]
    library_version: str
    format_version: int


# -- saving -------------------------------------------------------------------------------------
def save_model(
    path: StrPath,
    *,
    kind: str,
    params: Mapping[str, Any],
    state: Mapping[str, Any],
    tensors: Mapping[str, torch.Tensor],
    overwrite: bool = False,
) -> Path:
    """Write a model file (one zip of JSON and safetensors), atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination; the conventional extension is ``.synthgan``.
    kind : str
        The model kind, used by :func:`synthgan.load` to pick the class.
    params : mapping
        Hyperparameters. Values may be JSON types, tuples, numpy scalars and arrays.
    state : mapping
        Learned non-tensor state, same value types as ``params``.
    tensors : mapping of str to torch.Tensor
        Learned tensors, stored from the CPU as contiguous copies.
    overwrite : bool, default=False
        Replace an existing file at ``path``.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`pathlib.Path`.

    Raises
    ------
    TypeError
        A value that JSON or safetensors cannot hold; the message names its key.
    FileExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import torch
    >>> save_model("m.synthgan", kind="demo", params={"dim": (2, 3)}, state={},
    ...            tensors={"w": torch.zeros(2)})  # doctest: +SKIP
    PosixPath('m.synthgan')
    """
    import synthgan  # late import: synthgan/__init__ imports the models that import this module

    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty string, got {kind!r}.")
    config = {
        "format": FORMAT_MARKER,
        "format_version": FORMAT_VERSION,
        "library_version": synthgan.__version__,
        "kind": kind,
        "params": _mapping_to_jsonable(params, "params"),
    }
    members = {
        CONFIG_MEMBER: _dump_json(config),
        STATE_MEMBER: _dump_json(_mapping_to_jsonable(state, "state")),
        TENSORS_MEMBER: _tensors_to_bytes(tensors),
    }
    members[MANIFEST_MEMBER] = _dump_json(_manifest(members))
    with atomic_path(path, overwrite=overwrite) as tmp:
        _write_zip(tmp, members)
    return Path(path)


def to_jsonable(value: Any, name: str = "value") -> Any:
    """Convert ``value`` to plain JSON types, refusing anything that JSON cannot represent.

    Tuples become lists, numpy scalars become Python numbers and numpy arrays nested lists.

    Parameters
    ----------
    value : object
        ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, mappings with string
        keys, numpy scalars and numeric, boolean or string numpy arrays, nested freely.
    name : str, default="value"
        How to name ``value`` in error messages; nested keys are appended (``state['a'][0]``).

    Returns
    -------
    object
        An equivalent structure of ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` and
        ``None``.

    Raises
    ------
    TypeError
        For any other type, naming where it was found. There is no fallback to pickle or repr.

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"dims": (np.int64(2), 3), "mean": np.array([0.5])})
    {'dims': [2, 3], 'mean': [0.5]}
    """
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return _mapping_to_jsonable(value, name)
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, f"{name}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return to_jsonable(value.tolist(), name)
    raise TypeError(
        f"{name} is a {type(value).__module__}.{type(value).__qualname__}, which a synthgan model "
        "file cannot store: only None, bool, int, float, str, lists, tuples, dicts with string "
        "keys, numpy scalars and numeric/boolean/string numpy arrays are allowed. Convert it "
        "first (for example a timestamp with .isoformat(), a set with sorted(...))."
    )


def _mapping_to_jsonable(mapping: Mapping[str, Any], name: str) -> dict[str, Any]:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping with string keys, got {type(mapping).__name__}.")
    result = {}
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise TypeError(
                f"{name} has the key {key!r} of type {type(key).__name__}; model files store JSON "
                "objects, whose keys must be strings. Convert the key with str(...)."
            )
        result[str(key)] = to_jsonable(item, f"{name}[{key!r}]")
    return result


def _dump_json(value: Any) -> bytes:
    # Insertion order is kept (no sort_keys): state such as per-column dicts relies on it.
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _manifest(members: Mapping[str, bytes]) -> dict[str, Any]:
    """The manifest of the covered members: their SHA-256, in member order."""
    digests = {name: _sha256(members[name]) for name in _MEMBERS}
    return {"format": MANIFEST_MARKER, "algorithm": "sha256", "members": digests}


def _tensors_to_bytes(tensors: Mapping[str, torch.Tensor]) -> bytes:
    if not isinstance(tensors, Mapping):
        raise TypeError(f"tensors must map str to Tensor, got a {type(tensors).__name__}.")
    prepared = {}
    for key, tensor in tensors.items():
        if not isinstance(key, str) or not isinstance(tensor, torch.Tensor):
            raise TypeError(
                f"tensors[{key!r}] must be a torch.Tensor under a string key, got a "
                f"{type(tensor).__name__} under a {type(key).__name__} key."
            )
        if tensor.layout != torch.strided:
            raise TypeError(f"tensors[{key!r}] is a {tensor.layout} tensor; call .to_dense().")
        # A private contiguous CPU copy: safetensors refuses tensors that share storage.
        prepared[key] = tensor.detach().to("cpu", copy=True).contiguous()
    try:
        return safetensors.torch.save(prepared)
    except _SAFETENSORS_ERRORS as exc:
        raise TypeError(f"The tensors cannot be stored in safetensors format: {exc}") from exc


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # Unix, whatever the platform: identical bytes everywhere
            info.external_attr = 0o644 << 16
            # Float tensors barely compress and deflating them is slow: store them as they are.
            stored = name == TENSORS_MEMBER
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


# -- reading ------------------------------------------------------------------------------------
def read_model(path: StrPath) -> ModelFile:
    """Read and validate a model file written by :func:`save_model`, without running any code.

    Parameters
    ----------
    path : str or PathLike
        The model file.

    Returns
    -------
    ModelFile
        Its kind, hyperparameters, learned state, tensors and versions.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        The file is not a zip or is truncated or corrupted (CRC mismatch), a member's SHA-256
        differs from the manifest's (naming the member), the manifest is missing (format version
        2 and later) or does not cover exactly the members, a member is missing, holds any other
        member (a pickle such as ``data.pkl`` in particular), holds pickle bytes under
        an expected name, has invalid JSON or safetensors, is not a synthgan model, or uses a
        newer format version. The message names the file and the problem.

    Examples
    --------
    >>> model_file = read_model("adult.synthgan")  # doctest: +SKIP
    >>> sorted(model_file.tensors)  # doctest: +SKIP
    ['generator.fc.weight', ...]
    """
    source = Path(path)
    members = _read_members(source)
    for name, data in members.items():
        _refuse_unsafe_bytes(source, name, data)
    if MANIFEST_MEMBER in members:  # checked before any member is parsed
        _verify_manifest(source, members)
    config = _parse_config(source, _load_json(source, CONFIG_MEMBER, members[CONFIG_MEMBER]))
    _require_manifest(source, config, members)
    state = _load_json(source, STATE_MEMBER, members[STATE_MEMBER])
    if not isinstance(state, dict):
        raise ModelFileError(
            f"{source}: {STATE_MEMBER} must hold a JSON object, found a {type(state).__name__}; "
            "the file was not written by synthgan or was altered."
        )
    return ModelFile(
        kind=config["kind"],
        params=config["params"],
        state=state,
        tensors=_load_tensors(source, members[TENSORS_MEMBER]),
        library_version=config["library_version"],
        format_version=config["format_version"],
    )


def _read_members(source: Path) -> dict[str, bytes]:
    _check_model_path(source)
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            _check_member_names(source, [info.filename for info in infos])
            for info in infos:
                _check_member_info(source, info)
            return {info.filename: _read_member(source, archive, info) for info in infos}
    except ModelFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise ModelFileError(
            f"{source} is not a valid synthgan model file: its zip archive is truncated or "
            f"corrupted ({type(exc).__name__}: {exc}). Save the model again."
        ) from exc


def _check_model_path(source: Path) -> None:
    if not source.exists():
        raise FileNotFoundError(errno.ENOENT, "model file not found", str(source))
    if not source.is_file():
        raise ModelFileError(f"{source} is not a file; a synthgan model is a single zip file.")
    with source.open("rb") as handle:
        head = handle.read(16)
    if _looks_like_pickle(head):
        raise ModelFileError(
            f"{source} is a pickle file (as written by pickle.dump or an old torch.save), not a "
            f"synthgan model file; {_REFUSED_PICKLE}."
        )


def _check_member_names(source: Path, names: list[str]) -> None:
    unexpected = sorted(set(names) - set(_ALL_MEMBERS))
    if unexpected:
        raise ModelFileError(
            f"{source} holds unexpected members {unexpected}; a synthgan model file holds exactly "
            f"{list(_ALL_MEMBERS)}. Pickle payloads (such as data.pkl or model.pt from torch.save) "
            f"are refused: {_REFUSED_PICKLE}."
        )
    missing = [name for name in _MEMBERS if name not in names]  # the manifest: see read_model
    if missing:
        raise ModelFileError(
            f"{source} is missing {missing}; a synthgan model file holds exactly "
            f"{list(_ALL_MEMBERS)}. The file is incomplete or was not written by synthgan."
        )
    if len(names) != len(set(names)):
        raise ModelFileError(f"{source} lists the same member twice; the file was altered.")


def _check_member_info(source: Path, info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_MEMBER_BYTES:
        raise ModelFileError(
            f"{source}: member {info.filename} claims {info.file_size} uncompressed bytes, more "
            f"than the {MAX_MEMBER_BYTES} bytes synthgan accepts; refusing it as a possible zip "
            "bomb."
        )
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(
            f"{source}: member {info.filename} uses zip compression method {info.compress_type}, "
            "which synthgan never writes (only stored or deflated); the file was altered."
        )


def _read_member(source: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # Read in bounded chunks: zipfile stops at the declared size (checked above) and checks the
    # CRC-32 at the end, so corruption raises instead of returning altered bytes.
    chunks = []
    with archive.open(info) as member:
        while chunk := member.read(_CHUNK_BYTES):
            chunks.append(chunk)
    return b"".join(chunks)


# -- content checks -----------------------------------------------------------------------------
def _looks_like_pickle(data: bytes) -> bool:
    # Pickle protocols 2-5 start with the PROTO opcode 0x80 and the protocol number.
    return len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5


def _looks_like_safetensors(data: bytes) -> bool:
    # An 8-byte little-endian header length, then a JSON header starting with "{". A header of
    # 640 bytes also starts with 0x80 0x02, so a real safetensors file must not pass as pickle.
    if len(data) < 9:
        return False
    (header_size,) = struct.unpack("<Q", data[:8])
    return data[8:9] == b"{" and 8 + header_size <= len(data)


def _refuse_unsafe_bytes(source: Path, name: str, data: bytes) -> None:
    if _looks_like_pickle(data) and not (name == TENSORS_MEMBER and _looks_like_safetensors(data)):
        found = "pickle data"
    elif data[:2] == b"PK":
        found = "a nested zip archive (the container torch.save uses for pickled tensors)"
    else:
        return
    raise ModelFileError(f"{source}: member {name} holds {found}; {_REFUSED_PICKLE}.")


def _verify_manifest(source: Path, members: Mapping[str, bytes]) -> None:
    """Compare each member's SHA-256 with the manifest's; refuse a gap or a mismatch."""
    digests = _manifest_digests(
        source, _load_json(source, MANIFEST_MEMBER, members[MANIFEST_MEMBER])
    )
    covered = set(_MEMBERS)
    if set(digests) != covered:
        raise ModelFileError(
            f"{source}: {MANIFEST_MEMBER} lists {sorted(digests)} but must list exactly "
            f"{sorted(covered)}, the members it protects; the file was altered after saving. "
            "Save the model again from its source, or restore the file from a backup."
        )
    for name in _MEMBERS:
        found = _sha256(members[name])
        if found != digests[name]:
            raise ModelFileError(
                f"{source}: member {name} does not match its SHA-256 in {MANIFEST_MEMBER} "
                f"(expected {digests[name][:16]}..., found {found[:16]}...): it was edited or "
                "damaged after saving. Save the model again from its source, or restore the "
                "file from a backup."
            )


def _manifest_digests(source: Path, manifest: Any) -> dict[str, str]:
    shape_ok = (
        isinstance(manifest, dict)
        and manifest.get("format") == MANIFEST_MARKER
        and manifest.get("algorithm") == "sha256"
        and isinstance(manifest.get("members"), dict)
        and all(isinstance(v, str) for v in manifest["members"].values())
    )
    if not shape_ok:
        raise ModelFileError(
            f'{source}: {MANIFEST_MEMBER} must be {{"format": "{MANIFEST_MARKER}", "algorithm": '
            '"sha256", "members": {name: hex digest}}; it is not, so the file was altered or '
            "was not written by synthgan."
        )
    return manifest["members"]


def _require_manifest(source: Path, config: Mapping[str, Any], members: Mapping) -> None:
    version = config["format_version"]
    if version >= FIRST_MANIFEST_VERSION and MANIFEST_MEMBER not in members:
        raise ModelFileError(
            f"{source} is missing {MANIFEST_MEMBER}: its {CONFIG_MEMBER} says format version "
            f"{version}, whose files always carry the SHA-256 of every member there, so the "
            "manifest was removed and the members cannot be checked. Save the model again from "
            "its source, or restore the file from a backup."
        )


def _load_json(source: Path, name: str, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"{source}: member {name} is not valid JSON ({exc}); the file is corrupted or was "
            "not written by synthgan."
        ) from exc


def _parse_config(source: Path, config: Any) -> dict[str, Any]:
    if not isinstance(config, dict) or config.get("format") != FORMAT_MARKER:
        raise ModelFileError(
            f'{source}: {CONFIG_MEMBER} lacks the marker "format": "{FORMAT_MARKER}"; this '
            "is not a synthgan model file."
        )
    version = config.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            f"{source}: {CONFIG_MEMBER} has an invalid format_version {version!r}; expected a "
            "positive integer."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{source} uses model file format version {version} (written by synthgan "
            f"{config.get('library_version', 'unknown')}), but this synthgan reads versions up "
            f"to {FORMAT_VERSION}. Upgrade synthgan to load it."
        )
    for key, expected in (("kind", str), ("library_version", str), ("params", dict)):
        if not isinstance(config.get(key), expected):
            raise ModelFileError(
                f"{source}: {CONFIG_MEMBER} field {key!r} must be a {expected.__name__}, found "
                f"{type(config.get(key)).__name__}; the file was altered."
            )
    return config


def _load_tensors(source: Path, data: bytes) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(data)
    except _SAFETENSORS_ERRORS as exc:
        raise ModelFileError(
            f"{source}: member {TENSORS_MEMBER} is not a valid safetensors file ({exc}); the "
            "file is corrupted or was altered."
        ) from exc
