"""``method="auto"`` at head dimensions: order statistics for every d with a gap
law, resting on its bias being far below the Monte Carlo error there (the
run-time fallback where it is not: ``tests/test_streaming.py``) and on its
sampler drawing the right order statistics."""

import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z
from scipy import integrate, special, stats

from lattn_jax import UniformSphere, theory
from lattn_jax._sampling._contexts import make_sampler, resolve_method

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("order_statistics_bias", ROOT / "benchmarks/order_statistics_bias.py")
bias_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bias_bench)


@pytest.mark.parametrize("d", [3, 16, 64, 128, 512])
def test_auto_takes_order_statistics_for_every_gap_law(d):
    assert resolve_method(UniformSphere(d), "auto", 10**6) == "order-statistics"


@pytest.mark.slow
@pytest.mark.parametrize("d", [128])
def test_order_statistics_bias_below_a_tenth_of_the_stderr(key, d, x64):
    """Paired, with the first-order control variate (see the benchmark): at
    0.1, 0.3 and 1 beta*, the bias in E[max weight] and E[H] is below a tenth
    of the standard error of 8192 contexts, even at its upper 4-sigma bound,
    and the method's own truncation estimate (which auto checks at run time)
    is at least as large as the bias."""
    n, contexts = 20_000, 64
    beta_star = float(theory.exact_critical_beta(d, n))
    rows = bias_bench.paired_bias(UniformSphere(d), n, jnp.asarray(bias_bench.SCALES) * beta_star, key, contexts)
    out = bias_bench.summarize(rows)
    upper = np.abs(out["bias"]) + 4 * out["bias_stderr"]
    assert np.all(upper < 0.1 * out["stderr_8192"]), (upper, out["stderr_8192"])
    # Conservative: |predicted| >= |bias| (within the bias' own 4 sigma and float64 round-off).
    assert np.all(np.abs(out["predicted"]) >= np.abs(out["bias"]) - 4 * out["bias_stderr"] - 1e-12), out


@pytest.mark.parametrize("d", [32, 64, 128])
def test_order_statistics_sampler_law_at_head_dimensions(key, d):
    """The sampler's own gap quantile at head dimensions (float32): the means of
    g_(1), g_(10) and g_(2048) out of n = 1e6 against SciPy's integral
    E[g_(j)] = int_0^1 2 I^{-1}_{p,p}(Q_j(t)) dt, Q_j the Beta(j, n - j + 1)
    quantile of U_(j) and p = (d - 1) / 2; |z| < 4 over 4096 contexts."""
    n, p = 10**6, (d - 1) / 2
    sampler = make_sampler(UniformSphere(d), n, "order-statistics")
    rows = np.asarray(jax.jit(jax.vmap(sampler.sample))(jax.random.split(key, 4096)), np.float64)
    for j in [1, 10, 2048]:
        expected, _ = integrate.quad(
            lambda t, j=j: 2 * special.betaincinv(p, p, stats.beta.ppf(t, j, n - j + 1)), 0, 1, limit=200
        )
        column = rows[:, j - 1]
        assert_z(column.mean(), expected, column.std(ddof=1) / np.sqrt(column.size))
