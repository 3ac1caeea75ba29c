"""``lattn fit-schedule``: learn the critical schedule beta(n) = c n^p by gradient descent."""

import argparse
import math
import sys
import time

from ._common import (
    LEVEL_RANGE,
    SCHEMA_VERSION,
    UsageError,
    check_level,
    count,
    integer,
    setup_jax,
    writable,
    write_json,
)
from ._regime import add_law_arguments, check_method, make_law, n_range


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn fit-schedule``."""
    cmd = sub.add_parser(
        "fit-schedule",
        help="learn beta(n) = c n^p with E[max weight] = level at every n (gradient descent)",
        description=(
            "Learn log c and p of beta(n) = c n^p so that E[max attention weight](beta(n)) = level for all n at "
            "once, by Adam through the Monte Carlo estimator on contexts sampled once per n; compare p with "
            "the theory 2/alpha (alpha = d - 1 for uniform keys)."
        ),
    )
    add_law_arguments(cmd, dim=3)
    cmd.add_argument("--n", type=n_range, default=n_range("1e3:1e7"), help="A:B, A:B:K or a list (default: 1e3:1e7)")
    cmd.add_argument("--level", type=float, default=0.5, help=f"target E[max weight], {LEVEL_RANGE} (default: 0.5)")
    cmd.add_argument("--steps", type=integer("300 or 1000"), default=300, help="optimizer steps (default: 300)")
    cmd.add_argument("--lr", type=float, default=0.1, help="Adam learning rate, cosine-decayed (default: 0.1)")
    cmd.add_argument("--contexts", type=count, default=512, help="contexts per n (default: 512)")
    cmd.add_argument(
        "--method",
        choices=["auto", "dense", "order-statistics"],
        help="context sampling (default: order-statistics for uniform keys, dense otherwise)",
    )
    cmd.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    cmd.add_argument("--json", type=writable, metavar="PATH", help="write the fit and its loss history as JSON")
    return cmd


def run(args) -> int:
    """Run ``lattn fit-schedule``."""
    from .._validation import check_sizes

    # --steps and --contexts are fit_schedule's to check (before any work or output).
    check_sizes("ns", args.n, minimum=2, sequence=True, distinct=2)  # before check_level takes the smallest
    check_level(args.level, min(args.n))
    if not (math.isfinite(args.lr) and args.lr > 0):  # cosine_adam takes any number
        raise UsageError(f"--lr must be finite and > 0, got {args.lr}")
    jax = setup_jax()
    from .._laws import AbstractGapLaw
    from .._schedules._fit import cosine_adam, fit_schedule

    law, law_text = make_law(args)
    method = args.method or ("order-statistics" if isinstance(law, AbstractGapLaw) else "dense")
    check_method(law, method, max(args.n), law_text)
    optimizer = cosine_adam(args.lr, args.steps)
    start = time.perf_counter()
    fit = fit_schedule(
        law,
        args.n,
        jax.random.key(args.seed),
        level=args.level,
        optimizer=optimizer,
        steps=args.steps,
        num_contexts=args.contexts,
        method=method,
    )
    exponent, prefactor = float(fit.schedule.exponent), float(fit.schedule.prefactor)
    theory = law.local_exponent
    print(f"{law_text}: beta(n) = c n^p with E[max weight] = {args.level} ({args.contexts} contexts per n, {method})")
    print(f"{'n':>10} {'beta(n)':>10} {'E[max w]':>9} {'±':>7}")
    for n, m, se in zip(args.n, fit.max_weight, fit.max_weight_stderr, strict=True):
        print(f"{n:>10} {float(fit.schedule(float(n))):>10.5g} {float(m):>9.4f} {float(se):>7.4f}")
    history = [float(v) for v in fit.loss_history]
    line = f"fit: c = {prefactor:.5g}, p = {exponent:.4f}   loss {history[0]:.3g} -> {float(fit.loss):.3g}"
    if theory is not None:
        line += f"   theory 2/alpha = {2 / theory:.4f} ({exponent / (2 / theory) - 1:+.2%})"
    print(line)
    print(f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.json:
        payload = {
            "schema_version": SCHEMA_VERSION,
            "config": {
                "law": law_text,
                "ns": args.n,
                "level": args.level,
                "steps": args.steps,
                "lr": args.lr,
                "contexts": args.contexts,
                "method": method,
                "seed": args.seed,
            },
            "prefactor": prefactor,
            "exponent": exponent,
            "theory_exponent": None if theory is None else 2 / theory,
            "loss": float(fit.loss),
            "loss_history": history,
            "max_weight": [float(v) for v in fit.max_weight],
            "max_weight_stderr": [float(v) for v in fit.max_weight_stderr],
        }
        write_json(args.json, payload)
        print(f"results written to {args.json}", file=sys.stderr)
    return 0
