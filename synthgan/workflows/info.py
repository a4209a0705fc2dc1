"""``synthgan info``: describe a model file; and what to tell the user after a fit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthgan.base import BaseSynthesizer, load
from synthgan.io.atomic import StrPath
from synthgan.tabular import CTGANSynthesizer

__all__ = ["fit_summary", "format_model_info", "model_info"]


def fit_summary(model_path: StrPath) -> dict[str, str | None]:
    """What to tell the user after a fit: ``kinds`` (a one-line summary of the column kinds
    used, None for an image model) and ``privacy_report`` (None without differential privacy).
    """
    model = load(model_path)
    kinds = getattr(model, "column_kinds_", None)
    report = model.privacy_report() if getattr(model, "privacy_spent_", None) else None
    return {"kinds": None if kinds is None else _format_kinds(kinds), "privacy_report": report}


def _format_kinds(kinds: Mapping[str, Any]) -> str:
    from synthgan.tabular.metadata import format_kinds

    return format_kinds(kinds)


def model_info(model_path: StrPath) -> dict[str, Any]:
    """Describe a model file: kind, data, training settings, timings, privacy.

    Parameters
    ----------
    model_path : str or PathLike
        A file written by a synthesizer's ``save``.

    Returns
    -------
    dict
        JSON-able: ``file``, ``kind``, ``synthesizer`` (class name), ``synthgan_version`` (of
        the writer), ``hyperparameters`` (every ``__init__`` argument, as stored), ``columns``
        (tables: ``[{"name", "kind"}]``, the kind used in the fit) or ``images`` (size,
        channels, classes and their counts) and ``auto_hyperparameters`` (image models: the
        values the fit used for those left at None), ``training`` (``epochs_planned``,
        ``epochs_run``, ``stopped_early``, the last epoch's losses and ``timings``: the model's
        ``timings_``, in seconds but for counts and rates such as ``images_per_second``) and
        ``privacy`` (ε, δ, their breakdown and the plain-language ``report``; None without
        differential privacy).
    """
    from synthgan.io.serialization import read_model

    written = read_model(model_path)
    model = load(model_path)
    info: dict[str, Any] = {
        "file": str(model_path),
        "kind": written.kind,
        "synthesizer": type(model).__name__,
        "synthgan_version": written.library_version,
        "hyperparameters": written.params,
    }
    if hasattr(model, "auto_params"):  # image models: what their None ("auto") values were
        info["auto_hyperparameters"] = {
            k: v for k, v in model.auto_params().items() if written.params.get(k) is None
        }
    info.update(_data_info(model))
    info["training"] = _training_info(model)
    info["privacy"] = _privacy_info(model)
    return info


def _data_info(model: BaseSynthesizer) -> dict[str, Any]:
    if isinstance(model, CTGANSynthesizer):
        # Every column with the kind the fit used (id and text columns have no encoder).
        kinds = getattr(model, "column_kinds_", None) or {
            e.name: e.kind for e in model.transformer_.encoders_
        }
        return {"columns": [{"name": n, "kind": _kind_name(k)} for n, k in kinds.items()]}
    config = model.network_config_.to_json()
    images = {key: config[key] for key in ("side", "channels") if key in config}
    if hasattr(model, "classes_"):
        images["classes"] = dict(zip(map(str, model.classes_), model.class_counts_, strict=True))
    return {"images": images}


def _kind_name(kind: Any) -> str:
    # A column kind is a name, or a mapping with the name under "kind" (and the reasons).
    return str(kind.get("kind")) if isinstance(kind, Mapping) else str(kind)


def _training_info(model: BaseSynthesizer) -> dict[str, Any]:
    history = model.loss_history_
    planned, run = int(model.epochs), len(history)
    last = history.iloc[-1].to_dict() if run else {}
    losses = {k: float(v) for k, v in last.items() if k.endswith("loss")}
    return {
        "epochs_planned": planned,
        "epochs_run": run,
        "stopped_early": run < planned,
        "last_epoch_losses": losses,
        "timings": {k: round(float(v), 3) for k, v in dict(model.timings_).items()},
    }


def _privacy_info(model: BaseSynthesizer) -> dict[str, Any] | None:
    spent = getattr(model, "privacy_spent_", None)
    if spent is None:
        return None
    return {**spent.to_dict(), "report": spent.report()}


def _timing(name: str, value: float) -> str:
    if name == "epochs":  # a count among the timings of image models
        return f"{name} {value:g}"
    return f"{name} {value:.1f}" + ("" if "per_second" in name else " s")


def format_model_info(info: Mapping[str, Any]) -> str:
    """The text ``synthgan info`` prints, from the dict of :func:`model_info`."""
    training = info["training"]
    stopped = " (stopped early)" if training["stopped_early"] else ""
    lines = [
        f"{info['file']}: {info['synthesizer']} model (kind {info['kind']!r}, written by "
        f"synthgan {info['synthgan_version']})",
        f"  epochs          {training['epochs_run']} of {training['epochs_planned']}{stopped}",
        "  timings         " + ", ".join(_timing(k, v) for k, v in training["timings"].items()),
    ]
    if "columns" in info:
        lines.append(f"  columns         {len(info['columns'])}")
        lines += [f"    {c['name']:<20} {c['kind']}" for c in info["columns"]]
    else:
        lines += [f"  {k:<15} {v}" for k, v in info["images"].items()]
    lines.append("  hyperparameters")
    auto = info.get("auto_hyperparameters", {})
    lines += [
        f"    {k:<20} {v!r}" + (f" (auto: {auto[k]!r})" if k in auto else "")
        for k, v in info["hyperparameters"].items()
    ]
    privacy = info["privacy"]
    lines.append("  privacy         " + ("none (fitted without differential privacy)"
                                       if privacy is None else privacy["report"]))  # fmt: skip
    return "\n".join(lines)
