import numpy as np
import pytest
import torch

from synthgan.core.callbacks import Callback, EarlyStopping, TimeLimit
from synthgan.core.layers import ResidualFC, available_norms, create_norm
from synthgan.core.random import check_random_state, torch_seed_scope
from synthgan.core.trainer import GANTrainer


class CountingModel:
    def __init__(self):
        self.d_calls = self.g_calls = 0

    def discriminator_step(self):
        self.d_calls += 1
        return {"discriminator_loss": float(self.d_calls)}

    def generator_step(self):
        self.g_calls += 1
        return {"generator_loss": 2.0}


def test_trainer_runs_the_schedule_and_records_history():
    model = CountingModel()
    history = GANTrainer(epochs=3, steps_per_epoch=4, n_critic=2, verbose=False).fit(model)
    assert (model.d_calls, model.g_calls) == (24, 12)
    frame = history.to_frame()
    assert frame["epoch"].tolist() == [0, 1, 2]
    assert (frame["generator_loss"] == 2.0).all()
    # First epoch: critic losses 1..8, averaged per generator step: mean(1..8) = 4.5.
    assert frame["discriminator_loss"].iloc[0] == pytest.approx(4.5)
    assert (frame["seconds"] >= 0).all()


def test_callback_can_stop_training():
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                self.trainer.stop_training = True

    model = CountingModel()
    GANTrainer(epochs=10, steps_per_epoch=1, callbacks=[StopAfterTwo()], verbose=False).fit(model)
    assert model.g_calls == 2


def test_early_stopping_on_plateau():
    stopper = EarlyStopping("generator_loss", patience=2)
    model = CountingModel()
    GANTrainer(epochs=10, steps_per_epoch=1, callbacks=[stopper], verbose=False).fit(model)
    assert model.g_calls == 3  # best at epoch 0, no improvement at 1 and 2


def test_progress_bar_runs(capsys):
    GANTrainer(epochs=2, steps_per_epoch=1, verbose=True).fit(CountingModel())
    assert "2.0/2" in capsys.readouterr().err


def test_epoch_figures_are_logged_and_steps_reported():
    class WithFigures(CountingModel):
        def epoch_figures(self):
            return {"diversity": 0.5 + self.g_calls}

    class Steps(Callback):
        def __init__(self):
            self.seen = []

        def on_step_end(self, step):
            self.seen.append(step)

    steps = Steps()
    frame = GANTrainer(epochs=2, steps_per_epoch=3, callbacks=[steps], verbose=False)
    history = frame.fit(WithFigures()).to_frame()
    assert history["diversity"].tolist() == [3.5, 6.5]  # after 3 and 6 generator steps
    assert steps.seen == [0, 1, 2, 0, 1, 2]


def test_time_limit_stops_after_the_epoch_that_passes_it():
    import time

    class Slow(CountingModel):
        def generator_step(self):
            time.sleep(0.02)
            return super().generator_step()

    model = Slow()
    limit = TimeLimit(0.05)
    with pytest.warns(UserWarning, match=r"stopped after \d of 100 epochs: the time limit"):
        GANTrainer(epochs=100, steps_per_epoch=1, callbacks=[limit], verbose=False).fit(model)
    assert 2 <= model.g_calls <= 4 and limit.stopped_after == model.g_calls
    with pytest.raises(ValueError, match="seconds"):
        TimeLimit(0)


def test_check_random_state():
    assert check_random_state(3).integers(1000) == np.random.default_rng(3).integers(1000)
    rng = np.random.default_rng(1)
    assert check_random_state(rng) is rng
    with pytest.raises(TypeError, match="random_state"):
        check_random_state("seed")
    with pytest.raises(ValueError):
        check_random_state(-1)


def test_torch_seed_scope_is_reproducible_and_restores_global_state():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with torch_seed_scope(7):
        a = torch.rand(3)
    with torch_seed_scope(7):
        b = torch.rand(3)
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("norm", ["batch", "group", "layer", "none"])
def test_residual_block_shapes(norm):
    block = ResidualFC(6, 8, norm=norm)
    assert block(torch.randn(5, 6)).shape == (5, 14)


def test_unknown_norm():
    assert "group" in available_norms()
    with pytest.raises(ValueError, match="batch"):
        create_norm("weird", 4)
