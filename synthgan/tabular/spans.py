"""The span table: where every column's block lives in the encoded matrix, computed once.

A table is encoded as consecutive *spans* of columns. A continuous column gives a ``tanh`` span of
width 1 (the normalised value within its mode) followed by a ``softmax`` span (the mode one-hot);
a discrete column gives one ``softmax`` span (the category one-hot). Everything that needs an
offset — activation, the conditional loss, decoding, the sampler — reads it from
:class:`SpanTable`, never recomputes it.

Softmax spans are processed in groups of equal width: ``logits[:, index]`` with ``index`` of
shape ``(spans, width)`` gives a ``(batch, spans, width)`` view on which one softmax runs, so the
cost is one kernel per distinct width rather than one per column, and no padding is allocated
(memory stays linear in the number of categories).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["ColumnSpan", "SpanTable", "gumbel_noise"]

Activation = Literal["tanh", "softmax"]
Role = Literal["value", "mode", "category"]


@dataclass(frozen=True)
class ColumnSpan:
    """One block of the encoded matrix.

    Attributes
    ----------
    column : str
        The source column.
    start, end : int
        Half-open range of encoded columns.
    activation : {"tanh", "softmax"}
        Output activation of the generator on this block.
    role : {"value", "mode", "category"}
        ``value``: a continuous column's normalised scalar; ``mode``: its mixture-component
        one-hot; ``category``: a discrete column's one-hot (these are conditioned on).
    """

    column: str
    start: int
    end: int
    activation: Activation
    role: Role

    @property
    def width(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class _Group:
    """Softmax spans of one width: ``index`` is ``(n_spans, width)`` into the encoded columns."""

    width: int
    span_ids: tuple[int, ...]  # positions in SpanTable.softmax_spans
    index: Tensor


def gumbel_noise(
    shape: Sequence[int], *, dtype=torch.float32, device=None, uniform: Tensor | None = None
) -> Tensor:
    """Standard Gumbel noise ``-log(-log U)``, ``U`` drawn from torch's (seeded) global
    generator, or the given ``uniform`` draws (of ``shape``; a distributed fit's shared ones)."""
    uniform = torch.rand(shape, dtype=dtype, device=device) if uniform is None else uniform.clone()
    info = torch.finfo(dtype)
    uniform = uniform.clamp_(info.tiny, 1.0 - info.eps)  # both logarithms stay finite
    return torch.log(uniform).neg_().log_().neg_()


class SpanTable:
    """Vectorised operations over the spans of an encoded table.

    Parameters
    ----------
    spans : sequence of ColumnSpan
        Consecutive, non-overlapping spans starting at 0.
    """

    def __init__(self, spans: Sequence[ColumnSpan]) -> None:
        self.spans: tuple[ColumnSpan, ...] = tuple(spans)
        position = 0
        for span in self.spans:
            if span.start != position or span.width < 1:
                raise ValueError(f"Spans must be consecutive and non-empty; bad span {span}.")
            position = span.end
        self.width = position
        self.tanh_index = torch.tensor(
            [s.start for s in self.spans if s.activation == "tanh"], dtype=torch.long
        )
        self.softmax_spans = tuple(s for s in self.spans if s.activation == "softmax")
        self.category_spans = tuple(s for s in self.softmax_spans if s.role == "category")
        self._groups = _group_by_width(self.softmax_spans)
        self._category_groups = _group_by_width(self.category_spans)
        # Order in which activate() concatenates its pieces, and the permutation back.
        order = [self.tanh_index] + [g.index.reshape(-1) for g in self._groups]
        # Grouped layout: tanh columns, then each width group's spans back to back.
        self.grouped_order = torch.cat(order)
        self._inverse_order = torch.argsort(self.grouped_order)
        # Conditional vector layout: the category spans' columns, in span order.
        self.condition_width = sum(s.width for s in self.category_spans)
        cond_columns = torch.cat(
            [torch.arange(s.start, s.end) for s in self.category_spans]
            or [torch.empty(0, dtype=torch.long)]
        )
        # Position of each condition slot inside the concatenated category-group log-softmax.
        grouped = torch.cat(
            [g.index.reshape(-1) for g in self._category_groups]
            or [torch.empty(0, dtype=torch.long)]
        )
        lookup = torch.full((self.width,), -1, dtype=torch.long)
        lookup[grouped] = torch.arange(grouped.numel())
        self._condition_to_grouped = lookup[cond_columns]

    # ------------------------------------------------------------------------------------------
    def activate(self, logits: Tensor, tau: float = 0.2, uniform: Tensor | None = None) -> Tensor:
        """Generator output activation: tanh on value spans, Gumbel-softmax on the others.

        ``logits`` is ``(batch, width)``; the result has the same shape and layout. ``uniform``
        (same shape), when given, are the uniform draws behind the Gumbel noise.
        """
        pieces = [torch.tanh(logits[:, self.tanh_index])]  # (batch, n_tanh)
        # One draw of noise for the whole row; each group reads its own columns of it.
        perturbed = (
            logits
            + gumbel_noise(logits.shape, dtype=logits.dtype, device=logits.device, uniform=uniform)
        ) / tau
        for group in self._groups:
            block = perturbed[:, group.index]  # (batch, n_spans, width)
            pieces.append(F.softmax(block, dim=-1).flatten(1))
        return torch.cat(pieces, dim=1)[:, self._inverse_order.to(logits.device)]

    def conditional_loss(self, logits: Tensor, condition_slot: Tensor) -> Tensor:
        """Mean cross-entropy of the conditioned category under the raw generator ``logits``.

        ``condition_slot`` is ``(batch,)``: for every row, the index of its active entry in the
        conditional vector. Only the conditioned span of each row contributes (Xu et al. 2019,
        eq. for L_cond), computed for all rows with one log-softmax per distinct span width.
        """
        pieces = [
            F.log_softmax(logits[:, g.index], dim=-1).flatten(1) for g in self._category_groups
        ]
        log_probs = torch.cat(pieces, dim=1)  # (batch, condition_width) in grouped order
        target = self._condition_to_grouped.to(logits.device)[condition_slot]  # (batch,)
        return -log_probs.gather(1, target[:, None]).mean()

    def sample_codes(self, logits: Tensor) -> Tensor:
        """Draw a category index for every softmax span: ``(batch, n_softmax_spans)``."""
        return self.decode_grouped(logits[:, self.grouped_order.to(logits.device)])[1]

    def decode_grouped(self, grouped: Tensor) -> tuple[Tensor, Tensor]:
        """Tanh values ``(batch, n_tanh)`` and drawn codes ``(batch, n_softmax_spans)`` from
        logits laid out in ``grouped_order`` (each width group is then one contiguous block).

        Decoding the Gumbel-softmax output with argmax, as the reference does, draws every code
        from ``softmax(logits)``. This draws it directly by inverse CDF: one uniform per span
        instead of one Gumbel variate (two logarithms) per logit, about twice as fast. The draw
        is always made in float32, whatever the logits' dtype: bfloat16's 8-bit mantissa would
        make categories of probability below about 0.4% impossible to draw.
        """
        n_tanh = self.tanh_index.numel()
        values = torch.tanh(grouped[:, :n_tanh])
        soft = grouped[:, n_tanh:].float()
        batch = grouped.shape[0]
        codes = torch.empty((batch, len(self.softmax_spans)), dtype=torch.long, device=soft.device)
        uniform = torch.rand((batch, len(self.softmax_spans)), device=soft.device)
        start = 0
        for group in self._groups:
            n_spans = len(group.span_ids)
            block = soft[:, start : start + n_spans * group.width].unflatten(
                1, (n_spans, group.width)
            )
            cdf = (block - block.amax(-1, keepdim=True)).exp_().cumsum_(-1)  # unnormalised
            ids = list(group.span_ids)
            threshold = uniform[:, ids].unsqueeze(-1) * cdf[..., -1:]  # (batch, n_spans, 1)
            # code k is drawn when cdf[k-1] <= threshold < cdf[k]: count the cdf below it.
            codes[:, ids] = (cdf <= threshold).sum(-1).clamp_(max=group.width - 1)
            start += n_spans * group.width
        return values, codes

    def argmax_codes(self, encoded: Tensor) -> Tensor:
        """The index of the largest entry of every softmax span: ``(batch, n_softmax_spans)``."""
        codes = torch.empty(
            (encoded.shape[0], len(self.softmax_spans)), dtype=torch.long, device=encoded.device
        )
        for group in self._groups:
            codes[:, list(group.span_ids)] = encoded[:, group.index].argmax(dim=-1)
        return codes


def _group_by_width(spans: Sequence[ColumnSpan]) -> tuple[_Group, ...]:
    by_width: dict[int, list[int]] = {}
    for position, span in enumerate(spans):
        by_width.setdefault(span.width, []).append(position)
    groups = []
    for width, ids in sorted(by_width.items()):
        index = torch.stack([torch.arange(spans[i].start, spans[i].end) for i in ids])
        groups.append(_Group(width=width, span_ids=tuple(ids), index=index))
    return tuple(groups)
