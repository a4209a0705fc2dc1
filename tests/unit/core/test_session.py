"""The fit session and the template fit: schedules, stopping, checkpoints, refusals, atomicity."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from synthgan import CTGANSynthesizer
from synthgan.core.callbacks import Callback, EarlyStopping
from synthgan.core.session import FitPlan, FitSession, Network, TrainingContext, linear_decay
from synthgan.exceptions import CheckpointError, InvalidParameterError
from synthgan.io.checkpoints import CHECKPOINT_FILE, read_checkpoint


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n)})


def _tiny(**kwargs) -> CTGANSynthesizer:
    params = dict(
        epochs=3, batch_size=50, pac=5, embedding_dim=4, generator_dim=(8,),
        discriminator_dim=(8,), verbose=False, random_state=0, autocast=False,
    )  # fmt: skip
    return CTGANSynthesizer(**{**params, **kwargs})


class _Steps:
    """A step model that records the learning rate it sees and moves one weight."""

    def __init__(self, context: TrainingContext) -> None:
        self.context, self.rates = context, []

    def discriminator_step(self) -> dict[str, float]:
        return {"discriminator_loss": 0.0}

    def generator_step(self) -> dict[str, float]:
        optimizer = self.context.optimizers["g"]
        self.rates.append(optimizer.param_groups[0]["lr"])
        module = self.context.modules["g"]
        loss = (module(torch.ones(1, 1)) - 3.0).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"generator_loss": float(loss)}

    def calibration_inputs(self, name: str, batches: int):
        return [torch.ones(2, 1)] * batches


def _session(epochs: int, **kwargs) -> tuple[FitSession, list]:
    made = []

    def steps(context):
        made.append(_Steps(context))
        return made[-1]

    plan = FitPlan(
        networks=lambda: [
            Network(
                "g",
                nn.Linear(1, 1),
                lambda m: torch.optim.SGD(m.parameters(), lr=0.1),
                average=0.5,
                kept=True,
                schedule=linear_decay(epochs, 2),
            ),
        ],
        steps=steps,
        epochs=epochs,
        steps_per_epoch=1,
    )
    session = FitSession(plan, device=torch.device("cpu"), autocast=False,
                         rng=np.random.default_rng(0), verbose=False, **kwargs)  # fmt: skip
    return session, made


def test_linear_decay_keeps_then_decays_to_zero():
    schedule = linear_decay(6, 2)
    assert [schedule(e) for e in range(6)] == pytest.approx([1, 1, 1, 0.75, 0.5, 0.25])


def test_the_session_applies_schedules_averages_and_keeps_the_average():
    session, made = _session(4)
    result = session.run()
    assert made[0].rates == pytest.approx([0.1, 0.1, 0.1, 0.05])
    live = session.networks["g"].module
    kept = result.networks["g"]
    assert kept is not live and not kept.training  # the average, in eval mode
    assert not torch.equal(kept.weight, live.weight)
    assert len(result.history) == 4 and result.epochs_run == 4


def test_early_stopping_state_survives_a_checkpoint():
    stop = EarlyStopping("generator_loss", patience=3)
    stop.best, stop.wait = 1.5, 2
    twin = EarlyStopping("generator_loss", patience=3)
    twin.load_state_dict(stop.state_dict())
    assert (twin.best, twin.wait) == (1.5, 2)
    fresh = EarlyStopping("generator_loss")
    fresh.load_state_dict(EarlyStopping("generator_loss").state_dict())  # inf round-trips
    assert fresh.best == float("inf")


def test_callbacks_see_every_epoch_and_can_stop(tmp_path):
    seen = []

    class Stop(Callback):
        def on_epoch_begin(self, epoch):
            seen.append(epoch)

        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                self.trainer.stop_training = True

    model = _tiny(epochs=5).fit(_frame(), callbacks=[Stop()])
    assert seen == [0, 1] and len(model.loss_history_) == 2
    assert model.timings_["epochs"] == 2


def test_resume_of_a_finished_fit_gives_the_same_model(tmp_path):
    frame = _frame()
    first = _tiny(checkpoint_dir=str(tmp_path)).fit(frame)
    again = _tiny(checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    same = first.sample(30, random_state=1), again.sample(30, random_state=1)
    pd.testing.assert_frame_equal(*same)
    assert read_checkpoint(tmp_path).epoch == 3


def test_checkpoint_every_and_what_a_checkpoint_holds(tmp_path):
    _tiny(epochs=5, checkpoint_every=2, checkpoint_dir=str(tmp_path)).fit(_frame())
    checkpoint = read_checkpoint(tmp_path)
    assert checkpoint.epoch == 5  # the last epoch is always written
    names = set(checkpoint.tensors)
    assert {"rng.torch"} <= names
    assert any(n.startswith("network.generator.") for n in names)
    assert any(n.startswith("optimizer.discriminator.") for n in names)
    assert any(n.startswith("average.generator.") for n in names)
    assert set(checkpoint.state) >= {"epoch", "history", "numpy_rng", "optimizers", "steps"}
    with zipfile.ZipFile(tmp_path / CHECKPOINT_FILE) as archive:  # no pickle, ever
        assert sorted(archive.namelist()) == [
            "config.json", "manifest.json", "state.json", "tensors.safetensors",
        ]  # fmt: skip


def test_refusals_name_what_is_wrong(tmp_path):
    frame = _frame()
    with pytest.raises(InvalidParameterError, match="resume=True needs checkpoint_dir"):
        _tiny().fit(frame, resume=True)
    with pytest.raises(CheckpointError, match="no checkpoint to resume"):
        _tiny(checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    _tiny(checkpoint_dir=str(tmp_path)).fit(frame)
    with pytest.raises(CheckpointError, match=r"earlier fit.*resume=True"):
        _tiny(checkpoint_dir=str(tmp_path)).fit(frame)
    with pytest.raises(CheckpointError, match=r"other hyperparameters: epochs=3 .* 4 now"):
        _tiny(epochs=4, checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    with pytest.raises(CheckpointError, match="other training data"):
        _tiny(checkpoint_dir=str(tmp_path)).fit(_frame(seed=1), resume=True)
    # verbose, n_threads and max_time may change between runs
    _tiny(checkpoint_dir=str(tmp_path), verbose=True, max_time=1e6).fit(frame, resume=True)


def test_damaged_and_foreign_checkpoints_are_refused(tmp_path):
    frame = _frame()
    model = _tiny(checkpoint_dir=str(tmp_path)).fit(frame)
    path = tmp_path / CHECKPOINT_FILE
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="cannot be used"):
        _tiny(checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    path.unlink()
    model.save(path)  # a model file is not a checkpoint
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        _tiny(checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    other = tmp_path / "other"
    from synthgan import DCGANSynthesizer

    digits = np.zeros((40, 8, 8), dtype=np.uint8)
    DCGANSynthesizer(epochs=1, batch_size=20, latent_dim=4, generator_width=4,
                     discriminator_width=4, verbose=False, monitor_diversity=False,
                     checkpoint_dir=str(other)).fit(digits)  # fmt: skip
    with pytest.raises(CheckpointError, match="'dcgan' model, not of this 'ctgan'"):
        _tiny(checkpoint_dir=str(other)).fit(frame, resume=True)


def test_a_failed_fit_leaves_the_earlier_model_untouched():
    model = _tiny().fit(_frame())
    generator, history = model.generator_, model.loss_history_
    with pytest.raises(ValueError, match="fewer than pac=5"):
        model.fit(pd.DataFrame({"x": ["a"] * 3}))  # too few rows for pac=5
    assert model.generator_ is generator and model.loss_history_ is history


def test_parameter_type_errors_are_one_exception_for_every_family():
    from synthgan import DCGANSynthesizer

    with pytest.raises(InvalidParameterError, match="epochs must be an integer"):
        _tiny(epochs=2.0).fit(_frame())
    with pytest.raises(InvalidParameterError, match="epochs must be an integer"):
        DCGANSynthesizer(epochs=2.0).fit(np.zeros((4, 8, 8), dtype=np.uint8))
    with pytest.raises(InvalidParameterError, match="device must be"):
        _tiny(device="gpu").fit(_frame())


class _StopAfter(Callback):
    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs):
        if epoch + 1 >= self.epochs:
            self.trainer.stop_training = True


def test_resuming_a_stopped_fit_keeps_it_stopped_but_a_timed_out_one_continues(tmp_path):
    frame = _frame()
    stopped = _tiny(epochs=4, checkpoint_dir=str(tmp_path / "a")).fit(
        frame, callbacks=[_StopAfter(2)]
    )
    again = _tiny(epochs=4, checkpoint_dir=str(tmp_path / "a")).fit(frame, resume=True)
    assert len(again.loss_history_) == len(stopped.loss_history_) == 2
    same = stopped.sample(20, random_state=0), again.sample(20, random_state=0)
    pd.testing.assert_frame_equal(*same)
    with pytest.warns(UserWarning, match="time limit"):
        _tiny(epochs=4, max_time=1e-9, checkpoint_dir=str(tmp_path / "b")).fit(frame)
    assert read_checkpoint(tmp_path / "b").epoch == 1
    resumed = _tiny(epochs=4, checkpoint_dir=str(tmp_path / "b")).fit(frame, resume=True)
    whole = _tiny(epochs=4).fit(frame)
    assert len(resumed.loss_history_) == 4
    pd.testing.assert_frame_equal(
        resumed.sample(20, random_state=0), whole.sample(20, random_state=0)
    )


def test_a_resumed_fit_reports_the_time_of_every_run(tmp_path):
    frame = _frame()
    _tiny(checkpoint_dir=str(tmp_path)).fit(frame)
    earlier = read_checkpoint(tmp_path).state["seconds"]  # training time of the first run
    again = _tiny(checkpoint_dir=str(tmp_path)).fit(frame, resume=True)
    assert again.timings_["training"] >= earlier > 0
    assert again.timings_["total"] >= again.timings_["training"]
