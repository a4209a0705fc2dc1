"""Class rebalancing of images (issue 17): the BAGAN protocol on MNIST and Fashion-MNIST.

For each data set and seed, three classes of the training split (``--cut-classes``; by default
three drawn with ``--class-seed 0``, which gives classes 5, 6 and 9, printed at the start) are
cut to 1 % of their images (``--keep-fraction``, at least one image; which images stay is drawn
with the seed). The same cut training set then goes through each method:

* ``none``: trained on as it is;
* ``duplication``: random oversampling: each cut class topped up to the majority count (the
  largest class of the cut set) with copies of its own images, drawn with replacement;
* ``class_weights``: no new images, weighted cross-entropy with the "balanced" weights
  ``n / (classes * n_c)``;
* ``augmentation``: the cut classes topped up to the majority count with randomly transformed
  copies (torchvision: a random 28-px crop of the image padded by 2 px, i.e. a shift of up to
  2 px, then a random affine map: rotation up to 10°, scale 0.9-1.1, shear up to 8°);
* ``cgan``: :class:`synthgan.augmentation.ImageRebalancer` with a
  :class:`~synthgan.ConditionalGANSynthesizer` fitted on the whole cut set, generating the
  images the cut classes lack up to the majority count. Defaults: the synthesizer's own
  hyperparameters, ``--gan-epochs mnist=15,fashion=40`` (about 640k and 225k images seen;
  Fashion-MNIST's set is 7.5 times smaller), ``--gan-options '{}'`` (a JSON object passed to
  the synthesizer, e.g. ``'{"diff_augment": "translation,cutout"}'``). A grid of generated
  images of the cut classes is written to ``--grids`` (``<output stem>_grids/``).

The classifier is the evaluation module's small CNN (``SmallCNN`` of
``synthgan.evaluation._image_features``: three 3x3 conv layers and a 128-unit hidden layer),
trained the way its ``train_classifier`` trains it (Adam, learning rate 1e-3, batches of 64,
seeded) for ``--classifier-epochs`` (10) epochs over the rebalanced set; the loop is the
script's own because that function has no class weights. It is scored on the untouched real
test images: accuracy, macro-F1, balanced accuracy, and the recall (and F1) of every class; the
minority recall is the mean recall of the cut classes. Wall time per method is the rebalancing
(the GAN's fit and sampling for ``cgan``) plus the classifier's training.

Data (``../shared/data/images``): MNIST trains on its 60,000 training images and tests on its
10,000 test images; the shared Fashion-MNIST copy holds 10,000 training images only, so, as in
``image_quality.py``, it trains on a fixed 8,000 and tests on the other 2,000
(``train_test_split(test_size=2000, random_state=0, stratify=labels)``), the same for every seed.

The JSON (``--output``) is rewritten after every (data set, method, seed) cell; ``--resume``
keeps the finished cells of an earlier run with the same settings and runs only the missing
ones (cells that failed are run again). The summary gives mean ± standard deviation over the
seeds per method, and the figure the issue targets: cGAN minus duplication in points of
minority recall (paired by seed; target at least 3 points on both data sets).

    # the full benchmark: both data sets, five methods, seeds 0, 1, 2
    python benchmarks/rebalancing_images.py
    # continue a killed run (the same command plus --resume)
    python benchmarks/rebalancing_images.py --resume
    # smoke run: 600 training and 500 test images, one epoch of the CNN and the GAN, one seed
    # (about 30 s; writes benchmarks/results/rebalancing_images_quick.json)
    python benchmarks/rebalancing_images.py --quick --seeds 0

How long (2 cores; the cGAN trains at about 350 images/s there, the CNN at about 2,000): MNIST
cuts to 42,884 training images (62,938 after topping up), so ``none`` and ``class_weights``
take about 4 minutes a seed, ``duplication`` and ``augmentation`` about 5-6, and ``cgan`` about
35 (15 GAN epochs, then the CNN); Fashion-MNIST cuts to 5,617 images (8,071), under a minute
per method and about 12 minutes for ``cgan`` (40 GAN epochs). About 70 minutes a seed, 3.5
hours for the three seeds (less on an idle machine, where the GAN has run at 1,300-1,600
images/s). ``--datasets``, ``--methods`` and ``--seeds`` split the work across sessions (one
``--output`` and ``--resume`` collects it).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import traceback
from pathlib import Path

import _common
import image_quality
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, recall_score

from synthgan.core.random import torch_seed_scope
from synthgan.evaluation._image_features import _BATCH, _LEARNING_RATE, SmallCNN, predict

METHODS = ("none", "duplication", "class_weights", "augmentation", "cgan")
N_CLASSES = 10  # both data sets
TARGET_POINTS = 3.0  # issue 17: cGAN beats duplication by >= 3 points of minority recall
GAN_EPOCHS = "mnist=15,fashion=40"
QUICK = {"train_images": 600, "test_images": 500, "classifier_epochs": 1, "gan_epochs": "1"}
CROP_PADDING = 2  # pixels: random shifts of up to 2 px
AFFINE = {"degrees": 10.0, "scale": (0.9, 1.1), "shear": 8.0}
GRID_PER_CLASS = 16


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="mnist,fashion", help="mnist, fashion (comma-separated)")
    p.add_argument(
        "--methods", default=",".join(METHODS), help="comma-separated of " + ", ".join(METHODS)
    )
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cut-classes", help="comma-separated classes to cut (default: drawn)")
    p.add_argument("--n-cut", type=int, default=3, help="classes drawn when --cut-classes is unset")
    p.add_argument("--class-seed", type=int, default=0, help="seed of the drawn cut classes")
    p.add_argument("--keep-fraction", type=float, default=0.01, help="share of a cut class kept")
    p.add_argument("--classifier-epochs", type=int, help="CNN epochs (10; --quick: 1)")
    p.add_argument(
        "--gan-epochs",
        help=f"cGAN epochs: N, or name=N pairs (default {GAN_EPOCHS}; --quick: 1)",
    )
    p.add_argument("--gan-options", default="{}", help="JSON object passed to the cGAN")
    p.add_argument("--train-images", type=int, help="stratified subsample of the training split")
    p.add_argument("--test-images", type=int, help="stratified subsample of the test images")
    p.add_argument("--quick", action="store_true", help="smoke run: " + json.dumps(QUICK))
    p.add_argument("--resume", action="store_true", help="keep the finished cells in --output")
    p.add_argument("--device", default="auto", help="auto (a GPU when torch sees one), cpu, cuda")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", type=Path, default=_common.DATA_DIR / "images")
    p.add_argument(
        "--output", type=Path, help="default benchmarks/results/rebalancing_images[_quick].json"
    )
    p.add_argument("--grids", type=Path, help="cGAN grid folder (default: <output>_grids)")
    args = p.parse_args(argv)
    return _resolve(args)


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on --quick; check the lists."""
    for key, value in QUICK.items() if args.quick else ():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.classifier_epochs = args.classifier_epochs or 10
    args.gan_epochs = _gan_epochs(args.gan_epochs or GAN_EPOCHS, args.datasets.split(","))
    name = "rebalancing_images_quick.json" if args.quick else "rebalancing_images.json"
    args.output = args.output or _common.REPO_ROOT / "benchmarks/results" / name
    args.grids = args.grids or args.output.with_name(args.output.stem + "_grids")
    unknown = sorted(set(args.methods.split(",")) - set(METHODS))
    if unknown:
        raise SystemExit(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def _gan_epochs(spec: str, datasets: list[str]) -> dict[str, int]:
    """``"20"`` or ``"mnist=15,fashion=40"`` -> epochs per data set."""
    if "=" not in spec:
        return {name: int(spec) for name in datasets}
    pairs = dict(item.split("=") for item in spec.split(","))
    missing = [name for name in datasets if name not in pairs]
    if missing:
        raise SystemExit(f"--gan-epochs {spec!r} names no epochs for {missing}")
    return {name: int(pairs[name]) for name in datasets}


def cut_classes(args) -> list[int]:
    if args.cut_classes:
        return sorted(int(c) for c in args.cut_classes.split(","))
    drawn = np.random.default_rng(args.class_seed).choice(N_CLASSES, args.n_cut, replace=False)
    return sorted(int(c) for c in drawn)


# -- data ----------------------------------------------------------------------------------------
def load_split(dataset: str, args):
    """``(x_train, y_train, x_test, y_test)``: uint8 (N, 28, 28), int64; the same every seed."""
    x_train, y_train, x_test, y_test = image_quality.load_dataset(dataset, args.data, seed=0)
    x_train, y_train = _stratified(x_train, y_train, args.train_images)
    x_test, y_test = _stratified(x_test, y_test, args.test_images)
    return x_train, y_train, x_test, y_test


def _stratified(x, y, n: int | None):
    if n is None or n >= len(x):
        return x, y
    from sklearn.model_selection import train_test_split

    x_kept, _, y_kept, _ = train_test_split(x, y, train_size=n, random_state=0, stratify=y)
    return x_kept, y_kept


def cut(x, y, classes: list[int], fraction: float, seed: int):
    """Keep ``fraction`` (at least one) of the images of each cut class, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    keep = np.ones(len(y), dtype=bool)
    for c in classes:
        index = np.flatnonzero(y == c)
        n_keep = max(1, round(fraction * len(index)))
        keep[index] = False
        keep[rng.choice(index, n_keep, replace=False)] = True
    return x[keep], y[keep]


# -- the rebalancing methods ---------------------------------------------------------------------
def top_up_draws(y, classes: list[int], target: int, seed: int) -> np.ndarray:
    """Indices of images to copy so each of ``classes`` reaches ``target`` (with replacement)."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(y, minlength=N_CLASSES)
    draws = [rng.choice(np.flatnonzero(y == c), target - counts[c]) for c in classes]
    return np.concatenate(draws)


def augment(images: np.ndarray, seed: int) -> np.ndarray:
    """A random shift (crop of the padded image) and small affine map of every image (uint8)."""
    from torchvision.transforms import v2

    side = images.shape[-1]
    transform = v2.Compose([v2.RandomCrop(side, padding=CROP_PADDING), v2.RandomAffine(**AFFINE)])
    batch = torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1)  # (n, 1, H, W) uint8
    with torch_seed_scope(seed):  # torchvision draws from torch's global RNG: fork it
        out = torch.stack([transform(image) for image in batch])  # one draw per image
    return out[:, 0].numpy()


