"""The end-to-end path on the bundled example keys: load, estimate alpha,
predict the critical exponent 2/alpha, and measure beta*(n) on the keys.
The keys are read from docs/data beside this file, so it runs from any
directory of a clone: python docs/tutorials/real_keys.py"""

from pathlib import Path

import jax
import numpy as np

import lattn_jax as lj

DATA = Path(__file__).resolve().parent.parent / "data"
keys = lj.load_keys(DATA / "example_keys.npy")
query = np.load(DATA / "example_query.npy")
print(f"{keys.shape[0]} keys in d = {keys.shape[1]}")

est = lj.estimate_local_exponent(keys, query, k=400)
flat = lj.estimate_local_exponent(keys, query, k=400, curvature=False)
print(f"alpha = {est.alpha:.3f} ± {est.stderr:.3f} (k = {est.k}, radius {est.radius:.3f})")
print(f"  without the curvature correction: {flat.alpha:.3f} ± {flat.stderr:.3f}")
print(f"predicted critical exponent 2/alpha = {est.critical_exponent:.3f} ± {est.critical_exponent_stderr:.3f}")

law = lj.EmpiricalKeys(keys, query=query)
ns = [100, 200, 400, 800]
scan = lj.critical_scan(law, ns, jax.random.key(0), num_contexts=4096)
for n, b, s in zip(ns, scan.beta, scan.stderr, strict=True):
    print(f"n = {n:>4}: beta* = {float(b):8.3f} ± {float(s):.3f}")
fit = lj.fit_power_law(ns, scan.beta, scan.stderr)
print(
    f"measured exponent {float(fit.exponent):.3f} ± {float(fit.exponent_stderr):.3f} "
    f"(chi2 = {float(fit.chi2):.1f} on {fit.dof} dof) vs predicted {est.critical_exponent:.3f}"
)
