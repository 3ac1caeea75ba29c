"""W1-W3 on one accelerator in one script (under 5 minutes), with throughput
beside the device's memory-bandwidth bound. Runs on the CPU too (``--quick``).

    python benchmarks/gpu.py --json gpu.json            # on a GPU/TPU machine
    python benchmarks/gpu.py --quick --json /tmp/g.json # anywhere, tiny sizes

W1 times lattn-jax, naive JAX and the floor (random numbers + one fused pass per
beta); throughput is keys per second and the bytes the R n d float32 normals
would take if written to memory once (the floor of any materializing
implementation), next to the device's HBM bandwidth. W2 times
``find_critical_beta`` to 1% over the issue's (d, n) grid. W3 grows n per method
in this process (no subprocess: device start-up is slow) until a point takes
longer than ``--w3-budget`` seconds or fails, with the device's peak memory.
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import workloads as wl  # noqa: E402

import lattn_jax as lj  # noqa: E402

# Peak memory bandwidth, bytes/s, from the vendors' data sheets (device_kind as JAX reports it).
BANDWIDTH = {
    "NVIDIA H200": 4.8e12,
    "NVIDIA H100 80GB HBM3": 3.35e12,
    "NVIDIA H100 PCIe": 2.0e12,
    "NVIDIA A100-SXM4-80GB": 2.039e12,
    "NVIDIA A100-SXM4-40GB": 1.555e12,
    "NVIDIA L4": 0.3e12,
    "TPU v4": 1.2e12,
    "TPU v5 lite": 0.819e12,
    "TPU v5p": 2.765e12,
}


def bandwidth(kind: str) -> float | None:
    """The HBM bandwidth of a device kind, matching a known prefix (``None`` if unknown)."""
    for name in sorted(BANDWIDTH, key=len, reverse=True):
        if kind.startswith(name):
            return BANDWIDTH[name]
    return None


def peak_memory_bytes() -> tuple[int, str]:
    """Peak device memory in use so far, or this process's peak RSS on the CPU."""
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"]), "device peak_bytes_in_use (monotone over the run)"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "process peak RSS (monotone over the run)"