def class_weights(y) -> np.ndarray:
    counts = np.bincount(y, minlength=N_CLASSES)
    return len(y) / (N_CLASSES * np.maximum(counts, 1))  # "balanced": n / (classes * n_c)


def gan_rebalance(x, y, classes, target, seed, dataset, args):
    """The cut set plus cGAN images of ``classes`` up to ``target``, and what the GAN did."""
    from synthgan import ConditionalGANSynthesizer
    from synthgan.augmentation import ImageRebalancer

    options = json.loads(args.gan_options)
    gan = ConditionalGANSynthesizer(
        epochs=args.gan_epochs[dataset], device=args.device, n_threads=args.threads,
        verbose=False, **options,
    )  # fmt: skip
    rebalancer = ImageRebalancer(gan, {c: target for c in classes}, random_state=seed)
    x_res, y_res = rebalancer.fit_resample(x, y)
    timings = rebalancer.synthesizer_.timings_
    info = {
        "gan_epochs": timings["epochs"],
        "gan_options": options,
        "gan_fit_s": timings["total"],
        "gan_train_images_per_s": timings["records_per_second"],
        "grid": _write_grid(
            x_res[len(x) :], y_res[len(x) :], classes, f"{dataset}_seed{seed}", args
        ),
    }
    return x_res, y_res, info


