"""The benchmark workloads W1-W3, shared by ``run.py`` (CPU) and ``gpu.py``.

Every implementation returns plain NumPy numbers so the scripts can check that
they agree before comparing their speed. Timing helpers block on the result
(``jax.block_until_ready``) so asynchronous dispatch is not mistaken for speed.
"""

import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import lattn_jax as lj

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------- machine


def machine_info() -> dict:
    """Machine, load and versions, for the JSON record."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {"python": platform.python_version(), "jax": jax.__version__, "numpy": np.__version__}
    for name in ("jaxlib", "torch", "lattn_jax"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = None
    try:
        commit = subprocess.run(
            ["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    device = jax.devices()[0]
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "platform": platform.platform(),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "load_average": list(os.getloadavg()),
        "jax_backend": jax.default_backend(),
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "versions": versions,
        "lattn_jax_commit": commit,
    }


# --------------------------------------------------------------------------- timing


def block(x):
    return jax.block_until_ready(x)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t = time.perf_counter()
    out = block(fn())
    return time.perf_counter() - t, out


def alternate(impls: dict[str, Callable[[], object]], reps: int) -> tuple[dict, dict, dict]:
    """Run every implementation once (first call: compilation included), then
    ``reps`` rounds in a rotating order. Returns (first-call times, per-round
    steady-state times, last outputs)."""
    first, outputs = {}, {}
    for name, fn in impls.items():
        first[name], outputs[name] = timed(fn)
    rounds = {name: [] for name in impls}
    names = list(impls)
    for r in range(reps):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t, outputs[name] = timed(impls[name])
            rounds[name].append(t)
    return first, rounds, outputs


# --------------------------------------------------------------------------- W1


@dataclasses.dataclass(frozen=True)
class W1Config:
    d: int = 8
    n: int = 65536
    contexts: int = 256
    num_betas: int = 16
    beta_min: float = 1.0
    beta_max: float = 1000.0
    seed: int = 0
    chunk: int = 16  # contexts per chunk in the NumPy/PyTorch/naive-JAX loops

    @property
    def betas(self) -> np.ndarray:
        return np.geomspace(self.beta_min, self.beta_max, self.num_betas).astype(np.float32)


def _summary(values: np.ndarray) -> dict:
    """Mean and standard error over contexts (axis 0) of per-context values."""
    values = np.asarray(values, np.float64)
    return {"mean": values.mean(0), "stderr": values.std(0, ddof=1) / math.sqrt(values.shape[0])}


def w1_numpy(cfg: W1Config) -> dict:
    """Plain NumPy: a loop over context chunks and over beta, softmax by hand."""
    rng = np.random.default_rng(cfg.seed)
    ent, mw = [], []
    for start in range(0, cfg.contexts, cfg.chunk):
        c = min(cfg.chunk, cfg.contexts - start)
        x = rng.standard_normal((c, cfg.n, cfg.d), dtype=np.float32)
        keys = x / np.linalg.norm(x, axis=-1, keepdims=True)
        dots = keys[..., 0]  # <q, k> with q = e_1
        e_b, m_b = [], []
        for beta in cfg.betas:
            z = beta * dots
            z -= z.max(axis=-1, keepdims=True)
            log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            p = np.exp(log_p)
            e_b.append(-(p * log_p).sum(axis=-1))
            m_b.append(p.max(axis=-1))
        ent.append(np.stack(e_b, -1))
        mw.append(np.stack(m_b, -1))
    return {"entropy": _summary(np.concatenate(ent)), "max_weight": _summary(np.concatenate(mw))}


def w1_torch(cfg: W1Config) -> dict:
    """PyTorch on the CPU: the same loop with torch.randn and torch.log_softmax."""
    import torch

    gen = torch.Generator().manual_seed(cfg.seed)
    betas = torch.from_numpy(cfg.betas)
    ent, mw = [], []
    with torch.no_grad():
        for start in range(0, cfg.contexts, cfg.chunk):
            c = min(cfg.chunk, cfg.contexts - start)
            x = torch.randn((c, cfg.n, cfg.d), generator=gen, dtype=torch.float32)
            keys = x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)
            dots = keys[..., 0]
            e_b, m_b = [], []
            for beta in betas:
                log_p = torch.log_softmax(beta * dots, dim=-1)
                p = torch.exp(log_p)
                e_b.append(-(p * log_p).sum(dim=-1))
                m_b.append(p.amax(dim=-1))
            ent.append(torch.stack(e_b, -1))
            mw.append(torch.stack(m_b, -1))
    return {"entropy": _summary(torch.cat(ent).numpy()), "max_weight": _summary(torch.cat(mw).numpy())}


def _naive_jax_chunk(cfg: W1Config):
    @jax.jit
    def chunk(keys, betas):
        x = jax.vmap(lambda k: jax.random.normal(k, (cfg.n, cfg.d), jnp.float32))(keys)
        dots = (x / jnp.linalg.norm(x, axis=-1, keepdims=True))[..., 0]
        e_b, m_b = [], []
        for j in range(cfg.num_betas):
            logits = betas[j] * dots
            p = jax.nn.softmax(logits, axis=-1)
            log_p = jax.nn.log_softmax(logits, axis=-1)
            e_b.append(-jnp.sum(p * log_p, axis=-1))
            m_b.append(jnp.max(p, axis=-1))
        return jnp.stack(e_b, -1), jnp.stack(m_b, -1)

    return chunk


def w1_naive_jax(cfg: W1Config, chunk_fn) -> dict:
    """Naive JAX: materialize each chunk's keys (``d`` normals per key, normalized),
    ``jax.nn.softmax`` per beta. Its contexts are independent of lattn-jax's, which
    draws each gap from about ``d / 2 + 1`` random words instead of ``d`` normals."""
    keys = jax.random.split(jax.random.key(cfg.seed), cfg.contexts)
    betas = jnp.asarray(cfg.betas)
    ent, mw = [], []
    for start in range(0, cfg.contexts, cfg.chunk):
        e, m = chunk_fn(keys[start : start + cfg.chunk], betas)
        ent.append(e)
        mw.append(m)
    ent, mw = block((jnp.concatenate(ent), jnp.concatenate(mw)))
    return {"entropy": _summary(np.asarray(ent)), "max_weight": _summary(np.asarray(mw))}


def w1_lattn(cfg: W1Config, method: str = "dense") -> dict:
    """lattn-jax: one ``mc_estimates`` call for entropy and max weight together, all
    betas at once (each context drawn once)."""
    law = lj.UniformSphere(cfg.d)
    key = jax.random.key(cfg.seed)
    betas = jnp.asarray(cfg.betas)
    observables = (lj.entropy, lj.max_weight)
    ests = block(lj.mc_estimates(observables, law, cfg.n, betas, key, cfg.contexts, method=method, dtype=jnp.float32))
    return {
        name: {"mean": np.asarray(est.mean, np.float64), "stderr": np.asarray(est.stderr, np.float64)}
        for name, est in zip(("entropy", "max_weight"), ests, strict=True)
    }


def batch_size_used(cfg: W1Config) -> int:
    """Contexts per chunk of lattn-jax's dense estimator and of the floor."""
    from lattn_jax._sampling._contexts import batch_size

    return batch_size(cfg.contexts, cfg.n)


