"""The ``synthgan`` command: argument parsing only; the work is done by :mod:`synthgan.workflows`.

Examples
--------
.. code-block:: bash

    synthgan fit data.csv -o model.synthgan --epochs 300 --discrete-columns zip_code
    synthgan fit data.csv --epsilon 3 --delta 1e-6 --metadata meta.json -o model.synthgan
    synthgan sample model.synthgan -n 10000 -o synthetic.parquet --condition 'income=>50K'
    synthgan evaluate --real train.parquet --synthetic synthetic.parquet \\
        --holdout holdout.parquet --target income -o report.html --json report.json
    synthgan fit-images digits/ -o digits.synthgan --conditional --epochs 25
    synthgan sample-images digits.synthgan -n 1000 -o fake.npz --label 3 --label 7
    synthgan sample-images digits.synthgan -n 64 -o grid.png
    synthgan evaluate-images --real digits/ --generated fake.npz -o images.html
    synthgan info model.synthgan --json
    synthgan metadata data.csv > meta.json
    synthgan demo --output-dir out --seed 1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from synthgan import __version__, workflows
from synthgan.exceptions import DataValidationError, ModelFileError
from synthgan.privacy.config import PrivacyConfig
from synthgan.tabular.conditions import MISSING_HINT

__all__ = ["build_parser", "cli_words", "main"]

PROG = "synthgan"
# Errors that are the user's to fix: reported as one line, without a traceback.
_USER_ERRORS = (DataValidationError, ModelFileError, OSError, ValueError, TypeError)

# The library's messages speak Python ("pass overwrite=True"); under the command line they are
# rewritten here, in one place, into the flags that do the same (applied to errors and warnings,
# in order: the specific forms before the general ones).
_CLI_WORDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # "pass sep=';' (--sep ';' on the command line)": the flag alone, wherever a message
        # gives both wordings.
        (r"\b\w+=(?:\[[^\]]*\]|\S+) \((--[^()]*?) on the command line\)", r"\1"),
        (r"\boverwrite=True\b", "--overwrite"),
        (r"\bfit\(images, labels, classes=\[\.\.\.\]\)", "--classes A,B"),
        (r"\bclasses=(?:\[\.\.\.\])?(?![\w(\[])", "--classes"),
        (r"the time limit \(max_time=([^ ]+) s\)", r"the --max-time limit of \1 s"),
        (r"\bmax_time\b", "--max-time"),
        (r"\bbatch_size=(\d+)", r"--batch-size \1"),
        (r"\bbatch_size\b", "--batch-size"),
        (r"\brandom_state=", "--seed "),
        (r"\bn_threads\b", "--threads"),
        (r"\bepochs must\b", "--epochs must"),
        (r"\bdevice='([\w:]+)'", r"--device \1"),
        (r"\bPass resume=True \(synthgan fit --resume\)", "Pass --resume"),
        (r"\bfit\(\.\.\., resume=True\)", "--resume"),
        (r"\bresume=True\b", "--resume"),
        (r"\bcheckpoint_dir\b", "--checkpoint-dir"),
        (r"\bcheckpoint_every\b", "--checkpoint-every"),
        (r"\bprivacy=PrivacyConfig\(\.\.\.\)", "--epsilon"),
        (r"\bpreprocessing_epsilon_share\b", "--preprocessing-epsilon-share"),
        (r"\bstrict=True\b", "--strict-privacy"),
        (r"\bas public metadata\b", "as public metadata (--metadata)"),
        (
            r"column '([^']*)'(.*?)" + re.escape(MISSING_HINT),
            r"column '\1'\2 (or --condition '\1=' for a missing value)",
        ),
    )
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``synthgan`` command, with its ``fit``, ``sample``,
    ``evaluate``, ``rebalance``, ``fit-images``, ``sample-images``, ``evaluate-images``,
    ``info``, ``metadata`` and ``demo`` subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Synthetic tables (CTGAN) and images (DCGAN, conditional GAN): fit, sample, "
        "evaluate, inspect a model file, demo.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_fit, _add_sample, _add_evaluate, _add_rebalance, _add_fit_images,
                _add_sample_images, _add_evaluate_images, _add_info, _add_metadata,
                _add_demo):  # fmt: skip
        add(commands)
    return parser


def _add_fit(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser(
        "fit",
        help="fit CTGAN on a CSV or Parquet table and save the model",
        description="Fit a CTGAN synthesizer on a table and save it as a model file.",
        epilog=_FIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument(
        "input",
        help="training table (.csv, .csv.gz, .tsv, .parquet, ...) or a directory of Parquet files",
    )
    fit.add_argument("-o", "--output", required=True, help="model file to write (*.synthgan)")
    fit.add_argument("--epochs", type=int, default=300, help="training epochs (default: 300)")
    fit.add_argument(
        "--discrete-columns",
        type=_comma_list,
        metavar="A,B",
        help="comma-separated columns to model as discrete whatever their type",
    )
    fit.add_argument(
        "--metadata",
        metavar="JSON",
        help='column types and bounds: {"columns": {name: {"type": ..., "min": .., "max": ..}}}',
    )
    _add_reading_options(fit)
    _add_training_options(fit, default_batch="500")
    fit.add_argument(
        "--streaming",
        choices=("auto", "on", "off"),
        help="Parquet input: read it in batches instead of into memory (default auto: when it "
        "has more than 5 million rows; see docs/scaling.md)",
    )
    _add_privacy_options(fit)
    fit.add_argument("--seed", type=int, help="random seed (same data and seed, same model)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.add_argument(
        "--quiet", action="store_true", help="no progress bar or summary (a privacy report stays)"
    )
    fit.set_defaults(handler=_run_fit)


_FIT_EPILOG = """\
differential privacy without and with metadata:
  synthgan fit data.csv -o model.synthgan --epsilon 3
      every category list, count and value range is released under DP (one Gaussian
      release, composed with DP-SGD); a warning lists what that did to each column
  synthgan metadata data.csv > meta.json     # a draft of the column kinds: review it
  synthgan fit data.csv -o model.synthgan --epsilon 1 --metadata meta.json
      what the metadata declares public costs nothing, e.g.
      {"columns": {"country": {"categories": ["FR", "DE", "NL"], "missing": false},
                   "age": {"min": 0, "max": 120}}}
  synthgan fit data.csv -o model.synthgan --epsilon 3 --preprocessing-epsilon-share 0.1
      a fixed share of the budget for those statistics ('auto', the default, sizes it)
