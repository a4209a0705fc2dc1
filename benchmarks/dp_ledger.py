"""What the one ledger saves: ε for the same preprocessing noise, old scheme against new.

The old scheme (before issue 18) released each of the k histograms of a table (one per discrete
column, one coarse range per numeric column without bounds) with its own Laplace noise and added
the ε's up by basic composition, then added DP-SGD's ε. The new scheme releases all k histograms
at once with Gaussian noise (L2 sensitivity √k) and composes that release with DP-SGD's steps in
one accountant. This script puts the same noise on every count (the same standard deviation s)
under both and prints what each spends, alone and with a DP-SGD run, plus the category
threshold each needs at the same total budget. Pure arithmetic: no data is read, no model fitted.

Usage::

    .venv/bin/python benchmarks/dp_ledger.py [--histograms 15] [--secret 9] [--n 26048]
"""

from __future__ import annotations

import argparse
import math
import sys

from synthgan.privacy.accounting import epsilon_after, history_epsilon, plan_dp_sgd
from synthgan.privacy.config import PrivacyConfig
from synthgan.privacy.mechanisms import histogram_threshold
from synthgan.privacy.preprocessing import plan_gaussian_release


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--histograms", type=int, default=15, help="k: histograms released")
    p.add_argument("--secret", type=int, default=9, help="of which name categories read from data")
    p.add_argument("--n", type=int, default=26_048, help="records (Adult's training split)")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--steps", type=int, default=2600, help="DP-SGD steps (50 epochs on Adult)")
    p.add_argument("--accountant", default="prv")
    p.add_argument("--noise", default="20,50,100,200", help="noise std s per count")
    p.add_argument("--epsilons", default="1,3,10", help="targets for the threshold comparison")
    return p.parse_args(argv)


def same_noise(args, delta: float) -> list[str]:
    k, q = args.histograms, args.batch / args.n
    sgd_sigma = plan_dp_sgd(3.0, delta, q, args.steps, args.accountant)
    sgd = [(sgd_sigma, q, args.steps)]
    sgd_alone = history_epsilon(args.accountant, sgd, delta)
    lines = [
        f"k = {k} histograms, δ = {delta:.3g}; DP-SGD: σ = {sgd_sigma:.3g}, q = {q:.4g}, "
        f"{args.steps} steps (ε = {sgd_alone:.3f} alone)",
        "",
        "| noise std s per count | old: k Laplace releases, basic | new: one Gaussian, alone "
        "| old + DP-SGD | new + DP-SGD, one accountant |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in (float(x) for x in args.noise.split(",")):
        old = k * math.sqrt(2.0) / s  # Laplace scale b = s/√2, ε = 1/b per histogram
        z = s / math.sqrt(k)  # Gaussian σ = s, L2 sensitivity √k
        new = epsilon_after(args.accountant, noise_multiplier=z, sample_rate=1.0, steps=1,
                            delta=delta)  # fmt: skip
        both = history_epsilon(args.accountant, [(z, 1.0, 1), *sgd], delta)
        lines.append(f"| {s:g} | {old:.3f} | {new:.3f} | {old + sgd_alone:.3f} | {both:.3f} |")
    return lines


def thresholds(args) -> list[str]:
    lines = [
        "",
        f"Category threshold τ (noisy count a category read from the data must pass), n = "
        f"{args.n}, default δ = n^-1.5:",
        "",
        "| target ε | old: share 0.1, ε/k per histogram (Laplace) | new: 'auto' share | new: "
        "share 0.1 |",
        "|---:|---:|---:|---:|",
    ]
    k, secret = args.histograms, args.secret
    for target in (float(x) for x in args.epsilons.split(",")):
        resolved = PrivacyConfig(target, accountant=args.accountant).validate(args.n)
        delta = resolved.target_delta
        old = histogram_threshold(0.1 * target / k, 0.1 * delta / secret)
        auto = plan_gaussian_release(resolved, name="s", histograms=k, n_records=args.n,
                                     secret_columns=secret)  # fmt: skip
        fixed_config = PrivacyConfig(target, accountant=args.accountant,
                                     preprocessing_epsilon_share=0.1)  # fmt: skip
        fixed = plan_gaussian_release(fixed_config.validate(args.n), name="s", histograms=k,
                                      n_records=args.n, secret_columns=secret)  # fmt: skip
        lines.append(
            f"| {target:g} | {old:.0f} | {auto.category_threshold:.0f} (share "
            f"{auto.share:.3f}, σ = {auto.sigma:.3g}) | {fixed.category_threshold:.0f} (σ = "
            f"{fixed.sigma:.3g}) |"
        )
    return lines


def main(argv=None) -> int:
    args = parse_args(argv)
    delta = args.n**-1.5
    print("\n".join(same_noise(args, delta) + thresholds(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
