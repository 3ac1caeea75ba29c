"""``lattn regime``: where practical temperature schedules put attention along n."""

import argparse
import math
import sys
import time

from ._common import (
    SCHEMA_VERSION,
    UsageError,
    check_n_max,
    count,
    integer,
    require_matplotlib,
    setup_jax,
    writable,
    write_json,
)
from ._runlog import progress


def n_range(text: str) -> list[int]:
    """``A:B`` (one point per decade, ``A`` and ``B`` included), ``A:B:K`` (``K``
    log-spaced points) or a comma-separated list, e.g. ``1e3:1e7``; sorted,
    without repeats. Parsed only: the sizes are checked with the library's
    ``check_sizes`` when the command runs."""
    parts = text.split(":")
    if len(parts) == 1:
        return sorted({count(p) for p in text.split(",")})
    if len(parts) > 3:
        raise argparse.ArgumentTypeError(f"expected A:B, A:B:K or a list such as 1e3,1e4, got {text!r}")
    lo, hi = count(parts[0]), count(parts[1])
    if not 0 < lo < hi:  # a log-spaced grid
        raise argparse.ArgumentTypeError(f"expected 0 < A < B in A:B, got {text!r}")
    num = count(parts[2]) if len(parts) == 3 else round(math.log10(hi / lo)) + 1
    if num < 2:
        raise argparse.ArgumentTypeError(f"expected at least 2 points in A:B:K, got {text!r}")
    step = (math.log(hi) - math.log(lo)) / (num - 1)
    return sorted({round(math.exp(math.log(lo) + i * step)) for i in range(num)})


def add_law_arguments(parser: argparse.ArgumentParser, dim: int = 64) -> None:
    """``--dim`` (uniform keys), ``--keys PATH.npy`` [``--query PATH.npy``] or ``--simplex RHO``."""
    parser.add_argument("--dim", type=integer("3 or 64"), default=dim, help=f"dimension d of the keys (default: {dim})")
    parser.add_argument("--keys", metavar="PATH", help="a .npy array of keys (N, d) instead of uniform keys")
    parser.add_argument("--query", metavar="PATH", help="a .npy query vector (d,) for --keys (default: mean key)")
    parser.add_argument(
        "--simplex", type=float, metavar="RHO", help="the almost-simplex of arXiv 2510.05554 with correlation RHO, in d"
    )