"""


def _share(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        message = f"expected 'auto' or a number in [0, 1), got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading CSV tables")
    group.add_argument(
        "--sep", help="CSV field separator, one character or 'tab' (default: sniffed)"
    )
    group.add_argument(
        "--na-values",
        type=_comma_list,
        metavar="A,B",
        help="extra markers of missing cells, e.g. '?,-' (added to NA, NULL, empty, ...)",
    )
    group.add_argument(
        "--strip-whitespace",
        action="store_true",
        help="remove blanks around column names and string cells",
    )
    group.add_argument(
        "--text-columns",
        type=_comma_list,
        metavar="A,B",
        help="columns kept as text exactly as written (leading zeros: 001 stays 001)",
    )


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reading options given on the command line, as keyword arguments of read_table."""
    given = {"sep": args.sep, "na_values": args.na_values, "text_columns": args.text_columns}
    options = {name: value for name, value in given.items() if value is not None}
    return {**options, "strip_whitespace": True} if args.strip_whitespace else options


def _add_training_options(parser: argparse.ArgumentParser, *, default_batch: str) -> None:
    group = parser.add_argument_group("training")
    group.add_argument(
        "--batch-size", type=int, metavar="N", help=f"records per step (default: {default_batch})"
    )
    group.add_argument(
        "--max-time",
        type=float,
        metavar="SECONDS",
        help="stop after the first epoch that ends past this training time (with a warning)",
    )
    group.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        help="torch device of the fit (default: auto, the GPU when torch sees one)",
    )
    _add_threads(group)
    _add_checkpoint_options(parser)


def _add_checkpoint_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "checkpoints",
        "survive a crash: checkpoint the fit, then run the same command with --resume",
    )
    group.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="write a checkpoint of the fit to DIR after every --checkpoint-every epochs",
    )
    group.add_argument(
        "--checkpoint-every", type=int, metavar="N", help="epochs between checkpoints (default: 1)"
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the fit checkpointed in --checkpoint-dir (same data and options); the "
        "model equals that of an uninterrupted fit",
    )


