"""CTGAN with differential privacy: the budget, the releases, what is saved, every loss term."""

import copy
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from synthgan import CTGANSynthesizer, PrivacyBudgetError, PrivacyConfig, load
from synthgan.exceptions import DataValidationError
from synthgan.privacy.accounting import epsilon_after
from synthgan.tabular.private import (
    GRID_EDGES,
    RANGES,
    STATISTICS,
    fine_histogram,
    grid_encoder,
    grid_histogram,
    plan_private_columns,
    range_from_fine,
    range_from_grid,
)

N = 2000
PUBLIC = {"columns": {"colour": {"categories": ["red", "green", "blue"], "missing": False}}}


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], N, p=[0.5, 0.3, 0.2])
    city = rng.choice(["Lyon", "Oslo", "Porto"], N).astype(object)
    city[:5] = "Rareville"  # 5 records: far below the DP threshold, must never be named
    return pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3, 1, N), 6) + 0.123457,  # distinctive decimals
            "age": rng.integers(18, 90, N),
            "colour": colour,
            "city": city,
            "flag": rng.random(N) < 0.3,
        }
    )


def tiny(**kwargs):
    params = dict(
        epochs=2,
        batch_size=200,
        embedding_dim=8,
        generator_dim=(16,),
        discriminator_dim=(16,),
        metadata=PUBLIC,
        privacy=PrivacyConfig(target_epsilon=10.0),
        verbose=False,
        random_state=0,
    )
    return CTGANSynthesizer(**{**params, **kwargs})


@pytest.fixture(scope="module")
def fitted(table):
    return tiny().fit(table)


def test_budget_is_met_and_reported(fitted):
    spent = fitted.privacy_spent_
    epsilon, delta = spent
    assert 0.95 * 10.0 <= epsilon <= 10.0
    assert delta == pytest.approx(N**-1.5) and delta < 1 / N
    # One accountant: each line's ε is the mechanism alone, the composed total is below their sum
    # (and above each of them); the δ's add up.
    alone = [e for e, _ in spent.breakdown.values()]
    assert max(alone) < epsilon < sum(alone)
    assert sum(d for _, d in spent.breakdown.values()) == pytest.approx(delta)
    # One release for every statistic: the ranges of the two numeric columns and the counts of
    # colour (public list), city (read under DP, thresholded) and flag (dtype's [False, True]).
    assert list(spent.breakdown) == [STATISTICS, RANGES, "DP-SGD"]
    report = fitted.privacy_report()
    for words in ("DP-SGD", "Poisson", "noise multiplier", "clipped", "1/(n·√n)", "metadata",
                  "5 histograms released together", "one PRV accountant"):  # fmt: skip
        assert words in report


