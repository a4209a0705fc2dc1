"""Shared pieces of the benchmark scripts: Adult loading and split, baselines, evaluation of a
synthetic table, machine information, table printing and atomic JSON writing.

Scripts in this folder import it as ``import _common`` (Python puts the script's folder first
on ``sys.path``).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / ".." / "shared" / "data"
TARGET = "income"
POSITIVE = ">50K"
ADULT_DISCRETE = [
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native-country",
    "income",
]


def load_adult(path: Path | str | None = None) -> pd.DataFrame:
    """Adult with string cells stripped and ``?`` read as missing."""
    path = Path(path) if path is not None else DATA_DIR / "adult.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"Adult data not found at {path.resolve()}. The benchmarks read the shared copy at "
            "../shared/data/adult.csv beside the repository root, or pass --data PATH."
        )
    return pd.read_csv(path, skipinitialspace=True, na_values="?")


def split_adult(df: pd.DataFrame, *, test_size: float = 0.2, random_state: int = 0):
    """The standard split: (train, holdout), stratified on income, indexes reset."""
    train, holdout = train_test_split(
        df, test_size=test_size, random_state=random_state, stratify=df[TARGET]
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def independent_marginals(df: pd.DataFrame, n: int, random_state: int = 0) -> pd.DataFrame:
    """Each column drawn independently (with replacement) from its empirical marginal."""
    rng = np.random.default_rng(random_state)
    return pd.DataFrame({c: df[c].to_numpy()[rng.integers(0, len(df), n)] for c in df.columns})


def evaluate_table(
    train: pd.DataFrame, holdout: pd.DataFrame, table: pd.DataFrame, quality_rows: int = 5000
) -> dict:
    """Quality vs ``train``, TSTR on ``holdout`` and the share of the positive class."""
    import warnings

    from synthgan.evaluation import class_balance, quality_scores, tstr_scores

    quality = quality_scores(train, table, max_rows=quality_rows, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        tstr = tstr_scores(table, holdout, TARGET, random_state=0)
    return {
        "quality": quality,
        "tstr": tstr,
        "positive_share": class_balance(table, TARGET).get(POSITIVE, 0.0),
        "warnings": sorted({str(w.message) for w in caught}),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return None


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None  # None before the first commit


def machine_info() -> dict:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_available": affinity,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "torch": _version("torch"),
        "ctgan": _version("ctgan"),
        "sdmetrics": _version("sdmetrics"),
        "scikit-learn": _version("scikit-learn"),
        "synthgan": _version("synthgan"),
        "git_commit": _git_commit(),
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def write_json(path: Path | str, payload: dict) -> None:
    """Write JSON atomically (temporary file, then rename); NaN becomes null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_nan_to_none(payload), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def _nan_to_none(obj):
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def format_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """Plain-text table; ``columns`` holds (key, header, format spec) triples."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([_cell(row.get(key), spec) for key, _, spec in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _cell(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return format(value, spec) if spec else str(value)
