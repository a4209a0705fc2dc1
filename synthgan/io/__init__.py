"""Files in and out: tables through pyarrow, safe model files, atomic writes (DESIGN.md §5)."""

from synthgan.io.atomic import atomic_path, atomic_write_bytes
from synthgan.io.serialization import ModelFile, read_model, save_model, to_jsonable
from synthgan.io.streams import check_complete
from synthgan.io.tables import SUPPORTED_EXTENSIONS, read_table, write_table

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ModelFile",
    "atomic_path",
    "atomic_write_bytes",
    "check_complete",
    "read_model",
    "read_table",
    "save_model",
    "to_jsonable",
    "write_table",
]
