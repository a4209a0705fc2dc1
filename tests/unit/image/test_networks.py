import pytest
import torch

from synthgan.core.layers import available_norms2d, create_norm2d
from synthgan.image.networks import (
    ImageDiscriminator,
    ImageGenerator,
    ImageNetworkConfig,
    image_levels,
)

SIDES = [8, 14, 16, 28, 32, 56, 64, 112, 128]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_at_every_size(side, channels):
    config = ImageNetworkConfig(
        channels=channels, side=side, latent_dim=8, generator_width=4, discriminator_width=4
    )
    generator, discriminator = ImageGenerator(config), ImageDiscriminator(config)
    images = generator(torch.randn(3, 8))
    assert images.shape == (3, channels, side, side)
    assert images.abs().max() <= 1.0  # tanh output
    assert discriminator(images).shape == (3,)


def test_levels_and_unsupported_sides():
    assert image_levels(28) == (7, 2)
    assert image_levels(64) == (4, 4)
    assert image_levels(8) == (4, 1)
    for side in (4, 7, 10, 24, 48, 100):
        with pytest.raises(ValueError, match="not supported"):
            image_levels(side)


def test_widths_double_as_the_side_halves_and_are_capped():
    config = ImageNetworkConfig(channels=3, side=128, generator_width=64)
    assert config.widths(64) == [512, 512, 256, 128, 64]  # sides 4, 8, 16, 32, 64


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
@pytest.mark.parametrize("norm", ["batch", "group", "instance", "layer", "none"])
def test_conditional_networks_use_the_label(conditioning, norm):
    config = ImageNetworkConfig(
        channels=1, side=16, latent_dim=8, n_classes=5, generator_width=4,
        discriminator_width=8, discriminator_norm=norm, conditioning=conditioning,
        spectral_norm=norm == "none",
    )  # fmt: skip
    torch.manual_seed(0)
    generator, discriminator = ImageGenerator(config).eval(), ImageDiscriminator(config).eval()
    noise = torch.randn(4, 8).repeat(2, 1)
    labels = torch.tensor([0, 1, 2, 3, 4, 4, 4, 4])
    images = generator(noise, labels)
    assert images.shape == (8, 1, 16, 16)
    assert not torch.allclose(images[0], images[4])  # same noise, other label
    with torch.no_grad():
        for p in discriminator.parameters():  # make the label's effect visible at init
            p.add_(torch.randn_like(p) * 0.1)
    scores = discriminator(images[:1].repeat(5, 1, 1, 1), torch.arange(5))
    assert scores.shape == (5,)
    assert scores.std() > 0  # same image, other labels


def test_spectral_norm_bounds_the_discriminator_layers():
    config = ImageNetworkConfig(channels=1, side=16, spectral_norm=True, discriminator_norm="none")
    discriminator = ImageDiscriminator(config)
    for _ in range(30):  # power iterations converge in training mode
        discriminator(torch.randn(2, 1, 16, 16))
    weight = discriminator.score.weight
    assert float(torch.linalg.matrix_norm(weight.detach(), ord=2)) == pytest.approx(1.0, rel=0.05)


def test_config_json_round_trip():
    config = ImageNetworkConfig(channels=3, side=32, n_classes=10, conditioning="concat")
    assert ImageNetworkConfig.from_json(config.to_json()) == config


def test_norm2d_registry():
    assert set(available_norms2d()) == {"batch", "group", "instance", "layer", "none"}
    x = torch.randn(2, 8, 4, 4)
    for name in available_norms2d():
        assert create_norm2d(name, 8)(x).shape == x.shape
    with pytest.raises(ValueError, match="group"):
        create_norm2d("weird", 8)
