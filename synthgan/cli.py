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
    synthgan demo --output-dir out
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from synthgan import __version__, workflows
from synthgan.base import load
from synthgan.exceptions import DataValidationError, ModelFileError
from synthgan.privacy.config import PrivacyConfig

__all__ = ["build_parser", "main"]

PROG = "synthgan"
# Errors that are the user's to fix: reported as one line, without a traceback.
_USER_ERRORS = (DataValidationError, ModelFileError, OSError, ValueError, TypeError)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``synthgan`` command, with its ``fit``, ``sample``,
    ``evaluate``, ``fit-images``, ``sample-images`` and ``demo`` subcommands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Synthetic tables (CTGAN) and images (DCGAN, conditional GAN): fit, sample, "
        "evaluate, demo.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_fit(commands)
    _add_sample(commands)
    _add_evaluate(commands)
    _add_fit_images(commands)
    _add_sample_images(commands)
    _add_demo(commands)
    return parser


def _add_fit(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser(
        "fit",
        help="fit CTGAN on a CSV or Parquet table and save the model",
        description="Fit a CTGAN synthesizer on a table and save it as a model file.",
    )
    fit.add_argument("input", help="training table (.csv, .csv.gz, .tsv, .parquet, ...)")
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
    _add_privacy_options(fit)
    fit.add_argument("--seed", type=int, help="random seed (same data and seed, same model)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    fit.set_defaults(handler=_run_fit)


def _add_privacy_options(parser: argparse.ArgumentParser) -> None:
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


def _privacy_config(args: argparse.Namespace) -> PrivacyConfig | None:
    if args.epsilon is None:
        if args.delta is not None:
            raise ValueError("--delta needs --epsilon (the privacy budget ε).")
        return None
    return PrivacyConfig(args.epsilon, args.delta, accountant=args.accountant)


def _add_sample(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="generate rows from a model file into CSV or Parquet",
        description="Generate synthetic rows from a model file written by 'synthgan fit'.",
    )
    sample.add_argument("model", help="model file written by 'synthgan fit'")
    sample.add_argument("-n", "--rows", type=int, required=True, help="number of rows")
    sample.add_argument(
        "-o", "--output", required=True, help="table to write; format from the extension"
    )
    sample.add_argument(
        "--condition",
        action="append",
        metavar="COLUMN=VALUE",
        help="keep to rows with this value of a discrete column; repeatable. Quote it in the "
        "shell: --condition 'income=>50K'",
    )
    sample.add_argument("--seed", type=int, help="random seed (same model and seed, same rows)")
    sample.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    sample.set_defaults(handler=_run_sample)


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
    evaluate.add_argument("-o", "--output", help="HTML report to write")
    evaluate.add_argument("--json", help="JSON file of every figure to write")
    evaluate.add_argument("--metadata", metavar="JSON", help="column types, as for 'fit'")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of subsamples and models")
    evaluate.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    evaluate.set_defaults(handler=_run_evaluate)


def _add_fit_images(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser(
        "fit-images",
        help="fit a DCGAN (or conditional GAN) on a folder or .npz of images",
        description="Fit an image GAN and save it as a model file. The input is a folder of "
        "images (one sub-folder per class for --conditional) or a .npz file with 'images' and "
        "'labels' (or 'x_train' and 'y_train').",
    )
    fit.add_argument("input", help="folder of images, or .npz file")
    fit.add_argument("-o", "--output", required=True, help="model file to write (*.synthgan)")
    fit.add_argument(
        "--conditional", action="store_true", help="class-conditional GAN (needs labels)"
    )
    fit.add_argument("--epochs", type=int, default=25, help="training epochs (default: 25)")
    fit.add_argument(
        "--max-time", type=float, metavar="SECONDS", help="stop after this much training"
    )
    fit.add_argument(
        "--classes",
        type=_comma_list,
        metavar="A,B",
        help="public class list of the conditional model (required with --epsilon)",
    )
    _add_privacy_options(fit)
    fit.add_argument("--seed", type=int, help="random seed (same data and seed, same model)")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    fit.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    fit.set_defaults(handler=_run_fit_images)


def _add_sample_images(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample-images",
        help="generate images from an image model into .npz or a folder of PNG files",
        description="Generate images from a model file written by 'synthgan fit-images'.",
    )
    sample.add_argument("model", help="model file written by 'synthgan fit-images'")
    sample.add_argument("-n", "--images", type=int, required=True, help="number of images")
    sample.add_argument(
        "-o", "--output", required=True, help="out.npz, or a new folder for PNG files"
    )
    sample.add_argument(
        "--label",
        action="append",
        metavar="CLASS",
        help="conditional models: only this class; repeatable (n is split evenly)",
    )
    sample.add_argument("--seed", type=int, help="random seed (same model and seed, same images)")
    sample.add_argument("--overwrite", action="store_true", help="replace an existing output")
    sample.set_defaults(handler=_run_sample_images)


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
    demo.set_defaults(handler=_run_demo)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# ---------------------------------------------------------------------------------------------
# command handlers: call the workflow, report the result
# ---------------------------------------------------------------------------------------------
def _run_fit(args: argparse.Namespace) -> None:
    path = workflows.fit_table(
        args.input,
        args.output,
        epochs=args.epochs,
        discrete_columns=args.discrete_columns,
        metadata_path=args.metadata,
        random_state=args.seed,
        overwrite=args.overwrite,
        verbose=not args.quiet,
        privacy=_privacy_config(args),
    )
    if not args.quiet:
        print(f"Model written to {path}")
        if args.epsilon is not None:
            print(load(path).privacy_report())


def _run_sample(args: argparse.Namespace) -> None:
    path = workflows.sample_table(
        args.model,
        args.output,
        n=args.rows,
        conditions=workflows.parse_conditions(args.condition),
        random_state=args.seed,
        overwrite=args.overwrite,
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
    )
    print(report.summary())
    for path in (args.output, args.json):
        if path:
            print(f"written {path}")


def _run_fit_images(args: argparse.Namespace) -> None:
    path = workflows.fit_images(
        args.input,
        args.output,
        conditional=args.conditional,
        epochs=args.epochs,
        max_time=args.max_time,
        random_state=args.seed,
        overwrite=args.overwrite,
        verbose=not args.quiet,
        classes=args.classes,
        privacy=_privacy_config(args),
    )
    if not args.quiet:
        print(f"Model written to {path}")
        if args.epsilon is not None:
            print(load(path).privacy_report())


def _run_sample_images(args: argparse.Namespace) -> None:
    path = workflows.sample_images(
        args.model,
        args.output,
        n=args.images,
        labels=args.label,
        random_state=args.seed,
        overwrite=args.overwrite,
    )
    print(f"{args.images} images written to {path}")


def _run_demo(args: argparse.Namespace) -> None:
    workflows.run_demo(args.output_dir, epochs=args.epochs)


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
    with _warnings_as_messages():
        try:
            args.handler(args)
        except _USER_ERRORS as exc:
            print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130
    return 0


def _describe(exc: BaseException) -> str:
    # OSErrors read "[Errno 17] message: 'path'"; show "path: message" as command-line tools do.
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


@contextmanager
def _warnings_as_messages() -> Iterator[None]:
    """Show synthgan's user warnings as ``synthgan: warning: <message>`` lines on stderr."""
    with warnings.catch_warnings():  # restores warnings.showwarning on exit
        default = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, (DeprecationWarning, FutureWarning)):
                default(message, category, filename, lineno, file, line)
            else:
                print(f"{PROG}: warning: {message}", file=sys.stderr)

        warnings.showwarning = show
        yield


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
