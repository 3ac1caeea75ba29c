"""Independent check of beta* for d = 4, n = 1e5 (issue 2's accuracy target).

The toolkit's default search (order statistics: the 2048 smallest gaps exactly,
the far keys by their conditional mean) is compared with a float64 brute force
that samples all n = 1e5 gaps of every context (``UniformSphere.sample_gaps``,
method="dense": each gap from a normal and a chi-square built from exponentials,
exact in law) and evaluates E[max weight] on a grid of beta around the search's
beta* in one pass over the contexts; the brute force's own root is interpolated
from that grid (log-linear in beta).

    python benchmarks/accuracy_d4.py [--contexts 8192]
"""

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from lattn_jax import UniformSphere, find_critical_beta, max_weight, mc_estimate  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contexts", type=int, default=8192)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=4)
    args = parser.parse_args()
    law = UniformSphere(args.d)
    t0 = time.perf_counter()
    fast = find_critical_beta(law, args.n, jax.random.key(1), num_contexts=args.contexts)
    t_fast = time.perf_counter() - t0
    beta_fast, se_fast = float(fast.beta), float(fast.stderr)
    grid = beta_fast * np.exp(np.linspace(-0.06, 0.06, 7))
    t0 = time.perf_counter()
    brute = mc_estimate(
        max_weight, law, args.n, jnp.asarray(grid), jax.random.key(2), args.contexts, method="dense", derivative=True
    )
    t_brute = time.perf_counter() - t0
    mean = np.asarray(brute.mean)
    # Root of the brute-force curve (monotone in beta), interpolated in log beta.
    log_root = np.interp(0.5, mean, np.log(grid))
    beta_brute = float(np.exp(log_root))
    i = int(np.argmin(np.abs(grid - beta_brute)))
    slope = float(brute.derivative[i]) * grid[i]  # d E[W] / d log beta
    se_brute = beta_brute * float(brute.stderr[i]) / slope
    diff = beta_fast / beta_brute - 1
    combined = np.hypot(se_fast / beta_fast, se_brute / beta_brute)
    print(f"d = {args.d}, n = {args.n}, {args.contexts} contexts each, float64")
    print(f"order statistics (default): beta* = {beta_fast:.2f} ± {se_fast:.2f}   ({t_fast:.1f} s)")
    print(f"dense brute force:          beta* = {beta_brute:.2f} ± {se_brute:.2f}   ({t_brute:.1f} s)")
    print(f"E[max weight] on the grid: {np.round(mean, 4).tolist()}")
    print(f"relative difference: {diff:+.2%} ± {combined:.2%}  (z = {diff / combined:+.2f})")


if __name__ == "__main__":
    main()