def make_law(args):
    """The law the law arguments name."""
    import numpy as np

    from .._laws import UniformSphere
    from .._laws._empirical import EmpiricalKeys, load_keys

    if args.simplex is not None and args.keys is not None:
        raise UsageError("--simplex and --keys exclude each other")
    if args.simplex is not None:
        from .._laws._simplex import Simplex

        if args.dim < 3:  # Simplex checks d too, but only the CLI knows it comes from --simplex
            raise UsageError(f"--dim must be >= 3 for --simplex, got {args.dim}")
        return Simplex(args.simplex, args.dim), f"almost-simplex, rho = {args.simplex}, d = {args.dim}"
    if args.keys is None:
        if args.query is not None:
            raise UsageError("--query needs --keys")
        return UniformSphere(args.dim), f"uniform keys on S^{args.dim - 1}"
    query = None
    if args.query is not None:
        try:
            query = np.load(args.query, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read --query {args.query!r} ({err})") from None
    law = EmpiricalKeys(load_keys(args.keys), query=query)
    if max(args.n) > law.size:  # checked here, before anything is printed
        raise UsageError(
            f"--n must be <= {law.size}, the number of keys in --keys {args.keys} (a context is n distinct keys; "
            f"drawn with replacement, repeats would cap E[max weight] near {law.size}/n), got {max(args.n)}"
        )
    return law, f"keys from {args.keys}"


def check_method(law, method: str, n_max: int, law_text: str) -> None:
    """``--method`` usable with the law, and ``--n`` within what it supports
    (before anything is printed)."""
    from .._sampling._contexts import resolve_method
    from .._validation import ArgumentTypeError, ArgumentValueError, default_float

    try:
        resolve_method(law, method, n_max)
    except (ArgumentValueError, ArgumentTypeError) as err:
        raise UsageError(f"--method {method}: {err}") from None
    check_n_max(n_max, law, method, default_float(), law_text)


def make_schedules(names: list[str], base: float) -> list[tuple]:
    """``(name, schedule)`` for each ``--schedule`` name; a bad one names the
    flag and the name (a bad ``base`` is the library's to name: ``--base``)."""
    from .._schedules._schedule import schedule_from_name
    from .._validation import ArgumentTypeError, ArgumentValueError

    schedules = []
    for name in names:
        try:
            schedules.append((name, schedule_from_name(name, base=base)))
        except (ArgumentValueError, ArgumentTypeError) as err:
            if err.argument == "base":
                raise
            raise UsageError(f"--schedule {name}: {err}") from None
    return schedules


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn regime``."""
    cmd = sub.add_parser(
        "regime",
        help="where temperature schedules put attention along n, relative to beta*(n)",
        description=(
            "For each schedule and context size n: beta(n), the critical beta*(n) (E[max weight] = 1/2), "
            "their ratio, E[max weight] and E[H] at beta(n), and the regime: sub-critical if "
            "beta/beta* < 1/band, super-critical if > band, critical in between."
        ),
    )
    cmd.add_argument(
        "--schedule",
        nargs="+",
        default=["qwen"],
        metavar="NAME",
        help="qwen[:L] yarn[:L] longrope[:L] ssmax[:s] llama4[:a,f] constant:B power:C,P (default: qwen)",
    )
    add_law_arguments(cmd)
    cmd.add_argument("--n", type=n_range, default=n_range("1e3:1e7"), help="A:B, A:B:K or a list (default: 1e3:1e7)")
    cmd.add_argument(
        "--base",
        type=float,
        help="base beta the schedules multiply: |q||k|/sqrt(d_head) (default: sqrt(d), i.e. unit-variance q and k)",
    )
    cmd.add_argument("--band", type=float, default=2.0, help="critical band factor > 1 (default: 2)")
    cmd.add_argument("--contexts", type=count, default=1024, help="contexts per n (default: 1024)")
    cmd.add_argument(
        "--method",
        choices=["auto", "dense", "order-statistics"],
        help="context sampling (default: order-statistics for uniform keys, at any d; dense for --keys)",
    )
    cmd.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    cmd.add_argument("--json", type=writable, metavar="PATH", help="write the table as JSON")
    cmd.add_argument("--plot", type=writable, metavar="PATH", help="write a PNG: beta(n) of each schedule and beta*(n)")
    cmd.add_argument("--quiet", action="store_true", help="no progress bar or timing on stderr")
    return cmd


def run(args) -> int:
    """Run ``lattn regime``."""
    if args.contexts < 2:
        raise UsageError(f"--contexts must be >= 2, got {args.contexts}")
    if not (math.isfinite(args.band) and args.band > 1):
        raise UsageError(f"--band must be > 1 and finite, got {args.band}")
    if args.plot is not None:
        require_matplotlib("--plot")
    jax = setup_jax()
    from .._laws import AbstractGapLaw
    from .._schedules._regime import critical_betas, regime_map
    from .._validation import check_sizes

    check_sizes("ns", args.n, minimum=2, sequence=True)
    law, law_text = make_law(args)
    base = args.base if args.base is not None else math.sqrt(law.dim)
    schedules = make_schedules(args.schedule, base)
    method = args.method or ("order-statistics" if isinstance(law, AbstractGapLaw) else "dense")
    check_method(law, method, max(args.n), law_text)
    ns = args.n
    start = time.perf_counter()
    key_crit, key_est = jax.random.split(jax.random.key(args.seed))
    print(f"{law_text}; base beta = {base:.4g}; beta* where E[max weight] = 1/2 ({args.contexts} contexts, {method})")
    with progress(2 * len(ns), args.quiet) as bar:
        bar.start("beta*(n)")
        beta_star, beta_star_se = critical_betas(
            law, ns, key_crit, num_contexts=args.contexts, method=method, callback=lambda n: bar.advance()
        )
        bar.start("E[max w] and E[H] at the schedules' beta(n)")
        maps = regime_map(
            law,
            [schedule for _, schedule in schedules],
            ns,
            key_est,
            num_contexts=args.contexts,
            critical=(beta_star, beta_star_se),
            band=args.band,
            method=method,
            callback=lambda n: bar.advance(),
        )
    payload = {
        "schema_version": SCHEMA_VERSION,
        "config": {
            "law": law_text,
            "dim": law.dim,
            "ns": ns,
            "base": base,
            "band": args.band,
            "contexts": args.contexts,
            "method": method,
            "seed": args.seed,
        },
        "critical": [
            {"n": n, "beta": float(b), "stderr": float(s)} for n, b, s in zip(ns, beta_star, beta_star_se, strict=True)
        ],
        "schedules": [],
    }
    for (name, _), m in zip(schedules, maps, strict=True):
        print(f"\nschedule {name}")
        print(f"{'n':>10} {'beta':>9} {'beta*':>9} {'ratio':>7} {'E[max w]':>9} {'±':>7} {'E[H]':>7} {'±':>6}  regime")
        rows = []
        for i, label in enumerate(m.labels):
            row = {
                "n": ns[i],
                "beta": float(m.beta[i]),
                "beta_star": float(m.beta_star[i]),
                "ratio": float(m.ratio[i]),
                "max_weight": float(m.max_weight[i]),
                "max_weight_stderr": float(m.max_weight_stderr[i]),
                "entropy": float(m.entropy[i]),
                "entropy_stderr": float(m.entropy_stderr[i]),
                "regime": label,
            }
            rows.append(row)
            print(
                f"{row['n']:>10} {row['beta']:>9.4g} {row['beta_star']:>9.4g} {row['ratio']:>7.3f} "
                f"{row['max_weight']:>9.4f} {row['max_weight_stderr']:>7.4f} {row['entropy']:>7.3f} "
                f"{row['entropy_stderr']:>6.3f}  {label}",
                flush=True,
            )
        payload["schedules"].append({"name": name, "rows": rows})
    if not args.quiet:
        print(f"\n{time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.json:
        write_json(args.json, payload)
        print(f"results written to {args.json}", file=sys.stderr)
    if args.plot:
        from ._plot import plot_regime

        plot_regime(payload, args.plot)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0