def _write_grid(images, labels, classes, name: str, args) -> str:
    """A PNG of the first generated images of every cut class (one row each): a look at them."""
    from synthgan.evaluation.images import sample_grid_png

    shown = np.concatenate([np.flatnonzero(labels == c)[:GRID_PER_CLASS] for c in classes])
    args.grids.mkdir(parents=True, exist_ok=True)
    path = args.grids / f"{name}.png"
    path.write_bytes(sample_grid_png(images[shown], nrow=GRID_PER_CLASS, labels=labels[shown]))
    return image_quality._display_path(path)


def rebalance(method: str, x, y, classes, seed: int, dataset: str, args):
    """``(images, labels, class weights or None, details)`` for the classifier."""
    target = int(np.bincount(y, minlength=N_CLASSES).max())  # the majority count
    if method == "none":
        return x, y, None, {}
    if method == "class_weights":
        weights = class_weights(y)
        return x, y, weights, {"class_weights": weights.tolist()}
    if method == "cgan":
        x_res, y_res, info = gan_rebalance(x, y, classes, target, seed, dataset, args)
        return x_res, y_res, None, info
    draws = top_up_draws(y, classes, target, seed)
    extra = x[draws] if method == "duplication" else augment(x[draws], seed)
    return np.concatenate([x, extra]), np.concatenate([y, y[draws]]), None, {}


