"""First-call (compilation included) and steady times of representative calls,
in this process: what a user waits for in a fresh Python session.

    python benchmarks/first_call.py

Each call runs once (first), then three more times (steady: the minimum).
No persistent compilation cache is set, so "first" includes XLA compilation.
"""

import time

import jax
import jax.numpy as jnp

import lattn_jax as lj

KEY = jax.random.key(0)
CALLS = {
    "mc_estimate(max_weight, UniformSphere(5), 1e3, 1 beta, 64 contexts)  [order statistics]": lambda: (
        lj.mc_estimate(lj.max_weight, lj.UniformSphere(5), 1000, 500.0, KEY, 64).mean
    ),
    "mc_estimate((entropy, max_weight), UniformSphere(4), 1e7, 16 betas, 4096)  [order statistics]": lambda: (
        lj.mc_estimates(
            (lj.entropy, lj.max_weight), lj.UniformSphere(4), 10**7, jnp.geomspace(1e3, 1e6, 16), KEY, 4096
        )[0].mean
    ),
    "mc_estimate((entropy, max_weight), UniformSphere(8), 65536, 16 betas, 256)  [dense]": lambda: (
        lj.mc_estimates(
            (lj.entropy, lj.max_weight),
            lj.UniformSphere(8),
            65536,
            jnp.geomspace(1.0, 1e3, 16),
            KEY,
            256,
            method="dense",
        )[0].mean
    ),
    "find_critical_beta(UniformSphere(5), 1e6)": lambda: lj.find_critical_beta(lj.UniformSphere(5), 10**6, KEY).beta,
}


def main():
    for name, call in CALLS.items():
        start = time.perf_counter()
        jax.block_until_ready(call())
        first = time.perf_counter() - start
        steady = []
        for _ in range(3):
            start = time.perf_counter()
            jax.block_until_ready(call())
            steady.append(time.perf_counter() - start)
        print(f"{name}: first {first:.2f} s, steady {min(steady):.2f} s", flush=True)


if __name__ == "__main__":
    main()
