"""Image synthesizers on MNIST and Fashion-MNIST: quality for a fixed CPU budget.

Each run trains one model for a wall-clock budget (``--budget`` seconds, checked at epoch ends,
so a run can overrun by one epoch), generates 10,000 images (balanced over the classes for the
conditional model) and scores them with :func:`synthgan.evaluation.image_scores` against the
real training images, with the real test images as holdout:

* train-on-generated-test-on-real accuracy (TSTR) of a small CNN, against the same CNN trained
  on as many real training images (TRTR), both tested on the real test images;
* Fréchet distance (FD) on the features of a CNN trained on the real images, with the FD of the
  real test images as the floor; precision / recall / density / coverage (k = 5);
* training and sampling images per second, and a sample grid PNG.

Data (``../shared/data/images``): MNIST is 60,000 training + 10,000 test images; the shared
Fashion-MNIST copy has 10,000 training images only, so the run trains on a fixed 8,000
(``train_test_split(test_size=2000, random_state=0, stratify=labels)``) and tests on the other
2,000; the real-data CNN is reported on the same split.

    python benchmarks/image_quality.py --datasets mnist --models cgan --budget 600
    python benchmarks/image_quality.py --models cgan --budget 20 --train-images 2000  # smoke
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import _common
import numpy as np
import torch

MODELS = {"cgan": "ConditionalGANSynthesizer", "dcgan": "DCGANSynthesizer"}
_DP10 = {"target_epsilon": 10.0, "target_delta": 1e-5}
_OLD_DP = {
    "batch_size": 64,
    "discriminator_steps": 1,
    "discriminator_width": 64,
    "mode_seeking": 0.0,
}
# Named option sets (merged over the synthesizer's defaults) used to choose the defaults.
RECIPES = {
    "default": {},
    "sn_hinge": {"spectral_norm": True, "loss": "hinge", "discriminator_norm": "none"},
    "smoothing": {"label_smoothing": 0.1},
    "diffaug": {"diff_augment": "translation,cutout"},
    "no_ema": {"ema_decay": None},
    "concat": {"conditioning": "concat"},
    "narrow": {"generator_width": 32, "discriminator_width": 32},
    # Differential privacy at ε = 10, δ = 1e-5 (the published DP-GAN reference point on MNIST);
    # train with --epochs (the noise is calibrated for the planned steps, not for a time budget).
    # dp10 and dp10_b256 pin the settings that were the defaults before the DP recipe became
    # the library's DP mode (batch 64, one critic step, critic width 64, no mode seeking).
    "dp10": {"privacy": _DP10, **_OLD_DP},
    "dp10_b256": {"privacy": _DP10, **_OLD_DP, "batch_size": 256},
    # The DP recipe of the image guide, now what privacy resolves to when batch_size,
    # discriminator_steps, discriminator_width and mode_seeking are left at None: batch 128,
    # five (noisy) critic steps per generator step (Bie et al. 2023), a narrower critic (width
    # 32: fewer coordinates to noise, 2.6x faster per-image gradients) and the mode-seeking term
    # (weight 1.0) against within-class collapse (generated images only: no budget).
    "dp10_ms": {"privacy": _DP10},
}
# Both data sets document their ten classes: a public class list for the private models.
PUBLIC_CLASSES = list(range(10))
N_GENERATED = 10_000


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="mnist,fashion", help="mnist, fashion (comma-separated)")
    p.add_argument("--models", default="cgan,dcgan", help="cgan, dcgan (comma-separated)")
    p.add_argument("--recipes", default="default", help=f"comma-separated of {sorted(RECIPES)}")
    p.add_argument("--budget", type=float, default=1800.0, help="training seconds per run")
    p.add_argument(
        "--epochs", type=int, default=None,
        help="train for this many epochs instead of a time budget (comparisons that must not "
        "depend on the machine's load)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--options", default="{}", help="JSON object merged over the recipe")
    p.add_argument("--train-images", type=int, default=None, help="subsample (smoke runs)")
    p.add_argument(
        "--generated", type=int, default=N_GENERATED, help="images generated for the evaluation"
    )
    p.add_argument(
        "--max-images",
        type=int,
        default=N_GENERATED,
        help="evaluation sample cap (generated and real alike: TSTR and TRTR train on as many)",
    )
    p.add_argument("--classifier-epochs", type=int, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", type=Path, default=_common.DATA_DIR / "images")
    p.add_argument("--grids", type=Path, default=_common.REPO_ROOT / "docs" / "images")
    p.add_argument(
        "--output", type=Path, default=_common.REPO_ROOT / "benchmarks/results/image_quality.json"
    )
    return p.parse_args(argv)


def load_dataset(name: str, folder: Path, seed: int = 0):
    """``(x_train, y_train, x_test, y_test)`` as uint8 (N, 28, 28) and int64 labels."""
    if name == "mnist":
        with np.load(folder / "mnist.npz", allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    if name == "fashion":
        from sklearn.model_selection import train_test_split

        with np.load(folder / "fashion_mnist_train10k.npz", allow_pickle=False) as f:
            images = f[_first(f, "x_train", "images", "x")]
            labels = f[_first(f, "y_train", "labels", "y")]
        x_tr, x_te, y_tr, y_te = train_test_split(
            images, labels, test_size=2000, random_state=seed, stratify=labels
        )
        return x_tr, y_tr, x_te, y_te
    raise SystemExit(f"unknown dataset {name!r}; choose mnist or fashion")


def _first(archive, *keys: str) -> str:
    for key in keys:
        if key in archive:
            return key
    raise SystemExit(f"none of {keys} in the archive (keys: {list(archive.keys())})")


def _subsample(x, y, n: int | None, seed: int):
    if n is None or n >= len(x):
        return x, y
    index = np.random.default_rng(seed).choice(len(x), size=n, replace=False)
    return x[index], y[index]


def run_one(dataset: str, model_name: str, recipe: str, args) -> dict:
    import synthgan
    from synthgan.evaluation.images import image_scores

    x_train, y_train, x_test, y_test = load_dataset(dataset, args.data, args.seed)
    x_train, y_train = _subsample(x_train, y_train, args.train_images, args.seed)
    options = {**RECIPES[recipe], **json.loads(args.options)}
    if model_name == "dcgan":
        options.pop("conditioning", None)
    cls = getattr(synthgan, MODELS[model_name])
    limits = {"epochs": args.epochs} if args.epochs else {"epochs": 10_000, "max_time": args.budget}
    model = cls(**limits, random_state=args.seed, verbose=False, **options)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    private = "privacy" in options
    if private and not args.epochs:
        raise SystemExit("private recipes need --epochs: the noise is calibrated for the steps")
    model.fit(x_train, y_train, **({"classes": PUBLIC_CLASSES} if private else {}))
    fit_wall, fit_cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    start = time.perf_counter()
    if model_name == "cgan":
        labels = np.arange(args.generated) % len(model.classes_)
        fake = model.sample(labels=labels.tolist(), random_state=1)
    else:
        labels, fake = None, model.sample(args.generated, random_state=1)
    sample_seconds = time.perf_counter() - start
    args.grids.mkdir(parents=True, exist_ok=True)
    grid = args.grids / f"{dataset}_{model_name}_{recipe}.png"
    model.save_grid(grid, n=100, overwrite=True)

    start = time.perf_counter()
    scores = image_scores(
        x_train, fake, y_train, labels, x_test, y_test,
        max_images=args.max_images, classifier_epochs=args.classifier_epochs,
        random_state=args.seed,
    )  # fmt: skip
    history = model.loss_history_
    return {
        "dataset": dataset,
        "model": model_name,
        "recipe": recipe,
        "options": options,
        # What the options left out resolved to (the DP recipe in DP mode): public attributes.
        "discriminator_width": model.network_config_.discriminator_width,
        "mode_seeking_on": "mode_seeking_ratio" in model.loss_history_,
        "train_images": len(x_train),
        "budget_s": None if args.epochs else args.budget,
        "fit_wall_s": fit_wall,
        "fit_cpu_s": fit_cpu,
        "epochs": int(model.timings_["epochs"]),
        "train_images_per_s": model.timings_["records_per_second"],
        "sample_images_per_s": args.generated / sample_seconds,
        "generated": args.generated,
        "max_images": args.max_images,
        "autocast": bool(model.autocast_),
        "final_diversity": _last(history, "diversity"),
        "final_class_coverage": _last(history, "class_coverage"),
        "evaluation_s": time.perf_counter() - start,
        "grid": _display_path(grid),
        "scores": scores,
        "loss_history": history.to_dict(orient="list"),
        "privacy_spent": None if model.privacy_spent_ is None else model.privacy_spent_.to_dict(),
    }


def _display_path(path: Path) -> str:
    root = _common.REPO_ROOT
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _last(history, column: str):
    return float(history[column].iloc[-1]) if column in history else None


def headline(run: dict) -> dict:
    s = run["scores"]
    tstr, trtr = s.get("tstr") or {}, s.get("trtr") or {}
    floor = (s.get("holdout_baseline") or {}).get("frechet_distance")
    return {
        "run": f"{run['dataset']}/{run['model']}/{run['recipe']}",
        "epochs": run["epochs"],
        "fit_s": run["fit_wall_s"],
        "train_ips": run["train_images_per_s"],
        "sample_ips": run["sample_images_per_s"],
        "tstr": tstr.get("accuracy"),
        "trtr": trtr.get("accuracy"),
        "fd": s.get("frechet_distance"),
        "fd_floor": floor,
        "precision": s.get("precision"),
        "recall": s.get("recall"),
        "coverage": s.get("coverage"),
        "diversity": run["final_diversity"],
    }


COLUMNS = [
    ("run", "run", "s"), ("epochs", "epochs", "d"), ("fit_s", "fit s", ".0f"),
    ("train_ips", "train img/s", ".0f"), ("sample_ips", "sample img/s", ".0f"),
    ("tstr", "TSTR acc", ".4f"), ("trtr", "TRTR acc", ".4f"), ("fd", "FD", ".2f"),
    ("fd_floor", "FD real test", ".2f"), ("precision", "precision", ".3f"),
    ("recall", "recall", ".3f"), ("coverage", "coverage", ".3f"), ("diversity", "diversity", ".2f"),
]  # fmt: skip


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    recipes = args.recipes.split(",")
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        raise SystemExit(f"unknown recipe(s) {unknown}; choose from {sorted(RECIPES)}")
    payload = {
        "machine": _common.machine_info(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "runs": [],
    }
    for dataset in args.datasets.split(","):
        for model_name in args.models.split(","):
            for recipe in recipes:
                limit = f"{args.epochs} epochs" if args.epochs else f"budget {args.budget:.0f} s"
                print(f"== {dataset} / {model_name} / {recipe}: {limit}", flush=True)
                payload["runs"].append(run_one(dataset, model_name, recipe, args))
                payload["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                _common.write_json(args.output, payload)  # incremental: a crash keeps the runs done
                print(_common.format_table([headline(payload["runs"][-1])], COLUMNS), flush=True)
    print()
    print(_common.format_table([headline(r) for r in payload["runs"]], COLUMNS))
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
