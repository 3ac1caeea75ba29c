"""Benchmark suite: W1 (kernel), W2 (beta* end to end), W3 (scale), on the CPU.

    python benchmarks/run.py --json results.json               # everything, issue sizes
    python benchmarks/run.py --workloads w1 --reps 5           # one workload
    python benchmarks/run.py --quick --json /tmp/smoke.json    # tiny sizes (smoke test)

Prints a table per workload and writes every figure, the machine and the
versions to ``--json``. See ``benchmarks/README.md`` for what each workload
measures and ``benchmarks/RESULTS.md`` for the numbers.
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's lattn_jax

import workloads as wl  # noqa: E402


def _ints(text: str) -> list[int]:
    return [int(float(x)) for x in text.split(",") if x]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write every figure here")
    p.add_argument("--workloads", default="w1,w2,w3", help="comma-separated subset of w1,w2,w3")
    p.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test (seconds)")
    p.add_argument("--reps", type=int, default=3, help="W1 timed rounds per implementation (medians)")
    p.add_argument("--peers", default="naive-jax,numpy,torch", help="W1 peers (torch is skipped if not installed)")
    p.add_argument("--w1-n", type=int, default=65536)
    p.add_argument("--w1-contexts", type=int, default=256)
    p.add_argument("--w1-d", type=int, default=8)
    p.add_argument("--w1-betas", type=int, default=16)
    p.add_argument("--w2-dims", default="3,4,6")
    p.add_argument("--w2-ns", default="1e3,1e4,1e5,1e6")
    p.add_argument("--w2-contexts", type=int, default=4096, help="first try; raised until the target is met")
    p.add_argument("--w2-target", type=float, default=0.01, help="relative standard error of beta*")
    p.add_argument("--w2-baseline-keys", type=int, default=2**23, help="baseline keys (R n) measured per point")
    p.add_argument("--w3-exponents", default="3,4,5,6,7,8,9,10,11,12,13,14,15")
    p.add_argument("--w3-budget", type=float, default=60.0, help="seconds per W3 point (a fresh process)")
    p.add_argument("--w3-contexts", type=int, default=4)
    p.add_argument("--w3-methods", default="", help="default: every method in lattn_jax._sampling._contexts.METHODS")
    p.add_argument("--w3-child", nargs=5, metavar=("METHOD", "N", "BETA", "CONTEXTS", "D"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.reps = 2
        args.w1_n, args.w1_contexts, args.w1_betas = 2048, 16, 4
        args.w2_dims, args.w2_ns, args.w2_contexts, args.w2_target = "3", "1e3", 1024, 0.05
        args.w3_exponents, args.w3_budget = "3", 60.0
    return args


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def print_w1(res: dict) -> None:
    med, first, comp = res["seconds_median"], res["first_call_seconds"], res["compile_seconds"]
    width = max(map(len, med))
    print(f"{'implementation':>{width}} {'median s':>9} {'first s':>8} {'compile s':>9} {'lattn/peer':>10}")
    for name in med:
        ratio = res["ratio_lattn_over"].get(name)
        ratio = f"{ratio:10.3f}" if ratio is not None and name != "lattn-jax" else " " * 10
        print(f"{name:>{width}} {med[name]:9.3f} {first[name]:8.3f} {comp[name]:9.3f} {ratio}")
    floor = res["floor"]
    for name, form in floor["forms"].items():
        print(f"{name:>{width}} {form['seconds_median']:9.3f} {form['first_call_seconds']:8.3f}")
    label = "floor (faster form per round)"
    print(f"{label:>{width}} {res['floor_seconds']:9.3f} {'':8} {'':9} {res['ratio_lattn_over']['floor']:10.3f}")
    print(
        f"lattn-jax / floor = {res['ratio_lattn_over']['floor']:.3f} (median over rounds; the floor: one fused pass, "
        f"{floor['words_per_key']} random words per key, one exp and one add per key and beta)"
    )
    for name, entry in res["agreement"].items():
        parts = [
            f"{obs}: max |z| = {v['max_abs_z']:.2f}"
            if "max_abs_z" in v
            else f"{obs}: max rel diff {v['max_rel_diff']:.1e}"
            for obs, v in entry.items()
        ]
        verdict = "ok" if all(v["ok"] for v in entry.values()) else "FAIL"
        print(f"  agreement {name} vs lattn-jax: {'; '.join(parts)} -> {verdict}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.w3_child:
        method, n, beta, contexts, d = args.w3_child
        print(json.dumps(wl.w3_child(method, int(n), float(beta), int(contexts), int(d))))
        return 0
    chosen = {w.strip() for w in args.workloads.split(",") if w.strip()}
    unknown = chosen - {"w1", "w2", "w3"}
    if unknown:
        print(f"error: --workloads takes w1, w2, w3; got {sorted(unknown)}", file=sys.stderr)
        return 2
    command = " ".join(["python", "benchmarks/run.py", *(argv or sys.argv[1:])])
    record = {"machine": wl.machine_info(), "command": command}
    m = record["machine"]
    print(f"{m['date_utc']} UTC  {m['nproc']} x {m['cpu']}  load {m['load_average']}  {m['versions']}")
    if "w1" in chosen:
        peers = [p for p in args.peers.split(",") if p]
        if "torch" in peers and not _torch_available():
            print("W1: torch is not installed (pip install -e '.[bench]'); skipping the PyTorch peer")
            peers.remove("torch")
        cfg = wl.W1Config(d=args.w1_d, n=args.w1_n, contexts=args.w1_contexts, num_betas=args.w1_betas)
        res = wl.run_w1(cfg, args.reps, peers)
        print_w1(res)
        record["w1"] = res
    if "w2" in chosen:
        print(f"W2: beta* to {100 * args.w2_target:g}% relative stderr, lattn-jax vs NumPy grid + bisection")
        res = wl.run_w2(_ints(args.w2_dims), _ints(args.w2_ns), args.w2_contexts, args.w2_target, args.w2_baseline_keys)
        print(
            f"W2 total: lattn-jax {res['lattn_seconds']:.1f} s (second run {res['lattn_seconds_steady']:.1f} s), "
            f"baseline {res['baseline_seconds']:.1f} s: x{res['speedup']:.1f} (x{res['speedup_steady']:.1f} steady)"
        )
        record["w2"] = res
    if "w3" in chosen:
        print(f"W3: largest n within {args.w3_budget:g} s per fresh process, d = 3, {args.w3_contexts} contexts")
        methods = [s for s in args.w3_methods.split(",") if s] or None
        res = wl.run_w3(_ints(args.w3_exponents), args.w3_budget, args.w3_contexts, method_list=methods)
        for method, v in res["methods"].items():
            largest = v["largest_n"]
            print(f"  {method:>16}: largest n = {largest:.0e}" if largest else f"  {method:>16}: none")
        record["w3"] = res
    record["machine"]["load_average_end"] = list(os.getloadavg())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, default=_jsonable)
        print(f"wrote {args.json}")
    return 0


def _jsonable(x):
    if isinstance(x, np.ndarray | np.generic):
        return x.tolist()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


if __name__ == "__main__":
    sys.exit(main())