def _add_threads(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="CPU threads (default: the cores other processes leave idle, or OMP_NUM_THREADS)",
    )


def _training_options(args: argparse.Namespace) -> dict[str, Any]:
    """The synthesizer options given on the command line (the others keep their defaults)."""
    given = {
        "batch_size": args.batch_size,
        "max_time": args.max_time,
        "device": args.device,
        "checkpoint_dir": args.checkpoint_dir,
        "checkpoint_every": args.checkpoint_every,
    }
    return {name: value for name, value in given.items() if value is not None}


def _streaming_option(args: argparse.Namespace) -> dict[str, Any]:
    choice = {"auto": "auto", "on": True, "off": False}.get(args.streaming)
    return {} if args.streaming is None else {"streaming": choice}


def _add_privacy_options(parser: argparse.ArgumentParser, *, tables: bool = True) -> None:
    group = parser.add_argument_group(
        "differential privacy", "train with DP-SGD and DP preprocessing (see docs/privacy.md)"
    )
    group.add_argument(
        "--epsilon", type=float, help="total privacy budget ε of the whole pipeline (e.g. 3)"
    )
    group.add_argument(
        "--delta", type=float, help="total δ (default 1/(n·√n) for n training records)"
    )
    group.add_argument(
        "--accountant", choices=("prv", "rdp"), default="prv", help="privacy accountant"
    )
    group.add_argument(
        "--preprocessing-epsilon-share",
        type=_share,
        default="auto",
        metavar="SHARE",
        help="share of the budget for the statistics released before training (category "
        "lists and counts, value ranges): 'auto' (default) sizes it from what must be "
        "released and the table's size, or a number in [0, 1)",
    )
    if tables:
        group.add_argument(
            "--strict-privacy",
            action="store_true",
            help="fail, rather than warn, when DP releases no category of a column",
        )


def _privacy_config(args: argparse.Namespace) -> PrivacyConfig | None:
    if args.epsilon is None:
        if args.delta is not None:
            raise ValueError("--delta needs --epsilon (the privacy budget ε).")
        return None
    return PrivacyConfig(
        args.epsilon, args.delta, accountant=args.accountant,
        preprocessing_epsilon_share=args.preprocessing_epsilon_share,
        strict=getattr(args, "strict_privacy", False),
    )  # fmt: skip


def _add_sample(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="generate rows from a model file into CSV or Parquet",
        description="Generate synthetic rows from a model file written by 'synthgan fit'.",
    )
    sample.add_argument("model", help="model file written by 'synthgan fit'")
    sample.add_argument("-n", "--rows", type=int, required=True, help="number of rows")
    sample.add_argument(
        "-o",
        "--output",
        required=True,
        help="table file to write (format from the extension: .parquet, .csv, .csv.gz, .tsv), "
        "or a directory name without one: a Parquet dataset of several files",
    )
    sample.add_argument(
        "--condition",
        action="append",
        metavar="COLUMN=VALUE",
        help="keep to rows with this value of a discrete column; repeatable. Quote it in the "
        "shell: --condition 'income=>50K'. An empty value (--condition 'workclass=') asks for "
        "a missing value",
    )
    sample.add_argument(
        "--condition-missing",
        action="append",
        metavar="COLUMN",
        help="keep to rows where this column is missing; repeatable",
    )
    sample.add_argument("--seed", type=int, help="random seed (same model and seed, same rows)")
    _add_stream_options(sample, "rows")
    sample.add_argument(
        "--partition-by",
        metavar="COLUMN",
        help="directory output: one sub-directory per value of this discrete column (Hive)",
    )
    overwrite = "replace an existing output file, or a directory an earlier 'sample' wrote"
    sample.add_argument("--overwrite", action="store_true", help=overwrite)
    sample.set_defaults(handler=_run_sample)


