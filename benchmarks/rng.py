"""Random-number throughput on this machine, the cost that bounds W1 on a CPU.

    python benchmarks/rng.py

Millions of float32 samples per second (median of 5 runs of 2^24 samples, jitted
and reduced by a sum for JAX): JAX's key implementations against NumPy's and
PyTorch's generators; then the time to draw the gaps of 16 contexts of 65536
uniform keys in d = 8 as lattn-jax does (8 normals per key) and by a prototype
that needs one normal, three uniforms and one more normal per key (the gap from
x_1 and r^2 = -2 log(u_1 u_2 u_3) + z^2, exact since r^2 ~ chi^2_7), with a
Kolmogorov-Smirnov test of the prototype against g/2 ~ Beta(3.5, 3.5).
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

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
    return _gap(x[:, 0], jnp.sum(x[:, 1:] ** 2, axis=-1))


def gaps_from_chi2(key, n, d):
    m = d - 1
    k_norm, k_unif = jax.random.split(key)
    z = jax.random.normal(k_norm, (1 + m % 2, n), jnp.float32)
    u = jax.random.uniform(k_unif, (m // 2, n), jnp.float32, minval=jnp.finfo(jnp.float32).tiny)
    r2 = -2.0 * jnp.sum(jnp.log(u), axis=0) + (z[1] ** 2 if m % 2 else 0.0)
    return _gap(z[0], r2)


def _gap(x1, r2):
    norm = jnp.sqrt(x1 * x1 + r2)
    return jnp.where(x1 > 0, r2 / (norm * (norm + jnp.abs(x1))), (norm - x1) / norm)


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
    keys = jax.random.split(jax.random.key(0), 16)
    for name, sampler in (("8 normals per key", gaps_from_normals), ("chi^2 prototype", gaps_from_chi2)):
        fn = jax.jit(lambda ks, s=sampler: jnp.sum(jax.vmap(lambda k: s(k, 65536, 8))(ks)))
        print(f"gaps of 16 x 65536 keys, d = 8, {name}: {median_seconds(lambda f=fn: f(keys)):.3f} s")
    g = np.asarray(jax.vmap(lambda k: gaps_from_chi2(k, 65536, 8))(keys)).ravel()
    print(f"chi^2 prototype vs Beta(3.5, 3.5): KS p = {stats.kstest(g / 2, stats.beta(3.5, 3.5).cdf).pvalue:.3f}")


if __name__ == "__main__":
    main()