def test_accounting_equals_an_independent_ledger(fitted):
    # privacy_spent_ recomputed from the planned mechanisms with Opacus' accountant directly:
    # the Gaussian release is one step of rate 1 with z = z_budget / √share, z_budget solved
    # here with scipy, DP-SGD is its (σ, q, steps), and ε is taken at δ minus the threshold's δ.
    from opacus.accountants import PRVAccountant
    from scipy.optimize import brentq

    spent = fitted.privacy_spent_
    s = spent.dp_sgd
    assert s.steps == 2 * (N // 200) and s.sample_rate == pytest.approx(200 / N)
    threshold_delta = spent.breakdown[STATISTICS][1]
    assert threshold_delta == pytest.approx(0.1 * spent.delta)  # city's list is read under DP
    ledger_delta = spent.delta - threshold_delta

    def prv(history):
        accountant = PRVAccountant()
        accountant.history = history
        return accountant.get_epsilon(delta=ledger_delta)

    z_budget = brentq(lambda z: prv([(z, 1.0, 1)]) - 10.0, 0.05, 50.0, xtol=1e-6)
    (name, z, q, steps), (refined, z_ranges, *once), sgd = spent.ledger
    assert (name, refined) == (STATISTICS, RANGES) and (q, steps) == tuple(once) == (1.0, 1)
    # The two releases share the preprocessing share 80 / 20: their 1/z² add up to it.
    share = z_budget**2 * (1 / z**2 + 1 / z_ranges**2)
    assert (z_ranges / z) ** 2 == pytest.approx(0.8 / 0.2, rel=1e-9)
    assert 0.02 <= share <= 0.25  # "auto", within its range
    assert f"{share:.1%} of the budget" in fitted.privacy_report()
    assert sgd == ("DP-SGD", s.noise_multiplier, s.sample_rate, s.steps)
    independent = prv(
        [(z, 1.0, 1), (z_ranges, 1.0, 1), (s.noise_multiplier, s.sample_rate, s.steps)]
    )
    assert spent.epsilon == pytest.approx(independent, rel=1e-9)
    # The standalone lines are each mechanism alone, at the same δ.
    assert spent.breakdown["DP-SGD"][0] == pytest.approx(
        epsilon_after("prv", noise_multiplier=s.noise_multiplier, sample_rate=s.sample_rate,
                      steps=s.steps, delta=ledger_delta), rel=1e-9)  # fmt: skip


def test_saved_model_holds_no_training_values(fitted, table, tmp_path):
    path = fitted.save(tmp_path / "dp.synthgan")
    with zipfile.ZipFile(path) as archive:
        text = b"".join(archive.read(name) for name in archive.namelist()).decode("latin-1")
    for value in table["amount"].head(50):
        assert f"{value:.6f}".rstrip("0") not in text
    assert "Rareville" not in text
    # Category counts are the rounded noisy release, not the true counts.
    encoder = next(e for e in fitted.transformer_.encoders_ if e.name == "colour")
    true = table["colour"].value_counts().reindex(encoder.categories).to_numpy()
    assert not np.array_equal(encoder.counts, true)
    assert np.abs(encoder.counts - true).max() < 60  # noisy, not garbage


def test_reload_keeps_the_guarantee_and_the_samples(fitted, tmp_path):
    path = fitted.save(tmp_path / "dp.synthgan")
    again = load(path)
    assert again.privacy_spent_ == fitted.privacy_spent_
    assert again.privacy_report() == fitted.privacy_report()
    assert again.privacy_state_["accountant_state"] == fitted.privacy_state_["accountant_state"]
    pd.testing.assert_frame_equal(
        again.sample(50, random_state=3), fitted.sample(50, random_state=3)
    )


def test_samples_respect_the_schema(fitted, table):
    synthetic = fitted.sample(300, random_state=0)
    assert list(synthetic.columns) == list(table.columns)
    assert set(synthetic["colour"]) <= {"red", "green", "blue"}
    assert set(synthetic["city"].dropna()) <= {"Lyon", "Oslo", "Porto"}
    assert synthetic["age"].dtype == table["age"].dtype


def test_every_loss_term_reaches_the_update(table):
    # With zero noise, no clipping and SGD(lr=1), one private critic step must move the weights
    # by exactly the gradient of (Σ real terms)/(q·n) + mean fake term (+ penalty), as autograd
    # computes it from the same inputs: nothing dropped, nothing counted twice.
    for penalty in ("fake", "record"):
        model = tiny(
            dp_penalty=penalty,
            gp_every=1,
            privacy=PrivacyConfig(target_epsilon=10.0, noise_multiplier=1e-9),
        )
        steps, critic = _private_steps(model, table)
        captured = {}
        original = critic.step

        def spy(inputs, real_loss, fake_loss, fakes, captured=captured, original=original,
                critic=critic):  # fmt: skip
            captured.update(inputs=inputs, real=real_loss, fake=fake_loss, fakes=fakes)
            captured["before"] = copy.deepcopy(critic.module)
            return original(inputs, real_loss, fake_loss, fakes)

        critic.step = spy
        critic.optimizer.max_grad_norm = 1e12
        critic.optimizer.noise_multiplier = 0.0
        steps.discriminator_step()
        reference = captured["before"]
        inputs = captured["inputs"]
        inputs = (inputs,) if isinstance(inputs, torch.Tensor) else inputs
        loss = captured["real"](reference, *inputs).sum() / critic.expected_batch_size
        if penalty == "fake":  # the penalty between fakes (gp_every=1: every step)
            loss = loss + captured["fake"](reference)
        else:
            assert captured["fake"] is None
        fake_in, fake_records = captured["fakes"]
        loss = loss + fake_records(reference, fake_in).mean()
        grads = torch.autograd.grad(loss, list(reference.parameters()))
        for before, after, g in zip(
            reference.parameters(), critic.module.parameters(), grads, strict=True
        ):
            torch.testing.assert_close(before.detach() - after.detach(), g, rtol=1e-4, atol=1e-6)


def _private_steps(model, table):
    """Build a model's private training steps without training (SGD, dropout off)."""
    from synthgan.core.losses import create_loss
    from synthgan.core.session import TrainingContext
    from synthgan.privacy.engine import PrivateCritic
    from synthgan.tabular import private
    from synthgan.tabular.networks import Discriminator, Generator, TabularNetworkConfig
    from synthgan.tabular.steps import StepOptions

    rng = np.random.default_rng(0)
    resolved = model.privacy.validate(len(table))
    plans = plan_private_columns(table, discrete_columns=None, metadata=PUBLIC)
    stats = private.plan_private_statistics(plans, resolved, len(table))
    prep = private.fit_private_transformer(table, plans, stats, rng)
    matrix, codes = prep.transformer.transform(table, rng)
    sampler = private.private_sampler(prep.transformer, True)
    config = TabularNetworkConfig(
        noise_dim=8,
        condition_dim=prep.transformer.span_table_.condition_width,
        data_dim=prep.transformer.output_width,
        generator_dim=(16,),
        discriminator_dim=(16,),
        pac=1,
        dropout=0.0,
    )
    disc = Discriminator(config).train()
    critic = PrivateCritic(
        disc,
        torch.optim.SGD(disc.parameters(), lr=1.0),
        n_records=len(table),
        sample_rate=0.1,
        noise_multiplier=0.0,
        max_grad_norm=1e12,
        max_steps=5,
        grad_sampler="functional" if model.dp_penalty == "record" else "ghost",
    )
    options = StepOptions(200, 8, 1, 0.2, 10.0, 1, True)
    context = TrainingContext(torch.device("cpu"), False, rng)
    generator = Generator(config)
    context.modules.update(generator=generator, discriminator=disc)
    context.optimizers.update(
        generator=torch.optim.Adam(generator.parameters()), discriminator=critic.optimizer
    )
    context.critics["discriminator"] = critic
    steps = private.PrivateTabularSteps(
        context, torch.as_tensor(matrix), codes, sampler, prep.transformer.span_table_,
        create_loss("wasserstein"), options, model.dp_penalty,
    )  # fmt: skip
    return steps, critic


def test_an_impossible_budget_fails_before_any_release(table, monkeypatch):
    from synthgan.tabular import private

    def no_release(*args, **kwargs):
        raise AssertionError("preprocessing released statistics before DP-SGD was planned")

    monkeypatch.setattr(private, "fit_private_transformer", no_release)
    tight = PrivacyConfig(target_epsilon=0.01)
    # Every column that cannot succeed is named at once, with the numbers, before any release.
    with pytest.raises(PrivacyBudgetError, match=r"value ranges of \['amount', 'age'\] cannot"):
        tiny(privacy=tight).fit(table)
    with pytest.raises(PrivacyBudgetError, match=r"20 discriminator steps"):
        bounds = {"amount": {"min": 0, "max": 1000}, "age": {"min": 18, "max": 90}}
        tiny(privacy=tight, metadata={"columns": bounds}).fit(table)
    monkeypatch.undo()
    public = {
        "columns": {
            **PUBLIC["columns"],
            "amount": {"min": 0, "max": 1000},
            "age": {"min": 18, "max": 90},
            "city": {"categories": ["Lyon", "Oslo", "Porto", "Rareville"]},
        }
    }
    model = tiny(epochs=500, privacy=tight, metadata=public)
    with pytest.raises(PrivacyBudgetError, match=r"ε=0.01.*q=0.1 over 5000 steps"):
        model.fit(table)
    assert not hasattr(model, "generator_")


def test_bad_private_settings_are_named(table):
    with pytest.raises(ValueError, match="pac=10 with privacy"):
        tiny(pac=10).fit(table)
    with pytest.raises(ValueError, match="dp_penalty"):
        tiny(dp_penalty="none").fit(table)
    with pytest.raises(TypeError, match="privacy must be"):
        tiny(privacy=3.0).fit(table)
    bad = {"columns": {"colour": {"categories": ["red", "green"]}}}
    with pytest.raises(DataValidationError, match=r"'colour' holds 'blue'.*public category"):
        tiny(metadata=bad).fit(table)
    with pytest.raises(DataValidationError, match="only one of 'min' and 'max'"):
        tiny(metadata={"columns": {"age": {"min": 0}}}).fit(table)


def test_privacy_report_needs_a_private_model(table):
    model = tiny(privacy=None, pac=None).fit(table)
    assert model.privacy_spent_ is None
    with pytest.raises(ValueError, match="without differential privacy"):
        model.privacy_report()


def test_private_planning_reads_no_statistic(table):
    constant = table.assign(same=1.5)  # constant detection would read the data
    plans = {p.name: p for p in plan_private_columns(constant, discrete_columns=None,
                                                      metadata=PUBLIC)}  # fmt: skip
    assert plans["same"].kind == "continuous" and plans["same"].bounds is None
    assert plans["colour"].categories == ("red", "green", "blue")
    assert plans["flag"].categories == (False, True) and not plans["flag"].nullable
    assert plans["city"].categories is None and plans["city"].nullable
    assert not plans["age"].nullable  # numpy int64 cannot hold a missing value


def test_grid_range_and_grid_encoder():
    rng = np.random.default_rng(0)
    values = rng.uniform(-300, 5000, 20_000)
    counts = grid_histogram(pd.Series(values))
    assert counts.sum() == 20_000 and len(counts) == len(GRID_EDGES)
    assert (GRID_EDGES[1:, 0] >= GRID_EDGES[:-1, 1] - 1e-12).all()  # sorted, disjoint bins
    (low, high), found = range_from_grid(counts + rng.normal(0, 5, len(counts)), 30.0)
    assert found
    assert -300 * 2**0.25 <= low < -200 and 4000 < high <= 5000 * 2**0.25  # to the bin
    (low, high), found = range_from_grid(rng.normal(0, 5, len(counts)), 1e6)
    assert not found and high > low  # no bin passes: the largest one, and the fit warns
    # the refinement: 64 equal-width bins over a coarse range, tails trimmed
    years = pd.Series(rng.integers(1990, 2021, 5000).astype(float))
    (low, high), _ = range_from_grid(grid_histogram(years) + rng.normal(0, 5, len(counts)), 30.0)
    assert low < 1800 and high > 2040  # the grid alone: bins 19 % wide
    fine = fine_histogram(years, low, high)
    assert fine.sum() == 5000 and len(fine) == 64
    refined = range_from_fine(fine + rng.normal(0, 5, 64), low, high, 20.0, 5000)
    assert 1980 <= refined[0] <= 1990 and 2020 <= refined[1] <= 2030
    noise_only = range_from_fine(rng.normal(0, 30, 64), low, high, 60.0, 5000)
    assert noise_only == (low, high)  # what passes holds too little: the coarse range
    encoder = grid_encoder("x", {"dtype": "float64"}, 0.0, 10.0, 5, nullable=True)
    x = np.array([0.5, 3.0, 9.9, np.nan])
    alpha, mode = encoder.encode(x, rng)
    np.testing.assert_allclose(encoder.decode(alpha, mode, clip=True)[:3], x[:3], atol=1e-9)
    assert mode[3] == 5  # the missing mode


def test_missing_values_fit_without_category_metadata():
    # Issue 18's crash: a missing value whose category did not pass the DP threshold had no
    # slot ("value None was not seen during fit"); it now shares the "other" slot.
    rng = np.random.default_rng(0)
    city = rng.choice(["Lyon", "Oslo", "Porto"], N).astype(object)
    city[:8] = None  # far below the threshold
    amount = rng.lognormal(3, 1, N)
    amount[rng.random(N) < 0.2] = np.nan  # missing values in a continuous column too
    frame = pd.DataFrame({"amount": amount, "city": city})
    model = tiny(metadata={"columns": {"amount": {"min": 0, "max": 1000}}}).fit(frame)
    assert model.privacy_spent_.epsilon <= 10.0
    sampled = model.sample(500, random_state=0)
    assert set(sampled["city"].dropna()) <= {"Lyon", "Oslo", "Porto"}
    assert sampled["amount"].isna().any()


def test_a_small_table_without_metadata_fits_at_epsilon_one():
    # Issue 18: no metadata at all, 2,000 rows, ε = 1. Every category list, count and range is
    # one Gaussian release; what could not be released is said in one warning, by column.
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, N),
            "age": rng.integers(18, 90, N),
            "colour": rng.choice(["red", "green", "blue"], N, p=[0.5, 0.3, 0.2]),
            "city": np.where(rng.random(N) < 0.01, "Rareville", "Lyon").astype(object),
            "member": rng.choice(["yes", "no"], N),
        }
    )
    frame.loc[:29, "colour"] = None  # missing values in a discrete column
    frame.loc[rng.random(N) < 0.1, "amount"] = np.nan  # and in a continuous one
    with pytest.warns(UserWarning, match="changed the schema") as caught:
        model = tiny(metadata=None, privacy=PrivacyConfig(target_epsilon=1.0)).fit(frame)
    text = str(caught[0].message)
    assert "'amount' may generate missing values" in text and "Rareville" not in text
    epsilon, delta = model.privacy_spent_
    assert 0.95 <= epsilon <= 1.0 and delta == pytest.approx(N**-1.5)
    sampled = model.sample(400, random_state=0)
    assert set(sampled["member"].dropna()) <= {"yes", "no"}
    assert set(sampled["city"].dropna()) <= {"Lyon"}  # 1 % of the rows: not released
    low, high = model.transformer_.encoders_[1].minimum, model.transformer_.encoders_[1].maximum
    # Age's range from the grid, refined and trimmed, in whole years; at 2,000 rows and ε = 1
    # the thin ends may be cut, and the warning says so with the released range.
    assert 16 <= low < 30 and 76 <= high <= 91 and float(low).is_integer()
    assert f"'age': range [{low:.6g}, {high:.6g}] estimated under DP" in text
    # strict: a column with no released category is refused instead of generated as missing
    tiny_table = frame.head(300)
    with pytest.raises(PrivacyBudgetError, match=r"No category of \['colour', 'city', 'member'\]"):
        tiny(metadata={"columns": {"amount": {"min": 0, "max": 1000}, "age": {"min": 0,
             "max": 100}}}, privacy=PrivacyConfig(0.05, strict=True)).fit(tiny_table)  # fmt: skip


