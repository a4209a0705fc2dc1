"""Numeric precision choices: does a device compute bfloat16 natively?"""

from __future__ import annotations

import functools
from pathlib import Path

import torch

__all__ = ["native_bfloat16", "resolve_autocast"]

# CPU flags (Linux /proc/cpuinfo) of native bfloat16 matrix instructions.
_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


@functools.lru_cache(maxsize=1)
def _cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bfloat16(device: torch.device | str) -> bool:
    """True when ``device`` multiplies bfloat16 matrices natively (faster than float32).

    CUDA devices report it themselves; CPUs need AVX512-BF16 or AMX-BF16 (read from
    ``/proc/cpuinfo``, so False on other systems). Elsewhere bfloat16 is emulated and slower.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(_BF16_FLAGS & _cpu_flags())
    return False


def resolve_autocast(setting: bool | str, device: torch.device | str) -> bool:
    """``autocast`` option -> bool: ``"auto"`` means :func:`native_bfloat16` of ``device``."""
    if isinstance(setting, bool):
        return setting
    if setting == "auto":
        return native_bfloat16(device)
    raise ValueError(f"autocast must be True, False or 'auto', got {setting!r}.")
