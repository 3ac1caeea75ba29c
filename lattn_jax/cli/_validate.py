"""``lattn validate``: every theory-vs-simulation comparison, one table."""

import argparse
import sys
import time
from pathlib import Path

from ._common import SCHEMA_VERSION, require_matplotlib, setup_jax, writable, write_json


def _directory(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    return path


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn validate``."""
    from ..checks import CHECK_NAMES, Z_PASS

    parser = sub.add_parser(
        "validate",
        help="compare every theory prediction with the toolkit's own Monte Carlo",
        description=(
            "Run each theory-vs-simulation check at moderate sizes (fixed seeds) and print one table: "
            f"regime, quantity, theory, simulation ± stderr, z, and pass (|z| < {Z_PASS:g}) or FAIL. "
            "Exit code 0 when every comparison passes, 1 otherwise. "
            f"Checks: {', '.join(CHECK_NAMES)}."
        ),
    )
    parser.add_argument(
        "--only", nargs="+", choices=CHECK_NAMES, metavar="CHECK", help="run only these checks (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--json", type=writable, metavar="PATH", help="write the table as JSON (updated per check)")
    parser.add_argument("--plot", type=_directory, metavar="DIR", help="write one figure per check into DIR")
    return parser


def _row_text(c) -> str:
    status = "pass" if c.passed else "FAIL"
    return (
        f"{c.regime:<13} {c.quantity:<52} {c.theory:>11.5g} {c.simulation:>11.5g} ± {c.stderr:<9.2g} "
        f"{c.z:>6.2f}  {status}"
    )


def run(args) -> int:
    """Run ``lattn validate``."""
    if args.plot is not None:
        require_matplotlib("--plot")
        args.plot.mkdir(parents=True, exist_ok=True)
    jax = setup_jax()
    from ..checks import CHECK_NAMES, Z_PASS, get_check

    names = args.only or list(CHECK_NAMES)
    payload = {"schema_version": SCHEMA_VERSION, "config": {"seed": args.seed, "checks": names}, "comparisons": []}
    header = f"{'regime':<13} {'quantity':<52} {'theory':>11} {'simulation':>11}   {'stderr':<9} {'z':>6}  result"
    print(header)
    print("-" * len(header))
    base = jax.random.key(args.seed)
    start = time.perf_counter()
    failed = 0
    for name in names:
        t0 = time.perf_counter()
        # The key depends on the check, not on its place in --only: a check's rows do not change with the selection.
        rows = get_check(name)(jax.random.fold_in(base, CHECK_NAMES.index(name)), plot_dir=args.plot)
        for c in rows:
            print(_row_text(c), flush=True)
            failed += not c.passed
            fields = {k: (v if isinstance(v, str) else float(v)) for k, v in c._asdict().items()}
            payload["comparisons"].append(
                {"check": name, **fields, "z": c.z, "passed": c.passed, "z_threshold": Z_PASS}
            )
        print(f"  ({name}: {time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        if args.json:
            write_json(args.json, payload)
    total = len(payload["comparisons"])
    print(f"\n{total - failed}/{total} comparisons pass (|z| < {Z_PASS:g}) in {time.perf_counter() - start:.0f} s")
    if args.plot:
        print(f"figures written to {args.plot}", file=sys.stderr)
    return 0 if failed == 0 else 1