def test_missing_values_with_public_metadata():
    # Missing values declared public ("missing": true, a None-free category list): the missing
    # category is a public slot, the continuous column keeps its missing mode, and the fit-time
    # warning has nothing to say about either column's categories.
    rng = np.random.default_rng(2)
    colour = rng.choice(["red", "green", "blue"], N).astype(object)
    colour[:100] = None
    amount = rng.lognormal(3, 1, N)
    amount[:200] = np.nan
    frame = pd.DataFrame({"amount": amount, "colour": colour})
    metadata = {"columns": {
        "amount": {"min": 0, "max": 1000, "missing": True},
        "colour": {"categories": ["red", "green", "blue"], "missing": True},
    }}  # fmt: skip
    model = tiny(metadata=metadata).fit(frame)
    encoder = next(e for e in model.transformer_.encoders_ if e.name == "colour")
    assert encoder.categories == ["red", "green", "blue", None] and not encoder.has_other
    sampled = model.sample(500, random_state=0)
    assert set(sampled["colour"].dropna()) <= {"red", "green", "blue"}
    assert list(model.privacy_spent_.breakdown) == [STATISTICS, "DP-SGD"]  # no range to refine
    assert model.privacy_spent_.breakdown[STATISTICS][1] == 0.0  # public lists: no threshold


def test_strict_refuses_every_column_whose_release_named_no_category():
    # After the release (noise can leave a feasible column empty): the check reads the encoders,
    # not the warning text, and names every empty column at once.
    from synthgan.tabular.columns import _OTHER, DiscreteEncoder
    from synthgan.tabular.private import _check_strict

    empty = [DiscreteEncoder(name, {}, [_OTHER], np.array([10])) for name in ("a", "b")]
    kept = DiscreteEncoder("c", {}, ["x", _OTHER], np.array([5, 5]))
    _check_strict([kept], strict=True)  # something released: accepted
    _check_strict([*empty, kept], strict=False)  # not strict: generated from the type, warned
    with pytest.raises(PrivacyBudgetError, match=r"no category of column\(s\) \['a', 'b'\]"):
        _check_strict([*empty, kept], strict=True)