def _add_stream_options(parser: argparse.ArgumentParser, unit: str) -> None:
    """--workers, --chunk-rows and --quiet of the streaming 'sample' commands."""
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help=f"processes generating {unit} in parallel (default 1); same seed, same {unit}",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        metavar="N",
        help=f"{unit} generated and written at a time (memory is bounded by it, not by -n)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(library_log=False)  # --quiet is the bar's only: no device lines here


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="score a synthetic table: fidelity, utility, privacy leakage (HTML / JSON report)",
        description="Evaluate a synthetic table against the real training table (and a real "
        "holdout the synthesizer never saw) and write a self-contained HTML report and/or JSON.",
    )
    evaluate.add_argument("--real", required=True, help="real training table")
    evaluate.add_argument("--synthetic", required=True, help="synthetic table")
    evaluate.add_argument(
        "--holdout", help="real rows the synthesizer never saw (enables privacy figures)"
    )
    evaluate.add_argument("--target", help="column to predict (enables utility figures)")
    evaluate.add_argument("--metadata", metavar="JSON", help="column types, as for 'fit'")
    _add_reading_options(evaluate)
    _add_report_outputs(evaluate)
    evaluate.set_defaults(handler=_run_evaluate)


def _add_rebalance(commands: argparse._SubParsersAction) -> None:
    rebalance = commands.add_parser(
        "rebalance",
        help="add synthetic rows to the small classes of a table",
        description="Fit CTGAN on a table and add synthetic rows of the classes of --target "
        "that need them (exact counts, by conditional sampling); the real rows come first.",
        epilog=_REBALANCE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rebalance.add_argument("input", help="table to rebalance (.csv, .parquet, ...)")
    rebalance.add_argument("-o", "--output", required=True, help="table to write")
    rebalance.add_argument("--target", required=True, help="the class column")
    rebalance.add_argument(
        "--strategy",
        default="auto",
        help="auto (default), minority, 'not minority', 'not majority', all, a ratio (two "
        "classes), or counts after resampling as JSON: '{\"fraud\": 500}'",
    )
    rebalance.add_argument("--epochs", type=int, default=300, help="CTGAN epochs (default: 300)")
    rebalance.add_argument(
        "--fit-on",
        choices=("auto", "all", "minority"),
        default="auto",
        help="rows the model learns from (auto: the classes that get rows; all under DP)",
    )
    rebalance.add_argument(
        "--filter",
        choices=("auto", "none", "classifier", "realism"),
        default="auto",
        help="drop generated rows a classifier of the real rows gives to another class (auto: "
        "classifier; none under DP), or that a detector tells from real ones (realism)",
    )
    rebalance.add_argument("--metadata", metavar="JSON", help="column metadata (as for fit)")
    _add_reading_options(rebalance)
    _add_threads(rebalance)
    _add_privacy_options(rebalance)
    rebalance.add_argument("--seed", type=int, help="random seed")
    rebalance.add_argument("--overwrite", action="store_true", help="replace an existing output")
    rebalance.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    rebalance.set_defaults(handler=_run_rebalance)


_REBALANCE_EPILOG = """\
examples:
  synthgan rebalance train.csv --target fraud -o balanced.parquet
      every class brought up to the majority's count
  synthgan rebalance train.csv --target fraud -o more.parquet --strategy '{"yes": 2000}'
  synthgan rebalance train.csv --target fraud -o shareable.parquet --epsilon 3
      with differential privacy every row written is synthetic (the real rows are not
      returned), and the class counts come from the DP release
"""


def _add_report_outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", help="HTML report to write (*.html)")
    parser.add_argument("--json", help="JSON file of every figure to write (*.json)")
    parser.add_argument("--seed", type=int, default=0, help="seed of subsamples and models")
    _add_threads(parser)
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_fit_images(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser(
        "fit-images",
        help="fit a DCGAN (or conditional GAN) on a folder or .npz of images",
        description="Fit an image GAN and save it as a model file. The input is a folder of "
        "images (one sub-folder per class for --conditional) or a .npz file with 'images' and "
        "'labels' (or 'x_train' and 'y_train').",
        epilog="With --epsilon the model is trained with differential privacy and, unless "
        "given, uses the DP recipe: batch 128 (--batch-size), 5 critic steps per generator "
        "step, critic width 32 and the mode-seeking term with weight 1.0 (the dp10_ms recipe "
        "of docs/benchmarks.md; Bie et al. 2023, Mao et al. 2019). Without --epsilon: batch "
        "64, 1 critic step, width 64, no mode seeking. See docs/images.md, 'Differential "
        "privacy'.",
    )
    fit.add_argument("input", help="folder of images, or .npz file")
    fit.add_argument("-o", "--output", required=True, help="model file to write (*.synthgan)")
    fit.add_argument(
        "--conditional", action="store_true", help="class-conditional GAN (needs labels)"
    )
    fit.add_argument("--epochs", type=int, default=25, help="training epochs (default: 25)")
    fit.add_argument(
        "--classes",
        type=_comma_list,
        metavar="A,B",
        help="public class list of the conditional model (required with --epsilon)",
    )
    _add_training_options(fit, default_batch="64; 128 with --epsilon")
    _add_privacy_options(fit, tables=False)
    fit.add_argument("--seed", type=int, help="random seed (same data and seed, same model)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.add_argument(
        "--quiet", action="store_true", help="no progress bar or summary (a privacy report stays)"
    )
    fit.set_defaults(handler=_run_fit_images)


def _add_sample_images(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample-images",
        help="generate images from an image model into .npz, a folder of PNG files or a grid",
        description="Generate images from a model file written by 'synthgan fit-images'.",
    )
    sample.add_argument("model", help="model file written by 'synthgan fit-images'")
    sample.add_argument("-n", "--images", type=int, required=True, help="number of images")
    sample.add_argument(
        "-o",
        "--output",
        required=True,
        help="out.npz, a new folder for PNG files (or .npz shards with --shards), or "
        "grid.png / grid.jpg for one grid image",
    )
    sample.add_argument(
        "--label",
        action="append",
        metavar="CLASS",
        help="conditional models: only this class; repeatable (n is split evenly)",
    )
    sample.add_argument(
        "--nrow", type=int, metavar="N", help="grid output: images per row (default: square)"
    )
    sample.add_argument("--seed", type=int, help="random seed (same model and seed, same images)")
    sample.add_argument(
        "--shards",
        action="store_true",
        help="folder output: compressed .npz shards of --chunk-rows images instead of PNG files",
    )
    _add_stream_options(sample, "images")
    sample.add_argument("--overwrite", action="store_true", help="replace an existing output")
    sample.set_defaults(handler=_run_sample_images)


def _add_evaluate_images(commands: argparse._SubParsersAction) -> None:
    evaluate = commands.add_parser(
        "evaluate-images",
        help="score generated images against real ones (HTML / JSON report)",
        description="Evaluate generated images against the real training images (and a real "
        "holdout): Fréchet distance, KID, precision/recall/density/coverage, memorisation, "
        "train-on-generated accuracy. Inputs are folders or .npz files, as for fit-images.",
    )
    evaluate.add_argument("--real", required=True, help="real training images (folder or .npz)")
    evaluate.add_argument("--generated", required=True, help="generated images (folder or .npz)")
    evaluate.add_argument("--holdout", help="real images the generator never saw")
    evaluate.add_argument(
        "--model", help="the model file of the generated images (adds its privacy guarantee)"
    )
    evaluate.add_argument(
        "--feature-extractor",
        choices=("classifier", "pixels", "inception"),
        default="classifier",
        help="features of the distances (default: a classifier trained on the labelled real "
        "images; pixels needs no labels; inception only with cached weights)",
    )
    evaluate.add_argument(
        "--max-images", type=int, default=5000, metavar="N", help="images used per set (5000)"
    )
    evaluate.add_argument(
        "--classifier-epochs", type=int, default=3, metavar="N", help="CNN epochs (default: 3)"
    )
    _add_report_outputs(evaluate)
    evaluate.set_defaults(handler=_run_evaluate_images)


def _add_info(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser(
        "info",
        help="describe a model file: kind, columns, training settings, timings, privacy",
        description="Describe a model file written by 'synthgan fit' or 'synthgan fit-images'.",
    )
    info.add_argument("model", help="model file (*.synthgan)")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(handler=_run_info)


def _add_metadata(commands: argparse._SubParsersAction) -> None:
    metadata = commands.add_parser(
        "metadata",
        help="detect the kind of every column of a table and print it as metadata JSON",
        description="Detect the kind of every column (continuous, discrete, datetime, id, text, "
        "constant) with the reasons, as metadata JSON to review and pass to 'fit --metadata'.",
    )
    metadata.add_argument("input", help="table (.csv, .csv.gz, .tsv, .parquet, ...)")
    metadata.add_argument("-o", "--output", help="JSON file to write (default: standard output)")
    metadata.add_argument(
        "--metadata", metavar="JSON", help="metadata already written: its declared kinds stay"
    )
    metadata.add_argument(
        "--discrete-columns", type=_comma_list, metavar="A,B", help="columns declared discrete"
    )
    _add_reading_options(metadata)
    metadata.add_argument("--overwrite", action="store_true", help="replace an existing output")
    metadata.set_defaults(handler=_run_metadata)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="fit CTGAN on the bundled Adult table and write synthetic_adult.parquet",
        description="Fit CTGAN on the bundled UCI Adult table, write a synthetic copy "
        "(synthetic_adult.parquet) and print its quality scores.",
    )
    demo.add_argument(
        "--output-dir", default=".", metavar="DIR", help="folder of the output (default: .)"
    )
    demo.add_argument(
        "--epochs",
        type=int,
        default=workflows.DEMO_EPOCHS,
        help=f"training epochs (default: {workflows.DEMO_EPOCHS}, a few minutes on 2 cores)",
    )
    demo.add_argument(
        "--seed", type=int, default=0, help="seed of the split, fit, sampling and evaluation (0)"
    )
    demo.set_defaults(handler=_run_demo)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# ---------------------------------------------------------------------------------------------
# command handlers: call the workflow, report the result
# ---------------------------------------------------------------------------------------------
def _job_options(args: argparse.Namespace) -> dict[str, Any]:
    """What every fitting command passes on: seed, overwriting, progress, privacy, threads."""
    return {
        "random_state": args.seed,
        "overwrite": args.overwrite,
        "verbose": not args.quiet,
        "privacy": _privacy_config(args),
        "threads": args.threads,
    }


def _run_fit(args: argparse.Namespace) -> None:
    path = workflows.fit_table(
        args.input,
        args.output,
        epochs=args.epochs,
        discrete_columns=args.discrete_columns,
        metadata_path=args.metadata,
        read_options=_read_options(args),
        resume=args.resume,
        **_job_options(args),
        **_training_options(args),
        **_streaming_option(args),
    )
    _report_fit(path, quiet=args.quiet)


def _report_fit(path, *, quiet: bool) -> None:
    if not workflows.is_main_process():  # torchrun: rank 0 reports
        return
    summary = workflows.fit_summary(path)
    if not quiet:
        print(f"Model written to {path}")
        if summary["kinds"]:
            print(summary["kinds"])
    if summary["privacy_report"]:  # never hidden by --quiet
        print(summary["privacy_report"])


def _run_sample(args: argparse.Namespace) -> None:
    path = workflows.sample_table(
        args.model,
        args.output,
        n=args.rows,
        conditions=workflows.parse_conditions(args.condition, args.condition_missing),
        random_state=args.seed,
        overwrite=args.overwrite,
        workers=args.workers,
        chunk_rows=args.chunk_rows,
        partition_by=args.partition_by,
        progress=False if args.quiet else None,
    )
    print(f"{args.rows} rows written to {path}")


def _run_evaluate(args: argparse.Namespace) -> None:
    report = workflows.evaluate_tables(
        args.real,
        args.synthetic,
        html_path=args.output,
        json_path=args.json,
        holdout_path=args.holdout,
        target=args.target,
        metadata_path=args.metadata,
        random_state=args.seed,
        overwrite=args.overwrite,
        threads=args.threads,
        read_options=_read_options(args),
        verbose=not args.quiet,
    )
    _report_written(report, args)


def _report_written(report, args: argparse.Namespace) -> None:
    print(report.summary())
    for path in (args.output, args.json):
        if path:
            print(f"written {path}")


def _run_rebalance(args: argparse.Namespace) -> None:
    path, counts = workflows.rebalance_table(
        args.input,
        args.output,
        target=args.target,
        strategy=args.strategy,
        epochs=args.epochs,
        metadata_path=args.metadata,
        read_options=_read_options(args),
        fit_on=args.fit_on,
        filter=None if args.filter == "none" else args.filter,
        **_job_options(args),
    )
    if not args.quiet:
        print(f"{args.target}: {counts['before']} -> {counts['after']}")
        print(f"written {path}")


def _run_fit_images(args: argparse.Namespace) -> None:
    path = workflows.fit_images(
        args.input,
        args.output,
        conditional=args.conditional,
        epochs=args.epochs,
        classes=args.classes,
        resume=args.resume,
        **_job_options(args),
        **_training_options(args),
    )
    _report_fit(path, quiet=args.quiet)


def _run_sample_images(args: argparse.Namespace) -> None:
    path = workflows.sample_images(
        args.model,
        args.output,
        n=args.images,
        labels=args.label,
        random_state=args.seed,
        overwrite=args.overwrite,
        nrow=args.nrow,
        shards=args.shards,
        workers=args.workers,
        chunk_images=args.chunk_rows,
        progress=False if args.quiet else None,
    )
    print(f"{args.images} images written to {path}")


def _run_evaluate_images(args: argparse.Namespace) -> None:
    report = workflows.evaluate_image_sets(
        args.real,
        args.generated,
        html_path=args.output,
        json_path=args.json,
        holdout_path=args.holdout,
        model_path=args.model,
        random_state=args.seed,
        overwrite=args.overwrite,
        threads=args.threads,
        feature_extractor=args.feature_extractor,
        max_images=args.max_images,
        classifier_epochs=args.classifier_epochs,
    )
    _report_written(report, args)


def _run_info(args: argparse.Namespace) -> None:
    info = workflows.model_info(args.model)
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else
          workflows.format_model_info(info))  # fmt: skip


def _run_metadata(args: argparse.Namespace) -> None:
    detected = workflows.table_metadata(
        args.input,
        args.output,
        metadata_path=args.metadata,
        discrete_columns=args.discrete_columns,
        read_options=_read_options(args),
        overwrite=args.overwrite,
    )
    if args.output is None:
        print(json.dumps(detected, indent=2, ensure_ascii=False))
    else:
        print(f"metadata of {len(detected['columns'])} columns written to {args.output}",
              file=sys.stderr)  # fmt: skip


def _run_demo(args: argparse.Namespace) -> None:
    workflows.run_demo(args.output_dir, epochs=args.epochs, random_state=args.seed)


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``synthgan`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 2 for a usage error or an error the user can fix (bad data, a bad model
        file, a file that exists or is missing), reported as ``synthgan: error: <message>`` on
        stderr without a traceback; 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else 2
    shown = not getattr(args, "quiet", True) and getattr(args, "library_log", True)
    with _warnings_as_messages(), _library_log(shown):
        try:
            args.handler(args)
            sys.stdout.flush()  # inside the try: a closed pipe is reported here, not at exit
        except BrokenPipeError:  # the reader went away (synthgan info m.synthgan | head)
            _silence_stdout()
            return 0
        except _USER_ERRORS as exc:
            print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
    return 0


@contextmanager
def _library_log(shown: bool) -> Iterator[None]:
    """Show the library's information lines (the device a fit runs on) on stderr."""
    if not shown:
        yield
        return
    logger = logging.getLogger("synthgan")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _silence_stdout() -> None:
    # Python flushes stdout again at exit, which would raise a second BrokenPipeError.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _describe(exc: BaseException) -> str:
    # OSErrors read "[Errno 17] message: 'path'"; show "path: message" as command-line tools do.
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    return cli_words(text)


def cli_words(message: str) -> str:
    """``message`` with its Python wording replaced by the command line's flags.

    Examples
    --------
    >>> cli_words("file already exists; pass overwrite=True (--overwrite on the command line)")
    'file already exists; pass --overwrite'
    """
    for pattern, replacement in _CLI_WORDS:
        message = pattern.sub(replacement, message)
    return message


@contextmanager
def _warnings_as_messages() -> Iterator[None]:
    """Show synthgan's user warnings as ``synthgan: warning: <message>`` lines on stderr."""
    with warnings.catch_warnings():  # restores warnings.showwarning on exit
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, (DeprecationWarning, FutureWarning)):
                default(message, category, filename, lineno, file, line)
            else:
                print(f"{PROG}: warning: {cli_words(str(message))}", file=sys.stderr)

        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
