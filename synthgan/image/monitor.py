"""Mode-collapse monitoring: how varied are the generated images, relative to the real ones?

A collapsed generator maps many latent vectors to (nearly) the same image. The figure tracked
is the mean pairwise distance between generated images divided by the same figure for real
images: about 1 for a healthy generator, towards 0 when it collapses. For a conditional model
it is computed per class (generated images of class ``c`` against real images of class ``c``)
and ``class_coverage`` is the share of classes whose ratio is at least ``coverage_ratio``.
Pixel distances are crude but cheap (a few hundred images per epoch) and enough to catch a
collapse, which is what the warning is for; the evaluation reports the proper metrics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["DiversityMonitor", "mean_pairwise_distance"]


def mean_pairwise_distance(images: Tensor) -> float:
    """Mean Euclidean distance over all pairs of distinct images ``(n, C, H, W)``, n >= 2."""
    flat = images.flatten(1).float()
    n = flat.shape[0]
    distances = torch.cdist(flat, flat)  # (n, n), zero diagonal
    return float(distances.sum() / (n * (n - 1)))


@dataclass
class DiversityMonitor:
    """Diversity of generated images relative to real ones, per class when conditional.

    Parameters
    ----------
    reference : dict
        ``{class code (or -1 when unconditional): mean pairwise distance of real images}``.
    per_class : int
        Images generated per class (or in total when unconditional) at each check.
    collapse_ratio : float
        A diversity ratio below this triggers a :class:`UserWarning` (once per fit).
    coverage_ratio : float
        Classes with a ratio at least this count as covered.
    warmup : int
        Checks before the warning is armed: a generator starts out nearly constant, and
        diversity grows over the first epochs.
    """

    reference: dict[int, float]
    per_class: int = 64
    collapse_ratio: float = 0.3
    coverage_ratio: float = 0.6
    warmup: int = 3
    warned: bool = False
    checks: int = 0

    @classmethod
    def from_real(
        cls, images: Tensor, labels: Tensor | None, per_class: int = 64, **options
    ) -> DiversityMonitor:
        """Reference distances from ``images`` in [-1, 1] (a fixed subsample of the data)."""
        if labels is None:
            return cls({-1: mean_pairwise_distance(images[:per_class])}, per_class, **options)
        reference = {}
        for code in labels.unique().tolist():
            chosen = images[labels == code][:per_class]
            if chosen.shape[0] >= 2:
                reference[int(code)] = mean_pairwise_distance(chosen)
        return cls(reference, per_class, **options)

    def figures(self, generate) -> dict[str, float]:
        """Check ``generate(n, code)`` (images for class ``code``, or unconditional when -1)."""
        ratios = {
            code: mean_pairwise_distance(generate(self.per_class, code)) / max(ref, 1e-8)
            for code, ref in self.reference.items()
        }
        values = list(ratios.values())
        figures = {"diversity": sum(values) / len(values)}
        if -1 not in ratios:
            covered = sum(ratio >= self.coverage_ratio for ratio in values)
            figures["class_coverage"] = covered / len(values)
        self._maybe_warn(ratios)
        return figures

    def _maybe_warn(self, ratios: dict[int, float]) -> None:
        self.checks += 1
        collapsed = sorted(code for code, ratio in ratios.items() if ratio < self.collapse_ratio)
        if not collapsed or self.warned or self.checks <= self.warmup:
            return
        self.warned = True
        which = "the generated images" if collapsed == [-1] else f"classes (codes) {collapsed}"
        warnings.warn(
            f"Possible mode collapse after {self.checks} epochs: {which} vary less than "
            f"{self.collapse_ratio:.0%} as much as the real ones. Consider spectral_norm=True, "
            "diff_augment, a lower learning rate, or more data.",
            UserWarning,
            stacklevel=2,
        )