def w3_in_process(method: str, exponents: list[int], budget: float, contexts: int, deadline: float, log) -> dict:
    law = lj.UniformSphere(3)
    points, largest = [], None
    for k in exponents:
        if time.perf_counter() > deadline:
            points.append({"n": 10**k, "status": "skipped: script time limit"})
            break
        n = 10**k
        try:
            beta = float(lj.find_critical_beta(law, n, jax.random.key(k), num_contexts=1024).beta)
            t, est = wl.timed(lambda n=n, beta=beta: wl.w3_child(method, n, beta, contexts, 3))
            status = "ok" if est["seconds"] <= budget else "over budget"
        except Exception as err:  # out of device memory, mostly
            points.append({"n": n, "status": f"failed: {type(err).__name__}: {str(err)[:200]}"})
            log(f"  {method:>16} n=1e{k:<2} failed: {type(err).__name__}")
            break
        mem, mem_kind = peak_memory_bytes()
        points.append({"n": n, "beta": beta, "status": status, "seconds": est["seconds"], "peak_memory_bytes": mem})
        log(
            f"  {method:>16} n=1e{k:<2} {est['seconds']:7.2f} s  peak {mem / 2**30:6.2f} GiB  "
            f"E[max w] = {est['mean']:.3f} ± {est['stderr']:.3f}  {n * contexts / est['seconds']:.3g} keys/s"
        )
        if status != "ok":
            break
        largest = n
    return {"largest_n": largest, "points": points, "memory_kind": mem_kind if points else None}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--quick", action="store_true", help="tiny sizes (for a CPU check of the script)")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--w1-contexts", type=int, default=1024, help="W1 contexts (the CPU suite uses 256)")
    p.add_argument("--w3-budget", type=float, default=20.0, help="seconds per W3 point")
    p.add_argument("--time-limit", type=float, default=270.0, help="stop starting W3 points after this")
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    deadline = t_start + args.time_limit
    log = print
    record = {
        "machine": wl.machine_info(),
        "command": " ".join(["python", "benchmarks/gpu.py", *(argv or sys.argv[1:])]),
    }
    kind = record["machine"]["device_kind"]
    bw = bandwidth(kind)
    record["bandwidth_bytes_per_second"] = bw
    log(f"device: {kind} ({jax.default_backend()}), bandwidth bound {bw / 1e12 if bw else float('nan'):.2f} TB/s")

    if args.quick:
        cfg = wl.W1Config(n=2048, contexts=16, num_betas=4)
        reps, dims, ns, exponents = 2, [3], [1000], [3]
    else:
        cfg = wl.W1Config(contexts=args.w1_contexts)
        reps, dims, ns, exponents = args.reps, [3, 4, 6], [1000, 10_000, 100_000, 1_000_000], list(range(3, 16))
    res = wl.run_w1(cfg, reps, peers=["naive-jax"], log=log)
    keys = cfg.contexts * cfg.n
    normal_bytes = keys * cfg.d * 4
    res["materialized_bytes"] = normal_bytes
    res["bytes_per_second"] = {name: normal_bytes / t for name, t in res["seconds_median"].items()}
    res["bandwidth_fraction"] = {name: (v / bw if bw else None) for name, v in res["bytes_per_second"].items()}
    width = max(map(len, res["seconds_median"]))
    log(f"{'implementation':>{width}} {'median s':>9} {'compile s':>9} {'Gkeys/s':>8} {'GB/s':>8} {'of bound':>8}")
    for name, t in res["seconds_median"].items():
        frac = res["bandwidth_fraction"][name]
        log(
            f"{name:>{width}} {t:9.4f} {res['compile_seconds'][name]:9.2f} {keys / t / 1e9:8.3f} "
            f"{normal_bytes / t / 1e9:8.1f} {'' if frac is None else f'{100 * frac:7.1f}%'}"
        )
    log(f"lattn-jax / floor = {res['ratio_lattn_over']['floor']:.3f}; agreement ok: {res['agreement_ok']}")
    record["w1"] = res

    log("W2: beta* to 1% (lattn-jax only; the NumPy baseline is the CPU suite's)")
    rows = []
    for d in dims:
        for j, n in enumerate(ns):
            key = jax.random.fold_in(jax.random.key(0), 100 * d + j)
            t, crit = wl.timed(lambda d=d, n=n, key=key: lj.find_critical_beta(lj.UniformSphere(d), n, key))
            t2, _ = wl.timed(lambda d=d, n=n, key=key: lj.find_critical_beta(lj.UniformSphere(d), n, key))
            rel = float(crit.stderr / crit.beta)
            rows.append({"d": d, "n": n, "seconds": t, "seconds_steady": t2, "beta": float(crit.beta), "rel": rel})
            log(
                f"  d={d} n={n:.0e}: {t:6.2f} s ({t2:6.3f} s compiled)  "
                f"beta* = {float(crit.beta):.4g} ({100 * rel:.2f}%)"
            )
    record["w2"] = {"rows": rows, "seconds": sum(r["seconds"] for r in rows)}

    log(f"W3: largest n per method with a point under {args.w3_budget:g} s (d = 3, 4 contexts)")
    record["w3"] = {m: w3_in_process(m, exponents, args.w3_budget, 4, deadline, log) for m in wl.methods()}
    for m, v in record["w3"].items():
        log(f"  {m:>16}: largest n = {v['largest_n']:.0e}" if v["largest_n"] else f"  {m:>16}: none")
    record["total_seconds"] = time.perf_counter() - t_start
    log(f"total {record['total_seconds']:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, default=lambda x: np.asarray(x).tolist())
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
