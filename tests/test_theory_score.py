"""The score law of uniform keys against SciPy's beta distribution, deep in both tails."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from lattn_jax import theory

# Every float64 call of the score law in this module takes 9 points (the tails and
# the quantile compile once per d, shape and dtype), at the dimensions of
# test_against_scipy_beta.


@pytest.mark.parametrize("d", [2, 3, 6, 64])
def test_against_scipy_beta(d, x64):
    a = (d - 1) / 2
    law = st.beta(a, a)
    s = np.array([-1 + 1e-9, -0.99, -0.5, -1e-3, 0.0, 0.2, 0.9, 0.999, 1 - 1e-9])
    # SciPy at the exact near-side point x = (1 - |s|)/2 (the law is symmetric): its
    # lower tail keeps relative precision, its upper tail 1 - (tiny) is exact in logs.
    xn = (1 - np.abs(s)) / 2
    upper = s >= 0
    ref_sf = np.where(upper, law.logcdf(xn), law.logsf(xn))
    ref_cdf = np.where(upper, law.logsf(xn), law.logcdf(xn))
    np.testing.assert_allclose(np.asarray(theory.score_log_sf(d, s)), ref_sf, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(np.asarray(theory.score_log_cdf(d, s)), ref_cdf, rtol=1e-11, atol=1e-15)
    ref_pdf = law.logpdf(xn) - np.log(2)
    np.testing.assert_allclose(np.asarray(theory.score_log_density(d, s)), ref_pdf, rtol=1e-11)


def test_tail_down_to_1e_minus_300(x64):
    """d = 64: P(S > s) = 1e-300 is reached at 1 - s ~ 1e-9, still representable."""
    d, a = 64, 31.5
    log_p = np.log(np.array([1e-300, 1e-200, 1e-100, 1e-50, 1e-10, 0.1, 0.3, 0.5, 0.9]))
    s = np.asarray(theory.score_quantile(d, log_p))
    np.testing.assert_allclose(np.asarray(theory.score_log_sf(d, s)), log_p, rtol=1e-6)  # s has ~7 digits in 1 - s
    np.testing.assert_allclose(st.beta(a, a).logcdf((1 - s) / 2), log_p, rtol=1e-6)
    assert s[-2] == pytest.approx(0.0, abs=1e-12)  # the median
    assert s[-1] == pytest.approx(-s[5], rel=1e-12)  # s(p) = -s(1 - p) at p = 0.9


def test_quantile_round_trip_and_symmetry(x64):
    for d in [3, 6, 64]:  # s itself carries round-off: keep 1 - |s| >> eps (d = 2 reaches 1e-12 there)
        log_p = jnp.log(jnp.array([1e-6, 1e-3, 0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 1 - 1e-6]))
        s = theory.score_quantile(d, log_p)
        np.testing.assert_allclose(np.asarray(theory.score_log_sf(d, s)), np.asarray(log_p), rtol=1e-8, atol=1e-14)
        np.testing.assert_allclose(
            np.asarray(theory.score_log_cdf(d, -s)), np.asarray(theory.score_log_sf(d, s)), rtol=1e-12
        )


def test_density_integrates_to_cdf_increment(x64):
    d = 7
    g = jax.grad(lambda x: jnp.exp(theory.score_log_cdf(d, x)))(0.3)
    assert float(g) == pytest.approx(float(jnp.exp(theory.score_log_density(d, 0.3))), rel=1e-10)


def test_float32_tails_and_edges():
    s = jnp.array([-1.0, -0.999, -0.5, -1e-3, 0.0, 0.2, 0.9, 0.999, 1.0], jnp.float32)
    sf = theory.score_log_sf(6, s)
    cdf = theory.score_log_cdf(6, s)
    assert sf.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(sf)[[0, -1]], [0.0, -np.inf])
    np.testing.assert_allclose(np.asarray(cdf)[[0, -1]], [-np.inf, 0.0])
    with jax.enable_x64(True):
        ref = theory.score_log_sf(6, np.asarray(s, np.float64))
    np.testing.assert_allclose(np.asarray(sf[1:-1]), np.asarray(ref)[1:-1], rtol=2e-5)


def test_bad_dimension():
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        theory.score_log_sf(1, 0.5)
