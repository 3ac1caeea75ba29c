"""Steady time (after a warm-up call) of order statistics at n = 1e7, one observable and
two stacked, as min and median of 5 calls: a steadier figure than ``first_call.py``'s
minimum of 3.

    LATTN_JAX_CACHE= python benchmarks/steady_calls.py
"""

import time

import jax
import jax.numpy as jnp

import lattn_jax as lj

KEY = jax.random.key(0)
BETAS = jnp.geomspace(1e3, 1e6, 16)
LAW = lj.UniformSphere(4)
CALLS = {
    "max_weight alone": lambda: lj.mc_estimate(lj.max_weight, LAW, 10**7, BETAS, KEY, 4096).mean,
    "entropy and max_weight stacked": lambda: (
        lj.mc_estimates((lj.entropy, lj.max_weight), LAW, 10**7, BETAS, KEY, 4096)[0].mean
    ),
}

for name, call in CALLS.items():
    call().block_until_ready()  # compile
    times = []
    for _ in range(5):
        start = time.perf_counter()
        call().block_until_ready()
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"{name}: steady min {times[0]:.3f} s, median {times[2]:.3f} s")