def sampler_words_per_key(d: int) -> int:
    """The 32-bit random words ``UniformSphere(d)``'s dense sampler draws per key
    in float32 (``_laws._sphere._uniform_gaps``): ``1 + (d - 1) % 2`` normals (one
    word each) and ``(d - 1) // 2`` exponentials (one word each, two when ``d = 3``).
    5 in d = 8."""
    k = d - 1
    return 1 + k % 2 + (k // 2) * (2 if k == 2 else 1)


# The floor's per-beta pass, as a dot with ones and as a reduction: which one XLA's
# CPU backend runs faster depends on the CPU (a dot on the AMD EPYC of the first
# runs, the reduction on the Intel Xeon of later ones), so both are timed in every
# round and the floor is the faster of the two.
FLOOR_FORMS = ("floor, dot products", "floor, reductions")


def _sum_dot(e):
    return jnp.dot(e, jnp.ones_like(e))


def _floor_fns(cfg: W1Config) -> dict[str, Callable]:
    """The floor of W1 and its parts, jitted.

    The floor (``FLOOR_FORMS``, one per form of the sum) is one fused pass per
    context, chunked over contexts exactly as ``mc_estimate`` chunks them
    (``lax.map`` with the estimator's ``batch_size``), nothing materialised
    beyond one chunk: draw the ``sampler_words_per_key(d)`` 32-bit words per key
    that lattn-jax's sampler draws (one ``jax.random.bits`` call per context,
    JAX's default generator), fold them into one number per key (XOR, then the
    23 high bits as a float in ``[0, 1)``: every word reaches the result), and
    for each beta one ``exp`` and one add per key into ``sum_i exp(-beta u_i)``.
    The ``(contexts, betas)`` sums are returned and blocked on. It is what any
    implementation that draws the same random words and computes one softmax
    weight per key and beta has to do; lattn-jax also turns the words into
    gaps, subtracts the smallest gap and forms a second sum.

    The parts, for reference (their sum is not a bound: each runs alone):
    "floor: random numbers" is the floor's words alone (folded and summed per
    context, same chunks); "floor: one pass per beta" the floor's per-beta pass
    alone over lattn-jax's gaps held in memory (dot form), and "reference: one
    pass per beta as a reduction" the same pass as ``jnp.sum``. "reference: d
    normals per key" times the ``d`` normals per key the peers draw.
    """
    words = sampler_words_per_key(cfg.d)
    size = batch_size_used(cfg)
    size = None if size == 1 else size  # as the estimator (a size-1 dot chunk is miscomputed on CPU)

    def over_contexts(per_context, key):
        return jax.lax.map(per_context, jax.random.split(key, cfg.contexts), batch_size=size)

    def unit(k):
        w = jax.random.bits(k, (words, cfg.n), jnp.uint32)
        x = w[0]
        for j in range(1, words):
            x = x ^ w[j]
        return jax.lax.bitcast_convert_type((x >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0

    def fused(total):
        @jax.jit
        def floor(key, betas):
            return over_contexts(lambda k: jax.lax.map(lambda b: total(jnp.exp(-b * unit(k))), betas), key)

        return floor

    @jax.jit
    def rng(key):
        return over_contexts(lambda k: _sum_dot(unit(k)), key)

    @jax.jit
    def normals(key):
        one = lambda k: jnp.sum(jax.random.normal(k, (cfg.n, cfg.d), jnp.float32))  # noqa: E731
        return over_contexts(one, key)

    def pass_over(total):
        @jax.jit
        def one_pass(gaps, betas):
            return jax.lax.map(lambda g: jax.lax.map(lambda b: total(jnp.exp(-b * g)), betas), gaps, batch_size=size)

        return one_pass

    return {
        FLOOR_FORMS[0]: fused(_sum_dot),
        FLOOR_FORMS[1]: fused(jnp.sum),
        "floor: random numbers": rng,
        "floor: one pass per beta": pass_over(_sum_dot),
        "reference: d normals per key": normals,
        "reference: one pass per beta as a reduction": pass_over(jnp.sum),
    }


def w1_agreement(results: dict, reference: str, paired: set[str]) -> dict:
    """Each implementation against ``reference``: implementations in ``paired``
    share its contexts and must match to float32 round-off (relative 1e-4 of the
    value's scale); the others have independent contexts and must agree within
    |z| < 4 of the combined standard error, at every beta."""
    checks = {}
    ref = results[reference]
    for name, res in results.items():
        if name == reference:
            continue
        entry = {}
        for obs in ("entropy", "max_weight"):
            a, b = res[obs], ref[obs]
            diff = a["mean"] - b["mean"]
            if name in paired:
                scale = np.maximum(np.abs(b["mean"]), 1e-3)
                worst = float(np.max(np.abs(diff) / scale))
                entry[obs] = {"max_rel_diff": worst, "ok": bool(worst < 1e-4)}
            else:
                z = diff / np.hypot(a["stderr"], b["stderr"])
                worst = float(np.max(np.abs(z)))
                entry[obs] = {"max_abs_z": worst, "ok": bool(worst < 4.0)}
        checks[name] = entry
    return checks


def run_w1(cfg: W1Config, reps: int, peers: list[str], log=print) -> dict:
    """Times every implementation (alternating rounds, medians) and the floor."""
    chunk_fn = _naive_jax_chunk(cfg)
    impls = {"lattn-jax": lambda: w1_lattn(cfg)}
    if "naive-jax" in peers:
        impls["naive-jax"] = lambda: w1_naive_jax(cfg, chunk_fn)
    if "numpy" in peers:
        impls["numpy"] = lambda: w1_numpy(cfg)
    if "torch" in peers:
        impls["torch"] = lambda: w1_torch(cfg)
    fns = _floor_fns(cfg)
    key = jax.random.key(cfg.seed)
    betas = jnp.asarray(cfg.betas)
    gaps = jax.jit(
        lambda k: jax.vmap(lambda ki: lj.UniformSphere(cfg.d).sample_gaps(ki, cfg.n, jnp.float32))(
            jax.random.split(k, cfg.contexts)
        )
    )(key)
    for name in FLOOR_FORMS:
        impls[name] = lambda f=fns[name]: f(key, betas)
    impls["floor: random numbers"] = lambda: fns["floor: random numbers"](key)
    impls["floor: one pass per beta"] = lambda: fns["floor: one pass per beta"](gaps, betas)
    impls["reference: d normals per key"] = lambda: fns["reference: d normals per key"](key)
    impls["reference: one pass per beta as a reduction"] = lambda: fns["reference: one pass per beta as a reduction"](
        gaps, betas
    )
    log(f"W1: R = {cfg.contexts} contexts of n = {cfg.n} keys in d = {cfg.d}, {cfg.num_betas} betas, {reps} rounds")
    first, rounds, outputs = alternate(impls, reps)
    for name in FLOOR_FORMS:  # the floor's sums are returned: check they were computed
        sums = np.asarray(outputs[name])
        if sums.shape != (cfg.contexts, cfg.num_betas) or not np.all(np.isfinite(sums) & (sums > 0)):
            raise RuntimeError(f"{name}: unexpected sums, shape {sums.shape}")
    floor_forms = {
        name: {"seconds_median": float(np.median(rounds[name])), "seconds_rounds": rounds.pop(name)}
        for name in FLOOR_FORMS
    }
    median = {name: float(np.median(ts)) for name, ts in rounds.items()}
    floor_rounds = np.minimum(*(np.asarray(v["seconds_rounds"]) for v in floor_forms.values()))
    floor = float(np.median(floor_rounds))
    lattn = np.asarray(rounds["lattn-jax"])
    peers = [name for name in impls if not name.startswith(("floor", "lattn", "reference"))]
    ratios = {peer: float(np.median(lattn / np.asarray(rounds[peer]))) for peer in peers}
    ratios["floor"] = float(np.median(lattn / floor_rounds))
    results = {name: outputs[name] for name in impls if not name.startswith(("floor", "reference"))}
    agreement = w1_agreement(results, "lattn-jax", paired=set())
    keys_total = cfg.contexts * cfg.n
    return {
        "config": dataclasses.asdict(cfg) | {"betas": cfg.betas.tolist(), "rounds": reps},
        "seconds_median": median,
        "seconds_rounds": rounds,
        "first_call_seconds": {name: first[name] for name in median},
        "compile_seconds": {name: max(0.0, first[name] - median[name]) for name in median},
        "floor_seconds": floor,
        "floor": {
            "definition": "one fused pass: the sampler's random words, one exp and one add per key and beta",
            "words_per_key": sampler_words_per_key(cfg.d),
            "batch_size": batch_size_used(cfg),
            "seconds_rounds": floor_rounds.tolist(),
            "forms": {name: v | {"first_call_seconds": first[name]} for name, v in floor_forms.items()},
        },
        "ratio_lattn_over": ratios,
        "keys_per_second": {
            name: keys_total / t for name, t in median.items() if not name.startswith(("floor", "reference"))
        },
        "agreement": agreement,
        "agreement_ok": all(v["ok"] for entry in agreement.values() for v in entry.values()),
        "estimates": {
            name: {obs: {k: v.tolist() for k, v in res[obs].items()} for obs in res} for name, res in results.items()
        },
    }


# --------------------------------------------------------------------------- W2


def _gaps_numpy(rng: np.random.Generator, shape: tuple[int, ...], d: int) -> np.ndarray:
    """Exact gaps ``1 - x_1/|x|`` of uniform keys from one normal ``x_1`` and
    ``|x_{2..d}|^2 = 2 Gamma((d-1)/2)``, without cancellation near the query."""
    x1 = rng.standard_normal(shape, dtype=np.float32)
    r2 = 2.0 * rng.standard_gamma((d - 1) / 2.0, shape, dtype=np.float32)
    norm = np.sqrt(x1 * x1 + r2)
    return np.where(x1 > 0, r2 / (norm * (norm + np.abs(x1))), (norm - x1) / norm)


def _max_weights_numpy(gaps: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Per-context max weight ``1 / sum_i exp(-beta (g_i - g_min))``, shape (contexts, betas)."""
    g = gaps - gaps.min(axis=-1, keepdims=True)
    return np.stack([1.0 / np.exp(-np.float32(b) * g).sum(axis=-1) for b in betas], -1)


def baseline_critical_beta(
    d: int,
    n: int,
    contexts: int,
    seed: int,
    level: float = 0.5,
    grid: np.ndarray | None = None,
    rtol: float = 1e-3,
    store_limit: int = 2**26,
    chunk_keys: int = 2**22,
) -> dict:
    """NumPy grid-plus-bisection for ``E[max weight](beta*) = level``.

    Contexts (exact gaps) are drawn in chunks from per-chunk seeds; when all of
    them fit in ``store_limit`` floats they are kept, otherwise regenerated
    (identically) for each evaluation. E[max weight] is evaluated on a log grid
    of beta (two points per decade from 1 to 1e9), the bracket around ``level``
    is bisected in ``log beta`` to relative width ``rtol``, and the standard
    error follows from the delta method with the bracket's secant slope.
    """
    grid = np.geomspace(1.0, 1e9, 19) if grid is None else grid
    per_chunk = max(1, min(contexts, chunk_keys // n))
    starts = list(range(0, contexts, per_chunk))
    stored = contexts * n <= store_limit
    cache: list[np.ndarray] = []

    def chunks():
        if cache:
            yield from cache
            return
        for i, start in enumerate(starts):
            g = _gaps_numpy(np.random.default_rng([seed, i]), (min(per_chunk, contexts - start), n), d)
            if stored:
                cache.append(g)
            yield g

    def per_context(betas):
        return np.concatenate([_max_weights_numpy(g, betas) for g in chunks()]).astype(np.float64)

    evaluations = len(grid)
    curve = per_context(grid).mean(0)
    above = np.nonzero(curve >= level)[0]
    if len(above) == 0 or above[0] == 0:
        raise RuntimeError(f"level {level} not bracketed by the grid {grid[0]:g}..{grid[-1]:g}")
    lo, hi = math.log(grid[above[0] - 1]), math.log(grid[above[0]])
    f_lo, f_hi = curve[above[0] - 1], curve[above[0]]
    values_lo = values_hi = None
    while hi - lo > rtol:
        mid = 0.5 * (lo + hi)
        values = per_context(np.array([math.exp(mid)]))[:, 0]
        evaluations += 1
        if values.mean() < level:
            lo, f_lo, values_lo = mid, values.mean(), values
        else:
            hi, f_hi, values_hi = mid, values.mean(), values
    log_root = lo + (level - f_lo) * (hi - lo) / (f_hi - f_lo)
    values = values_lo if values_lo is not None else values_hi
    slope = (f_hi - f_lo) / (hi - lo)
    beta = math.exp(log_root)
    stderr = beta * values.std(ddof=1) / math.sqrt(contexts) / slope
    return {"beta": beta, "stderr": stderr, "evaluations": evaluations, "stored": stored}


def run_w2(
    dims: list[int],
    ns: list[int],
    contexts: int,
    target_rel: float,
    baseline_keys: int,
    seed: int = 0,
    log=print,
) -> dict:
    """lattn-jax ``find_critical_beta`` to ``target_rel`` relative standard error
    against the NumPy baseline at the same number of contexts. The baseline runs
    on at most ``baseline_keys`` keys (``R n``) per point; past that it uses fewer
    contexts and its time is extrapolated linearly in the number of contexts."""
    rows = []
    for d in dims:
        law = lj.UniformSphere(d)
        for j, n in enumerate(ns):
            key = jax.random.fold_in(jax.random.key(seed), 100 * d + j)

            def search(r, law=law, n=n, key=key):
                return timed(lambda: lj.find_critical_beta(law, n, key, num_contexts=r))

            r, t_lattn, attempts = contexts, 0.0, 0
            while True:
                attempts += 1
                t, crit = search(r)
                t_lattn += t
                rel = float(crit.stderr / crit.beta)
                if rel <= target_rel or attempts == 3:
                    break
                r = int(math.ceil(r * (rel / target_rel) ** 2 * 1.05))
            t_steady, _ = search(r)  # the same search again, compiled
            r_base = min(r, max(16, baseline_keys // n))
            t0 = time.perf_counter()
            base = baseline_critical_beta(d, n, r_base, seed=seed + 1000 * d + j)
            t_base_meas = time.perf_counter() - t0
            t_base = t_base_meas * r / r_base
            z = (float(crit.beta) - base["beta"]) / math.hypot(float(crit.stderr), base["stderr"])
            row = {
                "d": d,
                "n": n,
                "contexts": r,
                "lattn_seconds": t_lattn,
                "lattn_seconds_steady": t_steady,
                "lattn_beta": float(crit.beta),
                "lattn_stderr": float(crit.stderr),
                "lattn_rel_stderr": rel,
                "lattn_converged": bool(crit.converged),
                "baseline_contexts_measured": r_base,
                "baseline_seconds_measured": t_base_meas,
                "baseline_seconds": t_base,
                "baseline_extrapolated": r_base < r,
                "baseline_beta": base["beta"],
                "baseline_stderr": base["stderr"],
                "baseline_rel_stderr": base["stderr"] / base["beta"],
                "baseline_evaluations": base["evaluations"],
                "baseline_stored_contexts": base["stored"],
                "z": z,
                "speedup": t_base / t_lattn,
                "speedup_steady": t_base / t_steady,
            }
            rows.append(row)
            extra = f" (extrapolated from {r_base} contexts)" if r_base < r else ""
            log(
                f"  d={d} n={n:.0e} R={r}: lattn {t_lattn:6.2f} s ({t_steady:5.2f} s compiled)  "
                f"beta*={row['lattn_beta']:.4g} ({100 * rel:.2f}%)  baseline {t_base:8.1f} s{extra}  "
                f"beta*={base['beta']:.4g}  z={z:+.2f}  x{row['speedup']:.0f} (x{row['speedup_steady']:.0f})"
            )
    total = {k: sum(row[k] for row in rows) for k in ("lattn_seconds", "lattn_seconds_steady", "baseline_seconds")}
    config = {"dims": dims, "ns": ns, "contexts": contexts, "target_rel": target_rel, "baseline_keys": baseline_keys}
    return {
        "config": config,
        "rows": rows,
        **total,
        "speedup": total["baseline_seconds"] / total["lattn_seconds"],
        "speedup_steady": total["baseline_seconds"] / total["lattn_seconds_steady"],
        "agreement_ok": all(abs(row["z"]) < 4 for row in rows),
    }


# --------------------------------------------------------------------------- W3


def methods() -> list[str]:
    """Every concrete context method lattn-jax has (``METHODS`` without "auto")."""
    from lattn_jax._sampling._contexts import METHODS

    return [m for m in METHODS if m != "auto"]


def w3_child(method: str, n: int, beta: float, contexts: int, d: int) -> dict:
    """One W3 point, in this process: E[max weight] at ``beta`` (printed as JSON)."""
    t0 = time.perf_counter()
    est = block(lj.mc_estimate(lj.max_weight, lj.UniformSphere(d), n, beta, jax.random.key(1), contexts, method=method))
    seconds = time.perf_counter() - t0
    return {
        "mean": float(est.mean),
        "stderr": float(est.stderr),
        "seconds": seconds,
    }


def _run_child(args: list[str], timeout: float) -> tuple[dict | None, float, int, str]:
    """Runs ``run.py --w3-child ...`` in a fresh process; returns (its JSON or
    None, wall seconds, that child's own peak RSS in bytes from ``os.wait4``,
    status). The child is killed at ``timeout`` seconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        command = [sys.executable, os.path.join(HERE, "run.py"), "--w3-child", *args]
        proc = subprocess.Popen(command, stdout=out, stderr=err)
        status = None
        while True:
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                proc.kill()
                _, code, usage = os.wait4(proc.pid, 0)
                status = "timeout"
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(code)  # reaped here, not by Popen
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        lines, errors = out.read().strip().splitlines(), err.read().strip().splitlines()
    if status is None:
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}: {errors[-1] if errors else ''}"
    result = json.loads(lines[-1]) if status == "ok" else None
    return result, wall, usage.ru_maxrss * 1024, status


def dense_bytes(n: int, d: int) -> int:
    """Rough peak of one dense context: the n x d normals and a few n-vectors (float32)."""
    return 4 * n * (d + 4)


def run_w3(
    exponents: list[int],
    budget: float,
    contexts: int,
    d: int = 3,
    method_list: list[str] | None = None,
    memory_cap: float = 8e9,
    log=print,
) -> dict:
    """Per method, n = 10^k for the given k in turn, each point a fresh process
    limited to ``budget`` seconds (import and compilation included); a method
    stops at its first failure or timeout. beta is the critical beta at n
    (order statistics, 1024 contexts, computed in this process)."""
    method_list = methods() if method_list is None else method_list
    law = lj.UniformSphere(d)
    out = {}
    for method in method_list:
        points, largest = [], None
        for k in exponents:
            n = 10**k
            if method == "dense" and dense_bytes(n, d) > memory_cap:
                points.append({"n": n, "status": f"skipped: needs ~{dense_bytes(n, d) / 1e9:.0f} GB"})
                break
            beta = float(lj.find_critical_beta(law, n, jax.random.key(k), num_contexts=1024).beta)
            result, wall, rss, status = _run_child([method, str(n), repr(beta), str(contexts), str(d)], budget)
            point = {"n": n, "beta": beta, "status": status, "wall_seconds": wall, "peak_rss_bytes": rss}
            if result:
                point |= {"mean": result["mean"], "stderr": result["stderr"], "compute_seconds": result["seconds"]}
            points.append(point)
            mean = f"E[max w] = {result['mean']:.3f} ± {result['stderr']:.3f}" if result else ""
            log(f"  {method:>16} n=1e{k:<2} {status:>8} {wall:6.1f} s  peak RSS {rss / 2**20:7.0f} MiB  {mean}")
            if status != "ok":
                break
            largest = n
        out[method] = {"largest_n": largest, "points": points}
    return {"config": {"d": d, "exponents": exponents, "budget_seconds": budget, "contexts": contexts}, "methods": out}
