import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import CTGANSynthesizer
from synthgan.tabular.networks import (
    Discriminator,
    Generator,
    TabularNetworkConfig,
    fold_generator,
)


def randomise_batchnorm(generator):
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            module.weight.data.uniform_(0.5, 2)
            module.bias.data.uniform_(-1, 1)


@pytest.mark.parametrize(
    ("norm", "cond_dim", "hidden"),
    [("batch", 7, (6, 4, 3)), ("none", 0, (5,)), ("batch", 0, (8, 8))],
)
def test_folded_generator_equals_module(norm, cond_dim, hidden):
    config = TabularNetworkConfig(
        noise_dim=5, condition_dim=cond_dim, data_dim=9, generator_dim=hidden, generator_norm=norm
    )
    generator = Generator(config)
    randomise_batchnorm(generator)
    generator.eval()
    folded = fold_generator(generator, config)
    noise = torch.randn(11, 5)
    slots = torch.randint(0, cond_dim, (11,)) if cond_dim else None
    cond = torch.zeros(11, cond_dim)
    if cond_dim:
        cond[torch.arange(11), slots] = 1.0
    with torch.inference_mode():
        expected = generator(torch.cat([noise, cond], dim=1))
        assert torch.allclose(folded(noise, slots), expected, atol=1e-5)
        # bfloat16 products stay close to the float32 function.
        low = fold_generator(generator, config, torch.bfloat16)(noise, slots)
        assert torch.allclose(low, expected, atol=0.1, rtol=0.05)


def test_group_norm_generator_is_not_folded():
    config = TabularNetworkConfig(noise_dim=4, condition_dim=2, data_dim=3, generator_norm="group")
    assert fold_generator(Generator(config), config) is None


def test_discriminator_scores_packs():
    config = TabularNetworkConfig(
        noise_dim=4, condition_dim=2, data_dim=3, discriminator_dim=(8,), pac=5
    )
    disc = Discriminator(config)
    assert disc(torch.randn(20, 5)).shape == (4,)


def test_config_json_round_trip():
    config = TabularNetworkConfig(noise_dim=4, condition_dim=2, data_dim=3, generator_dim=(7, 5))
    assert TabularNetworkConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    "options",
    [
        {"gp_every": 3},
        {"reuse_fake": True},
        {"autocast": True},
        {"loss": "hinge", "gp_lambda": 0.0},
        {"discriminator_steps": 2},
    ],
)
def test_speed_and_loss_options_train(options):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "c": rng.choice(["a", "b", "c"], 200)})
    model = CTGANSynthesizer(
        epochs=3,
        batch_size=50,
        pac=5,
        generator_dim=(16,),
        discriminator_dim=(16,),
        embedding_dim=8,
        verbose=False,
        random_state=0,
        **options,
    )
    model.fit(frame)
    losses = model.loss_history_[["generator_loss", "discriminator_loss"]].to_numpy()
    assert np.isfinite(losses).all()
    out = model.sample(30, conditions={"c": "b"}, random_state=0)
    assert (out["c"] == "b").all() and out["x"].notna().all()
