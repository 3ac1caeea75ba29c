"""Paired check of order statistics at d = 64 (what `lattn regime --dim 64` uses):
on the same 256 dense contexts of n = 20000 uniform keys, the K = 2048 smallest
gaps plus the far keys' conditional mean against all n gaps, for E[max weight]
and E[H]; and the law of a few order statistics, order-statistics sampler
against dense sampling. Run from the repository root (argument 64 for float64):

    python docs/tutorials/order_statistics_d64.py 64
"""

import sys

import jax

jax.config.update("jax_enable_x64", len(sys.argv) > 1 and sys.argv[1] == "64")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import lattn_jax as lj  # noqa: E402
from lattn_jax._sampling._contexts import make_sampler  # noqa: E402

law, n = lj.UniformSphere(64), 20_000
dense = jax.vmap(lambda k: law.sample_gaps(k, n))(jax.random.split(jax.random.key(0), 256))
sampler = make_sampler(law, n, "order-statistics")
heads = jnp.sort(dense, axis=1)[:, : sampler.head]
print(f"{'beta':>6} {'observable':>11} {'E (all n gaps)':>15} {'paired bias':>12} {'MC err, 1024 ctx':>17}")
for beta in [8.0, 13.0, 26.0, 52.0, 104.0]:  # beta* ~ 52 at n = 2e4
    for name, f in [("max weight", lj.max_weight), ("entropy", lj.entropy)]:
        exact = jax.vmap(lambda g, f=f, b=beta: f.on_atoms(lj.Atoms(g), b))(dense)
        approx = jax.vmap(lambda h, f=f, b=beta: f.on_atoms(sampler.atoms(h, b), b))(heads)
        mean, bias = float(jnp.mean(exact)), float(jnp.mean(approx - exact))
        err = float(jnp.std(exact)) / np.sqrt(1024)
        print(f"{beta:>6} {name:>11} {mean:>15.6f} {bias:>12.2e} {err:>17.2e}")
rows = jax.vmap(sampler.sample)(jax.random.split(jax.random.key(1), 2048))
ref = jnp.sort(jax.vmap(lambda k: law.sample_gaps(k, n))(jax.random.split(jax.random.key(2), 512)), axis=1)
for j in [0, 99, 2047]:
    os_mean, os_err = float(jnp.mean(rows[:, j])), float(jnp.std(rows[:, j])) / np.sqrt(2048)
    ref_mean, ref_err = float(jnp.mean(ref[:, j])), float(jnp.std(ref[:, j])) / np.sqrt(512)
    print(f"E[g_({j + 1})]: order statistics {os_mean:.5f} ± {os_err:.5f}, dense {ref_mean:.5f} ± {ref_err:.5f}")
