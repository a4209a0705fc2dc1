import warnings

import pytest
import torch

from synthgan.image.augment import diff_augment, parse_policy
from synthgan.image.monitor import DiversityMonitor, mean_pairwise_distance


def test_parse_policy():
    assert parse_policy(None) == ()
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    with pytest.raises(ValueError, match="flip"):
        parse_policy("color,flip")


def test_translation_shifts_whole_images_and_fills_zeros():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 7, 7] = 1.0  # one bright pixel per image
    out = diff_augment(x, ("translation",))
    assert out.shape == x.shape
    assert torch.all(out.sum(dim=(1, 2, 3)) == 1.0)  # the pixel moved, within reach 2
    rows = out[:, 0].amax(dim=2).argmax(dim=1)
    cols = out[:, 0].amax(dim=1).argmax(dim=1)
    assert rows.min() >= 5 and rows.max() <= 9 and cols.min() >= 5 and cols.max() <= 9
    assert len(set(rows.tolist())) > 1  # images are shifted independently


def test_cutout_zeroes_a_quarter_of_the_pixels_at_most():
    torch.manual_seed(0)
    out = diff_augment(torch.ones(32, 3, 16, 16), ("cutout",))
    zeroed = (out == 0).float().mean(dim=(1, 2, 3))
    assert zeroed.max() <= 0.25 + 1e-6 and zeroed.mean() > 0.1


def test_color_is_differentiable_and_per_image():
    x = torch.rand(8, 3, 8, 8, requires_grad=True)
    out = diff_augment(x, ("color",))
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert not torch.allclose(out - x, (out - x)[:1].expand_as(out))


def test_mean_pairwise_distance():
    images = torch.tensor([[0.0, 0.0], [3.0, 4.0]]).reshape(2, 1, 1, 2)
    assert mean_pairwise_distance(images) == pytest.approx(5.0)


def test_monitor_flags_a_collapsed_class_and_warns_once():
    torch.manual_seed(0)
    real = torch.rand(40, 1, 4, 4)
    labels = torch.arange(40) % 2
    monitor = DiversityMonitor.from_real(real, labels, per_class=16, warmup=0)

    def generate(n, code):  # class 1 collapsed to a single image
        return torch.rand(n, 1, 4, 4) if code == 0 else torch.full((n, 1, 4, 4), 0.5)

    with pytest.warns(UserWarning, match="mode collapse"):
        figures = monitor.figures(generate)
    assert figures["class_coverage"] == 0.5
    assert 0.4 < figures["diversity"] < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monitor.figures(generate)  # no second warning


def test_monitor_unconditional_healthy_generator():
    real = torch.rand(64, 1, 4, 4)
    monitor = DiversityMonitor.from_real(real, None, per_class=64)
    figures = monitor.figures(lambda n, code: torch.rand(n, 1, 4, 4))
    assert set(figures) == {"diversity"}
    assert figures["diversity"] == pytest.approx(1.0, abs=0.15)