# -- the classifier and its scores ---------------------------------------------------------------
def _as_tensor(images: np.ndarray) -> torch.Tensor:
    return (
        torch.from_numpy(np.ascontiguousarray(images)).unsqueeze(1).float() / 255.0
    )  # (n, 1, H, W)


def fit_cnn(images, labels, weights, epochs: int, seed: int, device: str) -> SmallCNN:
    """The evaluation's SmallCNN trained with Adam and (weighted) cross-entropy; eval mode."""
    x, y = _as_tensor(images), torch.as_tensor(labels, dtype=torch.long)
    weight = None if weights is None else torch.as_tensor(weights, dtype=torch.float32).to(device)
    order = torch.Generator().manual_seed(seed)  # seeded batches; the global RNG is untouched
    with torch_seed_scope(seed, device):
        model = SmallCNN(x.shape[1], N_CLASSES).to(device)
        optimiser = torch.optim.Adam(model.parameters(), lr=_LEARNING_RATE)
        model.train()
        for _ in range(epochs):
            for batch in torch.randperm(len(x), generator=order).split(_BATCH):
                logits = model(x[batch].to(device))  # (b, 10)
                loss = F.cross_entropy(logits, y[batch].to(device), weight=weight)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
    return model.eval()


def scores(y_true, y_pred, classes: list[int]) -> dict:
    labels = list(range(N_CLASSES))
    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    f1 = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(f1.mean()),
        "balanced_accuracy": float(recall.mean()),
        "minority_recall": float(recall[classes].mean()),
        "minority_f1": float(f1[classes].mean()),
        "recall": {str(c): float(r) for c, r in enumerate(recall)},
        "f1": {str(c): float(v) for c, v in enumerate(f1)},
    }


# -- one cell: (data set, method, seed) ----------------------------------------------------------
def run_cell(dataset, method, seed, data, cut_set, classes, args) -> dict:
    x_cut, y_cut = cut_set
    start = time.perf_counter()
    x, y, weights, details = rebalance(method, x_cut, y_cut, classes, seed, dataset, args)
    rebalance_s = time.perf_counter() - start
    model = fit_cnn(x, y, weights, args.classifier_epochs, seed, args.device)
    classifier_s = time.perf_counter() - start - rebalance_s
    x_test, y_test = data[2], data[3]
    predicted = predict(model, _as_tensor(x_test), args.device)
    return {
        "dataset": dataset,
        "method": method,
        "seed": seed,
        "setting": setting(dataset, classes, args),
        "train_counts": np.bincount(y, minlength=N_CLASSES).tolist(),
        "rebalance_s": rebalance_s,
        "classifier_s": classifier_s,
        "wall_s": rebalance_s + classifier_s,
        **details,
        **scores(y_test, predicted, classes),
    }


