"""Random-number throughput on this machine, the cost that bounds W1 on a CPU.

    python benchmarks/rng.py

Millions of float32 samples per second (median of 5 runs of 2^24 samples, jitted
and reduced by a sum for JAX): JAX's key implementations against NumPy's and
PyTorch's generators; then the time to draw the gaps of 64 contexts of 65536
uniform keys (8192 for d = 64) from d normals per key (what lattn-jax did before,
and what a direct implementation does) and with lattn-jax's sampler
(``UniformSphere.sample_gaps``: one normal x_1 and r^2 ~ chi^2_{d-1} as a sum of
exponentials, each from one 32-bit word, plus a squared normal when d - 1 is
odd), with a Kolmogorov-Smirnov test of the sampler against g/2 ~ Beta(a, a).
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from lattn_jax import UniformSphere

N = 2**24


def median_seconds(fn, reps=5):
    jax.block_until_ready(fn())
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def rate(fn):
    return N / median_seconds(fn) / 1e6


def gaps_from_normals(key, n, d):
    x = jax.random.normal(key, (n, d), jnp.float32)
    x1, r2 = x[:, 0], jnp.sum(x[:, 1:] ** 2, axis=-1)
    norm = jnp.sqrt(x1 * x1 + r2)
    return jnp.where(x1 > 0, r2 / (norm * (norm + jnp.abs(x1))), (norm - x1) / norm)


def gaps_lattn(key, n, d):
    return UniformSphere(d).sample_gaps(key, n, jnp.float32)


def main():
    for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
        key = jax.random.key(0, impl=impl)
        normal = jax.jit(lambda k: jnp.sum(jax.random.normal(k, (N,), jnp.float32)))
        uniform = jax.jit(lambda k: jnp.sum(jax.random.uniform(k, (N,), jnp.float32)))
        print(
            f"jax {impl:>12}: normal {rate(lambda k=key, f=normal: f(k)):6.1f} M/s, "
            f"uniform {rate(lambda k=key, f=uniform: f(k)):6.1f} M/s"
        )
    rng = np.random.default_rng(0)
    print(
        f"numpy (1 thread): normal {rate(lambda: rng.standard_normal(N, dtype=np.float32)):6.1f} M/s, "
        f"uniform {rate(lambda: rng.random(N, dtype=np.float32)):6.1f} M/s"
    )
    try:
        import torch

        gen = torch.Generator().manual_seed(0)
        print(
            f"torch ({torch.get_num_threads()} threads): normal {rate(lambda: torch.randn(N, generator=gen)):6.1f} M/s"
        )
    except ImportError:
        print("torch not installed")
    keys = jax.random.split(jax.random.key(0), 64)
    for d in (3, 4, 8, 64):
        n = 65536 if d < 64 else 8192
        times = {}
        for name, sampler in (("d normals per key", gaps_from_normals), ("lattn-jax", gaps_lattn)):
            fn = jax.jit(lambda ks, s=sampler, n=n, d=d: jnp.sum(jax.vmap(lambda k: s(k, n, d))(ks)))
            times[name] = median_seconds(lambda f=fn: f(keys))
        g = np.asarray(jax.vmap(lambda k, n=n, d=d: gaps_lattn(k, n, d))(keys[:4])).ravel()
        a = (d - 1) / 2
        ks = stats.kstest(g / 2, stats.beta(a, a).cdf).pvalue
        print(
            f"gaps of 64 x {n} keys, d = {d:>2}: d normals {times['d normals per key']:.3f} s, "
            f"lattn-jax {times['lattn-jax']:.3f} s ({times['d normals per key'] / times['lattn-jax']:.2f}x); "
            f"KS p = {ks:.3f} against Beta({a:g}, {a:g})"
        )


if __name__ == "__main__":
    main()
