"""Write a large Parquet table built from Adult, for the out-of-core fit (issue 19).

Rows are drawn with replacement from the bundled Adult table (``synthgan.datasets``, 32,561
rows) with small noise on the continuous columns (integers stay integers): ``age`` moves by at
most one year, ``fnlwgt`` by about 5 %, non-zero capital gains and losses by about 2 %,
``hours-per-week`` by about one hour. The table is written one row group at a time, so memory
stays that of one row group whatever ``--rows``; the same ``--seed`` writes the same table.
The file is written atomically (a temporary file renamed when complete).

Usage::

    .venv/bin/python benchmarks/make_large_adult.py --rows 20000000 --output large_adult.parquet
    .venv/bin/python benchmarks/make_large_adult.py --rows 200000 --output /tmp/adult_200k.parquet
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthgan.datasets import load_adult
from synthgan.io.atomic import atomic_path

ROW_GROUP_ROWS = 65_536


def adult_like_rows(adult: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` rows resampled from ``adult`` with small noise on its continuous columns."""
    rows = adult.iloc[rng.integers(0, len(adult), n)].reset_index(drop=True)
    rows["age"] = np.clip(rows["age"] + rng.integers(-1, 2, n), 17, 90)
    rows["fnlwgt"] = np.round(rows["fnlwgt"] * np.exp(rng.normal(0, 0.05, n))).astype(np.int64)
    for name in ("capital-gain", "capital-loss"):
        scaled = np.round(rows[name] * np.exp(rng.normal(0, 0.02, n))).astype(np.int64)
        rows[name] = np.where(rows[name] > 0, scaled, 0)
    hours = rows["hours-per-week"] + np.round(rng.normal(0, 1, n)).astype(np.int64)
    rows["hours-per-week"] = np.clip(hours, 1, 99)
    return rows


def write_large_adult(
    path: str | Path,
    n_rows: int,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write ``n_rows`` Adult-like rows to the Parquet file ``path`` in row groups.

    Parameters
    ----------
    path : str or Path
        Destination file (``.parquet``).
    n_rows : int
        Rows to write.
    row_group_rows : int, default=65_536
        Rows per row group (the unit a streamed fit reads and shuffles).
    seed : int, default=0
        Seed of the resampling and the noise.
    overwrite : bool, default=False
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    adult, rng = load_adult(), np.random.default_rng(seed)
    schema = pa.Schema.from_pandas(adult, preserve_index=False)
    with atomic_path(path, overwrite=overwrite) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, n_rows, row_group_rows):
            rows = adult_like_rows(adult, min(row_group_rows, n_rows - start), rng)
            writer.write_table(pa.Table.from_pandas(rows, schema=schema, preserve_index=False))
    return Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--output", type=Path, default=Path("large_adult.parquet"))
    parser.add_argument("--row-group-rows", type=int, default=ROW_GROUP_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    write_large_adult(args.output, args.rows, row_group_rows=args.row_group_rows,
                      seed=args.seed, overwrite=args.overwrite)  # fmt: skip
    size = args.output.stat().st_size / 2**20
    print(f"{args.rows:,} rows -> {args.output} ({size:,.0f} MiB) in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