def setting(dataset: str, classes: list[int], args) -> dict:
    """Everything a cell's result depends on beyond (data set, method, seed): the resume key."""
    return {
        "cut_classes": classes,
        "keep_fraction": args.keep_fraction,
        "train_images": args.train_images,
        "test_images": args.test_images,
        "classifier_epochs": args.classifier_epochs,
        "gan_epochs": args.gan_epochs[dataset],
        "gan_options": json.loads(args.gan_options),
    }


def _error_cell(dataset, method, seed, classes, args) -> dict:
    tail = "\n".join(traceback.format_exc().strip().splitlines()[-15:])
    print(f"   failed:\n{tail}", flush=True)
    return {"dataset": dataset, "method": method, "seed": seed,
            "setting": setting(dataset, classes, args), "error": tail}  # fmt: skip


# -- summary -------------------------------------------------------------------------------------
SUMMARY_KEYS = ("accuracy", "macro_f1", "minority_recall", "minority_f1", "wall_s")


def _mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def summarise(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation over the seeds per (data set, method)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if "error" not in row:
            groups.setdefault((row["dataset"], row["method"]), []).append(row)
    out = []
    for (dataset, method), group in groups.items():
        classes = group[0]["setting"]["cut_classes"]
        summary = {"dataset": dataset, "method": method, "runs": len(group), "cut_classes": classes}
        series = {key: [r[key] for r in group] for key in SUMMARY_KEYS}
        series.update({f"recall_{c}": [r["recall"][str(c)] for r in group] for c in classes})
        for key, values in series.items():
            summary[key], summary[f"{key}_sd"] = _mean_sd(values)
        out.append(summary)
    return out


def gan_gap(rows: list[dict]) -> list[dict]:
    """cGAN minus duplication, points of minority recall, paired by seed, per data set."""
    recall = {(r["dataset"], r["method"], r["seed"]): r["minority_recall"]
              for r in rows if "error" not in r}  # fmt: skip
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        seeds = sorted(s for d, m, s in recall if d == dataset and m == "cgan"
                       and (d, "duplication", s) in recall)  # fmt: skip
        diffs = [
            100 * (recall[dataset, "cgan", s] - recall[dataset, "duplication", s]) for s in seeds
        ]
        mean, sd = _mean_sd(diffs)
        out.append({"dataset": dataset, "seeds": seeds, "points": diffs, "mean_points": mean,
                    "sd_points": sd, "target_points": TARGET_POINTS,
                    "target_met": None if mean is None else mean >= TARGET_POINTS})  # fmt: skip
    return out


def _pm(summary: dict, key: str, spec: str = ".3f") -> str | None:
    """``mean ± sd`` (just the mean for one seed)."""
    mean, sd = summary.get(key), summary.get(f"{key}_sd")
    if mean is None:
        return None
    return format(mean, spec) + ("" if sd is None else " ± " + format(sd, spec))


def _dataset_table(group: list[dict]) -> str:
    classes = group[0]["cut_classes"]
    columns = [
        ("method", "method", "s"), ("runs", "runs", "d"), ("accuracy", "accuracy", "s"),
        ("macro_f1", "macro-F1", "s"), ("minority_recall", "minority recall", "s"),
        *[(f"recall_{c}", f"recall {c}", "s") for c in classes], ("wall_s", "wall s", "s"),
    ]  # fmt: skip
    rows = []
    for s in group:
        row = {key: _pm(s, key) for key, _, _ in columns[2:-1]}
        rows.append(
            {**row, "method": s["method"], "runs": s["runs"], "wall_s": _pm(s, "wall_s", ".0f")}
        )
    return _common.format_table(rows, columns)


def _gap_line(gap: dict) -> str:
    head = f"{gap['dataset']}: cGAN - duplication, minority recall"
    if gap["mean_points"] is None:
        return f"{head}: no seed with both methods yet"
    sd = "" if gap["sd_points"] is None else f" ± {gap['sd_points']:.1f}"
    verdict = "met" if gap["target_met"] else "NOT met"
    return (
        f"{head}: {gap['mean_points']:+.1f}{sd} points over seeds {gap['seeds']} "
        f"(target >= {TARGET_POINTS:g}: {verdict})"
    )


def report(summary: list[dict], gaps: list[dict]) -> str:
    lines = []
    for dataset in dict.fromkeys(s["dataset"] for s in summary):
        group = [s for s in summary if s["dataset"] == dataset]
        classes = ", ".join(str(c) for c in group[0]["cut_classes"])
        lines += [f"== {dataset} (cut classes {classes})", _dataset_table(group), ""]
    return "\n".join(lines + [_gap_line(gap) for gap in gaps])


# -- driver --------------------------------------------------------------------------------------
def finished_cells(args, settings: dict[str, dict]) -> list[dict]:
    """Cells kept from ``--output`` with ``--resume`` (failed cells are run again)."""
    if not (args.resume and args.output.exists()):
        return []
    old = json.loads(args.output.read_text()).get("runs", [])
    other = sorted(
        {r["dataset"] for r in old if r["setting"] != settings.get(r["dataset"], r["setting"])}
    )
    if other:
        raise SystemExit(f"--resume: {args.output} holds {other} cells run with other settings; "
                         "rerun those settings or choose another --output")  # fmt: skip
    return [r for r in old if "error" not in r]


def payload(args, rows: list[dict], start: float) -> dict:
    return {
        "benchmark": "rebalancing_images",
        "machine": _common.machine_info(),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "runs": rows,
        "benchmark_wall_s": time.perf_counter() - start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_dataset(dataset, classes, args, rows, done, start) -> None:
    data = None
    for seed in [int(s) for s in args.seeds.split(",")]:
        todo = [m for m in args.methods.split(",") if (dataset, m, seed) not in done]
        if not todo:
            continue
        if data is None:  # loaded once, and only when a cell is left to run
            data = load_split(dataset, args)
        cut_set = cut(data[0], data[1], classes, args.keep_fraction, seed)
        counts = np.bincount(cut_set[1], minlength=N_CLASSES).tolist()
        print(f"== {dataset} seed {seed}: {len(cut_set[1])} training images after the cut "
              f"{counts}, {len(data[3])} test images", flush=True)  # fmt: skip
        for method in todo:
            print(f"-- {dataset} / {method} / seed {seed}", flush=True)
            try:
                row = run_cell(dataset, method, seed, data, cut_set, classes, args)
                print(f"   accuracy {row['accuracy']:.4f}  macro-F1 {row['macro_f1']:.4f}  "
                      f"minority recall {row['minority_recall']:.4f}  wall {row['wall_s']:.0f} s",
                      flush=True)  # fmt: skip
            except Exception:
                row = _error_cell(dataset, method, seed, classes, args)
            rows.append(row)
            _common.write_json(args.output, payload(args, rows, start))  # a kill keeps these


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    classes = cut_classes(args)
    how = "--cut-classes" if args.cut_classes else f"drawn with --class-seed {args.class_seed}"
    print(f"cut classes: {classes} ({how}), kept: {args.keep_fraction:.1%} of each", flush=True)
    datasets = args.datasets.split(",")
    rows = finished_cells(args, {d: setting(d, classes, args) for d in datasets})
    done = {(r["dataset"], r["method"], r["seed"]) for r in rows}
    if done:
        print(f"--resume: {len(done)} finished cell(s) kept from {args.output}", flush=True)
    for dataset in datasets:
        run_dataset(dataset, classes, args, rows, done, start)
    summary, gaps = summarise(rows), gan_gap(rows)
    print()
    print(report(summary, gaps))
    out = {**payload(args, rows, start), "summary": summary, "cgan_minus_duplication": gaps}
    _common.write_json(args.output, out)
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
