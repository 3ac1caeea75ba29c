"""``lattn critical``: measure beta*(n) and fit its exponent."""

import argparse
import math
import sys
import time

from ._common import (
    LAW_SPECS,
    LEVEL_RANGE,
    SCHEMA_VERSION,
    UsageError,
    check_interrupted,
    check_level,
    check_n_max,
    count,
    integer,
    law_name,
    law_spec,
    make_law,
    require_matplotlib,
    setup_jax,
    writable,
    write_json,
)
from ._runlog import RunLog, progress, write_csv

# Columns of --csv, in order (after schema_version); the same fields as a --json result row.
CSV_COLUMNS = ["d", "n", "beta", "stderr", "iterations", "converged", "check_max_weight", "check_stderr", "check_z"]
# Config fields --resume does not match: the grid (finished points are skipped, new ones added) and
# what only changes the fits, which are recomputed from all points.
_NOT_MATCHED = ("dims", "ns", "finite_size")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn critical``."""
    crit = sub.add_parser(
        "critical",
        help="measure beta*(n) and fit its exponent against 2/(d-1)",
        description=(
            "For each dimension d and context size n, find beta* where E[max attention weight] = level "
            "over random contexts of n keys on S^{d-1} (uniform by default, see --law), re-check E[max weight] "
            "at beta* on fresh contexts, and fit beta* ~ c n^p against the theory p = 2/alpha "
            "(alpha = d-1 for uniform keys: the local exponent of the distance to the query)."
        ),
    )
    crit.add_argument(
        "--dim",
        type=integer("3 or 64"),
        nargs="+",
        default=[3, 4, 6],
        metavar="D",
        help="dimensions d >= 2 (default: 3 4 6)",
    )
    crit.add_argument(
        "--n",
        type=count,
        nargs="+",
        default=[100, 1000, 10000, 100000],
        metavar="N",
        help="context sizes n >= 2, e.g. 1e3; at most 1e15 (2.1e9 with --method dense) (default: 1e2 1e3 1e4 1e5)",
    )
    crit.add_argument(
        "--law",
        type=law_spec,
        default=("uniform", None),
        metavar="LAW",
        help=f"the keys' law: {LAW_SPECS} (default: uniform)",
    )
    crit.add_argument(
        "--finite-size",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "also fit beta* = c n^p F(n) with the theory's exact finite-size factor F(n) -> 1 "
            "(F ~ 1 + kappa n^-(2/alpha)), beside the plain fit (default: on for --criterion max_weight)"
        ),
    )
    crit.add_argument("--level", type=float, default=0.5, help=f"target E[max weight], {LEVEL_RANGE} (default: 0.5)")
    crit.add_argument("--contexts", type=count, default=4096, help="contexts for the search (default: 4096)")
    crit.add_argument(
        "--check-contexts", type=count, default=2048, help="fresh contexts for the re-check at beta* (default: 2048)"
    )
    crit.add_argument(
        "--criterion",
        choices=["max_weight", "entropy_curvature"],
        default="max_weight",
        help="what defines beta* (default: max_weight)",
    )
    crit.add_argument(
        "--method",
        choices=["auto", "dense", "order-statistics", "streaming"],
        default="auto",
        help="how contexts are sampled (default: auto)",
    )
    crit.add_argument(
        "--devices",
        type=_devices,
        default=None,
        metavar="all|N",
        help="split the contexts over all devices or the first N (default: one device; 'all' with --coordinator)",
    )
    crit.add_argument(
        "--coordinator",
        metavar="HOST:PORT|auto",
        help="join a multi-process run through jax.distributed (process 0's address; "
        "'auto' detects SLURM, Open MPI or a TPU pod); only process 0 prints and writes files",
    )
    crit.add_argument(
        "--num-processes", type=integer("2 or 8"), metavar="P", help="processes in the run (with --coordinator)"
    )
    crit.add_argument("--process-id", type=int, metavar="I", help="this process, 0..P-1 (with --coordinator)")
    crit.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    crit.add_argument("--x64", action="store_true", help="compute in float64")
    crit.add_argument("--json", type=writable, metavar="PATH", help="write results as JSON (updated after every point)")
    crit.add_argument("--plot", type=writable, metavar="PATH", help="write a PNG of beta* against n with the fits")
    crit.add_argument(
        "--csv", type=writable, metavar="PATH", help="write the result rows as CSV (updated after every point)"
    )
    crit.add_argument(
        "--jsonl",
        type=writable,
        metavar="PATH",
        help="append each finished point to a JSONL log as it completes (resumable with --resume)",
    )
    crit.add_argument(
        "--resume",
        action="store_true",
        help="continue the run logged in --jsonl PATH: skip its finished points (its config must match)",
    )
    crit.add_argument("--quiet", action="store_true", help="no progress bar or timing on stderr")
    return crit


def _devices(text: str) -> str | int:
    """``all`` or a device count >= 1."""
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'all' or a device count such as 4, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'all' or a device count >= 1, got {text!r}")
    return value


def _validate_distributed(args) -> None:
    given = [args.num_processes is not None, args.process_id is not None]
    if args.coordinator is None:
        if any(given):
            raise UsageError("--num-processes and --process-id need --coordinator HOST:PORT")
        return
    if args.coordinator == "auto":
        if any(given):
            raise UsageError("--coordinator auto detects --num-processes and --process-id; do not give them")
        return
    host, _, port = args.coordinator.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--coordinator must be HOST:PORT (port 1..65535) or 'auto', got {args.coordinator!r}")
    if not all(given):
        raise UsageError("--coordinator HOST:PORT needs --num-processes P and --process-id I")
    if args.num_processes < 1:
        raise UsageError(f"--num-processes must be >= 1, got {args.num_processes}")
    if not 0 <= args.process_id < args.num_processes:
        raise UsageError(f"--process-id must be in [0, {args.num_processes - 1}], got {args.process_id}")


def _setup_devices(args, jax):
    """Join the distributed run if asked; the ``devices`` argument for the library.
    Raises UsageError when more devices are asked for than exist."""
    if args.coordinator == "auto":
        jax.distributed.initialize()
    elif args.coordinator is not None:
        jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    devices = args.devices if args.devices is not None else ("all" if args.coordinator else None)
    available = len(jax.devices())
    if isinstance(devices, int) and devices > available:
        raise UsageError(f"--devices {devices}: only {available} device(s) available")
    return devices


def _validate(args) -> None:
    for d in args.dim:
        if d < 2:
            raise UsageError(f"--dim must be >= 2, got {d}")
    from .._validation import check_sizes

    check_sizes("ns", args.n, minimum=2, sequence=True)  # here, not per point: a bad n late in the grid loses nothing
    check_level(args.level, min(args.n))
    if args.finite_size and args.criterion != "max_weight":
        raise UsageError("--finite-size applies to --criterion max_weight (the theory's kappa is for that criterion)")
    if args.finite_size is None:
        args.finite_size = args.criterion == "max_weight"
    if args.contexts < 2:
        raise UsageError(f"--contexts must be >= 2, got {args.contexts}")
    if args.check_contexts < 2:
        raise UsageError(f"--check-contexts must be >= 2, got {args.check_contexts}")
    if args.resume and args.jsonl is None:
        raise UsageError("--resume needs --jsonl PATH, the log of the run to continue")
    _validate_distributed(args)
    if args.plot is not None:
        require_matplotlib("--plot")


def _check_n_max(args, laws: dict, dtype) -> None:
    """Every ``--n`` within what its method and the float range support (names ``--n``)."""
    for d, law in laws.items():
        where = f"d = {d}" if args.law[0] == "uniform" else f"d = {d}, --law {law_name(args.law)}"
        check_n_max(max(args.n), law, args.method, dtype, where, "" if args.x64 else "; --x64 allows more")


def _fit_record(d: int, rows: list[dict], theory: float, factors=None) -> dict | None:
    from .._fit import fit_power_law

    if len(rows) < 2:
        return None
    data = [r["n"] for r in rows], [r["beta"] for r in rows], [r["stderr"] for r in rows]
    fit = fit_power_law(*data, factors=factors)
    exponent, se = float(fit.exponent), float(fit.exponent_stderr)
    return {
        "d": d,
        "factors": None if factors is None else [float(f) for f in factors],
        "exponent": exponent,
        "exponent_stderr": se,
        "theory_exponent": theory,
        "z": (exponent - theory) / se,
        "prefactor": float(fit.prefactor),
        "prefactor_stderr": float(fit.prefactor_stderr),
        "chi2": float(fit.chi2),
        "dof": fit.dof,
    }


def run(args) -> int:
    """Run ``lattn critical``."""
    _validate(args)
    jax = setup_jax(args.x64)
    laws = {d: make_law(args.law, d) for d in args.dim}  # bad combinations fail before any work
    _check_n_max(args, laws, jax.numpy.dtype("float64" if args.x64 else "float32"))
    devices = _setup_devices(args, jax)
    say = print
    if jax.process_index() != 0:  # every process computes the same results; process 0 reports them
        args.json = args.plot = args.csv = args.jsonl = None
        args.quiet = True

        def say(*_, **__):
            return None

    from .._critical import find_critical_beta
    from .._estimators import mc_estimate
    from .._observables import max_weight
    from ..theory import critical_constant, critical_exponent, finite_size_coefficient, finite_size_factors

    ns = sorted(set(args.n))
    config = {
        "dims": args.dim,
        "ns": ns,
        "level": args.level,
        "contexts": args.contexts,
        "check_contexts": args.check_contexts,
        "criterion": args.criterion,
        "method": args.method,
        "seed": args.seed,
        "x64": args.x64,
        "law": law_name(args.law),
        "finite_size": args.finite_size,
        "devices": len(jax.devices()) if devices == "all" else (devices or 1),
        "processes": jax.process_count(),
    }
    payload = {"schema_version": SCHEMA_VERSION, "config": config, "results": [], "fits": [], "finite_size_fits": []}
    log = None
    if args.jsonl:
        matched = {k: v for k, v in config.items() if k not in _NOT_MATCHED}
        log = RunLog.open(args.jsonl, "critical", matched, args.resume)
    finished = {(r["d"], r["n"]): {k: v for k, v in r.items() if k != "kind"} for r in log.done} if log else {}
    todo = sum((d, n) not in finished for d in args.dim for n in ns)
    if finished and not args.quiet:
        say(f"resuming {args.jsonl}: {len(args.dim) * len(ns) - todo} points done, {todo} to run", file=sys.stderr)
    base = jax.random.key(args.seed)
    start = time.perf_counter()
    with progress(todo, args.quiet) as bar:
        for d in args.dim:
            law = laws[d]
            theory = float(critical_exponent(law))
            uniform = args.law[0] == "uniform"
            theory_label = "2/(d-1)" if uniform else "2/alpha"
            where = f"d = {d}" if uniform else f"d = {d}, law {law_name(args.law)} (alpha = {law.local_exponent:g})"
            say(
                f"\n{where}: beta* where E[max weight] = {args.level}"
                if args.criterion == "max_weight"
                else f"\n{where}: beta* at the peak of d2E[H]/dlog(beta)2"
            )
            header = ["n".rjust(9), "beta*".rjust(11), "± stderr".rjust(10), "rel".rjust(6)]
            header += ["E[max w] at beta*".rjust(19), "± stderr".rjust(8), "z".rjust(6), "iters".rjust(5)]
            say(" ".join(header))
            rows = []
            for n in ns:
                if (d, n) in finished:  # resumed from the --jsonl log
                    row = finished[(d, n)]
                    rows.append(row)
                    payload["results"].append(row)
                    _print_row(row, say, resumed=True)
                    continue
                check_interrupted()
                bar.start(f"d={d} n={n}")
                k_search, k_check = jax.random.split(jax.random.fold_in(jax.random.fold_in(base, d), n % (2**31)))
                crit = find_critical_beta(
                    law,
                    n,
                    k_search,
                    level=args.level,
                    num_contexts=args.contexts,
                    criterion=args.criterion,
                    method=args.method,
                    devices=devices,
                    on_step=None if args.quiet else lambda it, b, _: bar.step(f"iteration {it}: beta = {b:.5g}"),
                )
                bar.step("checking")
                check = mc_estimate(
                    max_weight, law, n, crit.beta, k_check, args.check_contexts, method=args.method, devices=devices
                )
                beta, se = float(crit.beta), float(crit.stderr)
                check_mean, check_se = float(check.mean), float(check.stderr)
                # The search's own noise moves beta*, and so the check, by ~ slope * se(log beta*).
                search_se = abs(float(crit.slope)) * se / beta if args.criterion == "max_weight" else 0.0
                z = (check_mean - args.level) / math.hypot(check_se, search_se)
                row = {
                    "d": d,
                    "n": n,
                    "beta": beta,
                    "stderr": se,
                    "iterations": int(crit.iterations),
                    "converged": bool(crit.converged),
                    "check_max_weight": check_mean,
                    "check_stderr": check_se,
                    "check_z": z if args.criterion == "max_weight" else None,
                }
                rows.append(row)
                payload["results"].append(row)
                if log:
                    log.append(row)
                _print_row(row, say)
                if args.json:
                    write_json(args.json, payload)
                if args.csv:
                    write_csv(args.csv, CSV_COLUMNS, payload["results"])
                bar.advance()
            fit = _fit_record(d, rows, theory)
            if fit is not None:
                payload["fits"].append(fit)
                say(
                    f"fit: beta* = {fit['prefactor']:.4g} n^p with p = {fit['exponent']:.4f} "
                    f"± {fit['exponent_stderr']:.4f}   theory {theory_label} = {theory:.4f}   "
                    f"(z = {fit['z']:+.2f}{_chi2_text(fit)})"
                )
                if args.finite_size:
                    factors = finite_size_factors(law, [r["n"] for r in rows], args.level)
                    corrected = _fit_record(d, rows, theory, factors)
                    corrected["kappa"] = float(finite_size_coefficient(law, args.level))
                    corrected["theory_prefactor"] = float(critical_constant(law, args.level))
                    payload["finite_size_fits"].append(corrected)
                    say(
                        f"finite-size fit: beta* = c n^p F(n), F exact "
                        f"(~ 1 {corrected['kappa']:+.3f} n^-{theory:.3g}): "
                        f"p = {corrected['exponent']:.4f} ± {corrected['exponent_stderr']:.4f}   "
                        f"(z = {corrected['z']:+.2f}{_chi2_text(corrected)}), "
                        f"c = {corrected['prefactor']:.4g} (theory {corrected['theory_prefactor']:.4g})"
                    )
            if args.json:
                write_json(args.json, payload)
            if args.csv:
                write_csv(args.csv, CSV_COLUMNS, payload["results"])
    if not args.quiet:
        say(f"\n{time.perf_counter() - start:.1f} s", file=sys.stderr)
    if args.plot:
        from ._plot import plot_critical

        plot_critical(payload, args.plot)
        say(f"plot written to {args.plot}", file=sys.stderr)
    for path in (args.json, args.csv, args.jsonl):
        if path:
            say(f"results written to {path}", file=sys.stderr)
    return 0


def _chi2_text(fit: dict) -> str:
    """``, chi2/dof = X/K``, or a note when two points leave no degrees of freedom."""
    if fit["dof"] < 1:
        return ", two points: no chi2 test"
    return f", chi2/dof = {fit['chi2']:.1f}/{fit['dof']}"


def _n_text(n: int) -> str:
    """``n`` in at most 9 characters: the integer, or ``1e+19``-style past 9 digits."""
    return str(n) if n < 10**9 else f"{n:.4g}"


def _print_row(row: dict, say=print, resumed: bool = False) -> None:
    beta, se = row["beta"], row["stderr"]
    z_text = f"{row['check_z']:6.2f}" if row["check_z"] is not None else f"{'':>6}"
    flag = ("" if row["converged"] else "  (not converged)") + ("  (resumed)" if resumed else "")
    say(
        f"{_n_text(row['n']):>9} {beta:>11.5g} {se:>10.3g} {se / beta:>6.2%} {row['check_max_weight']:>19.4f} "
        f"{row['check_stderr']:>8.4f} {z_text} {row['iterations']:>5}{flag}",
        flush=True,
    )
