import pytest
import torch
import torch.nn.functional as F

from synthgan.tabular.spans import ColumnSpan, SpanTable, gumbel_noise


def make_table() -> SpanTable:
    # continuous (value + 3 modes), discrete (4), continuous (value + 3 modes), discrete (2)
    spans = [
        ColumnSpan("a", 0, 1, "tanh", "value"),
        ColumnSpan("a", 1, 4, "softmax", "mode"),
        ColumnSpan("b", 4, 8, "softmax", "category"),
        ColumnSpan("c", 8, 9, "tanh", "value"),
        ColumnSpan("c", 9, 12, "softmax", "mode"),
        ColumnSpan("d", 12, 14, "softmax", "category"),
    ]
    return SpanTable(spans)


def test_layout():
    table = make_table()
    assert table.width == 14
    assert table.tanh_index.tolist() == [0, 8]
    assert table.condition_width == 6
    assert [s.column for s in table.category_spans] == ["b", "d"]


def test_rejects_gaps():
    with pytest.raises(ValueError, match="consecutive"):
        SpanTable(
            [ColumnSpan("a", 0, 1, "tanh", "value"), ColumnSpan("b", 2, 3, "softmax", "mode")]
        )


def test_activate_matches_per_span_reference():
    table = make_table()
    logits = torch.randn(7, 14)
    torch.manual_seed(0)
    out = table.activate(logits, tau=0.5)
    torch.manual_seed(0)
    noise = gumbel_noise(logits.shape)
    expected = torch.empty_like(logits)
    for span in table.spans:
        block = logits[:, span.start : span.end]
        if span.activation == "tanh":
            expected[:, span.start : span.end] = torch.tanh(block)
        else:
            expected[:, span.start : span.end] = F.softmax(
                (block + noise[:, span.start : span.end]) / 0.5, dim=1
            )
    assert torch.allclose(out, expected, atol=1e-6)


def test_conditional_loss_matches_per_row_cross_entropy():
    table = make_table()
    logits = torch.randn(6, 14, requires_grad=True)
    slots = torch.tensor([0, 3, 4, 5, 1, 2])  # conditional-vector slots: 0-3 -> b, 4-5 -> d
    loss = table.conditional_loss(logits, slots)
    reference = []
    for row, slot in enumerate(slots.tolist()):
        span, target = (
            (table.category_spans[0], slot) if slot < 4 else (table.category_spans[1], slot - 4)
        )
        block = logits[row : row + 1, span.start : span.end]
        reference.append(F.cross_entropy(block, torch.tensor([target])))
    assert torch.allclose(loss, torch.stack(reference).mean())
    loss.backward()
    assert logits.grad[:, [0, 8]].abs().sum() == 0  # only conditioned spans get gradient


def test_sample_codes_follow_softmax_probabilities():
    table = make_table()
    logits = torch.zeros(20000, 14)
    logits[:, 4:8] = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    torch.manual_seed(1)
    codes = table.sample_codes(logits)
    assert codes.shape == (20000, 4)
    freq = torch.bincount(codes[:, 1], minlength=4).float() / 20000
    assert torch.allclose(freq, torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.015)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_sample_codes_draw_rare_categories_at_their_rate_in_every_dtype(dtype):
    # A category of probability 0.2%: bfloat16 uniforms (8-bit mantissa) could never draw it.
    table = make_table()
    probs = torch.tensor([0.002, 0.198, 0.3, 0.5])
    logits = torch.zeros(200_000, 14, dtype=dtype)
    logits[:, 4:8] = torch.log(probs).to(dtype)
    torch.manual_seed(2)
    codes = table.sample_codes(logits)
    freq = torch.bincount(codes[:, 1], minlength=4).double() / len(codes)
    assert abs(freq[0].item() - 0.002) < 0.0006
    assert torch.allclose(freq[1:], probs[1:].double(), atol=0.01)


def test_argmax_codes():
    table = make_table()
    encoded = torch.zeros(1, 14)
    encoded[0, [2, 7, 9, 12]] = 1.0
    assert table.argmax_codes(encoded).tolist() == [[1, 3, 0, 0]]
