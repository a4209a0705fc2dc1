"""The image GAN steps: the mode-seeking term of the generator loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthgan.core.losses import create_loss
from synthgan.core.session import TrainingContext
from synthgan.image.networks import ImageDiscriminator, ImageGenerator, ImageNetworkConfig
from synthgan.image.steps import ImageGANSteps, ImageStepOptions


def _steps(mode_seeking: float) -> ImageGANSteps:
    config = ImageNetworkConfig(
        channels=1, side=8, latent_dim=4, n_classes=3, generator_width=4,
        discriminator_width=4, discriminator_norm="group", embedding_dim=3,
    )  # fmt: skip
    torch.manual_seed(0)
    generator, discriminator = ImageGenerator(config).train(), ImageDiscriminator(config)
    images = torch.randint(0, 256, (32, 1, 8, 8), dtype=torch.uint8)
    labels = torch.arange(32) % 3
    context = TrainingContext.of(
        {"generator": generator, "discriminator": discriminator},
        {"generator": torch.optim.SGD(generator.parameters(), lr=0.05),
         "discriminator": torch.optim.SGD(discriminator.parameters(), lr=0.05)},
        rng=np.random.default_rng(0),
    )  # fmt: skip
    return ImageGANSteps(
        context,
        (images, labels),
        create_loss("non_saturating"),
        ImageStepOptions(batch_size=16, latent_dim=4, mode_seeking=mode_seeking),
    )


def test_ratio_is_pixel_distance_over_latent_distance():
    steps = _steps(1.0)
    noise = torch.randn(8, 4)
    labels = torch.arange(8) % 3
    fake = steps.generator(noise, labels)
    draws = steps.context.batch_generator()  # the fit's stream of noise draws
    state = draws.get_state()
    ratio = steps._mode_seeking_ratio(fake, labels, noise).detach()
    draws.set_state(state)
    other_noise = torch.randn(4, 4, generator=draws)  # the fresh draw made for the first half
    other = steps.generator(other_noise, labels[:4])
    want = (fake[:4] - other).abs().flatten(1).mean(1) / (noise[:4] - other_noise).abs().mean(1)
    torch.testing.assert_close(ratio, want.mean())
    assert ratio > 0


def test_collapsed_generator_gets_a_large_penalty():
    """A generator that ignores its noise (every draw of a class -> one image) has ratio 0."""
    steps = _steps(1.0)
    with torch.no_grad():  # the noise's weights in the first layer: zero -> noise ignored
        steps.generator.stem[0].weight[:4].zero_()
    steps.generator.eval()  # BatchNorm with running statistics: each image on its own
    noise, labels = torch.randn(8, 4), torch.arange(8) % 3
    with torch.no_grad():
        ratio = steps._mode_seeking_ratio(steps.generator(noise, labels), labels, noise)
    assert float(ratio) < 1e-6


def test_generator_step_adds_the_term_and_it_reaches_the_update():
    plain, seeking = _steps(0.0), _steps(0.5)
    seeking.generator.load_state_dict(plain.generator.state_dict())
    seeking.discriminator.load_state_dict(plain.discriminator.state_dict())
    for steps in (plain, seeking):
        torch.manual_seed(1)
        steps.discriminator_step()
        figures = steps.generator_step()
    assert "mode_seeking_ratio" in figures and figures["mode_seeking_ratio"] > 0
    after = seeking.generator.state_dict()
    moved = [
        (after[k] - v).abs().max()
        for k, v in plain.generator.state_dict().items()
        if v.is_floating_point()
    ]
    assert max(moved) > 0  # the term changed the generator's update


def test_descending_the_term_spreads_the_images():
    """Gradient steps on ``1 / ratio`` alone make the generator use its noise more."""
    steps = _steps(1.0)
    opt = torch.optim.SGD(steps.generator.parameters(), lr=0.05)
    noise, labels = torch.randn(16, 4), torch.arange(16) % 3

    def ratio() -> torch.Tensor:
        torch.manual_seed(3)
        return steps._mode_seeking_ratio(steps.generator(noise, labels), labels, noise)

    with torch.no_grad():
        before = float(ratio())
    for _ in range(20):
        opt.zero_grad()
        (1.0 / (ratio() + 1e-5)).backward()
        opt.step()
    with torch.no_grad():
        assert float(ratio()) > 1.5 * before


@pytest.mark.parametrize("bad", [-0.1, "1"])
def test_bad_weight_is_refused(bad):
    from synthgan import ConditionalGANSynthesizer

    images = np.zeros((20, 8, 8), dtype=np.uint8)
    with pytest.raises(ValueError, match="mode_seeking"):
        ConditionalGANSynthesizer(epochs=1, mode_seeking=bad, verbose=False).fit(
            images, np.arange(20) % 2
        )
