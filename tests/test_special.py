import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as ss
import scipy.stats as st

from lattn_jax._numerics._special import beta_quantile, gamma_large, log_betainc_lower


@pytest.mark.parametrize("a", [0.5, 1.0, 1.5, 2.5, 3.5, 7.5])
def test_log_betainc_lower_matches_scipy(a, x64):
    x = np.array([1e-12, 1e-6, 1e-3, 0.05, 0.2, 0.4, 0.5])
    got = np.asarray(log_betainc_lower(a, a, jnp.asarray(x)))
    np.testing.assert_allclose(got, np.log(ss.betainc(a, a, x)), rtol=1e-12, atol=1e-13)


def test_log_betainc_lower_deep_tail(x64):
    # I_x(2.5, 2.5) = x^2.5 / (2.5 B) (1 + O(x)) far below float64's range; 7 points,
    # the shape of test_log_betainc_lower_matches_scipy (a and b are traced: one program).
    x = np.array([1e-200, 1e-150, 1e-100, 1e-50, 1e-30, 1e-20, 1e-17])
    got = np.asarray(log_betainc_lower(2.5, 2.5, jnp.asarray(x)))
    expected = 2.5 * np.log(x) - np.log(2.5) - ss.betaln(2.5, 2.5)
    np.testing.assert_allclose(got, expected, rtol=1e-14)


@pytest.mark.parametrize("a", [0.5, 1.0, 1.5, 2.5, 3.5, 7.5])
def test_quantile_matches_scipy(a, x64):
    u = np.array([1e-30, 1e-9, 1e-3, 0.1, 0.3, 0.5, 0.8, 1 - 1e-7])
    got = np.asarray(beta_quantile(a, a, np.log(u), np.log1p(-u)))
    np.testing.assert_allclose(got, ss.betaincinv(a, a, u), rtol=1e-11)


@pytest.mark.parametrize("a", [1.5, 2.5])
def test_quantile_float32(a):
    u = np.array([1e-20, 1e-9, 1e-3, 0.3, 0.7], np.float32)
    got = np.asarray(beta_quantile(a, a, np.log(u), np.log1p(-u)))
    np.testing.assert_allclose(got, ss.betaincinv(a, a, u.astype(np.float64)), rtol=2e-5)


_gamma_large_batch = jax.jit(jax.vmap(gamma_large, in_axes=(0, None)))


@pytest.mark.parametrize("alpha", [1.0, 3.0, 1e3, 1e12])
def test_gamma_large_is_gamma(alpha, x64):
    u = jax.random.uniform(jax.random.key(1), (100_000, 2, 8), jnp.float64)
    # alpha traced (as gamma_large allows): one compilation for every alpha, not one each
    g = np.asarray(_gamma_large_batch(u, jnp.asarray(alpha, jnp.float64)))
    assert st.kstest(g, st.gamma(alpha).cdf).pvalue > 1e-4


@pytest.mark.parametrize(("a", "b"), [(0.25, 1.5), (0.75, 2.5), (4.0, 1.5), (1.5, 4.0), (7.5, 3.0), (1.0, 3.0)])
def test_asymmetric_quantile_matches_scipy(a, b, x64):
    u = np.array([1e-100, 1e-20, 1e-8, 1e-3, 0.1, 0.5, 0.9, 0.999, 1 - 1e-9])
    got = np.asarray(beta_quantile(a, b, np.log(u), np.log1p(-u)))
    expected = ss.betaincinv(a, b, u)
    representable = expected > 1e-300  # the smallest quantiles underflow in both
    np.testing.assert_allclose(got[representable], expected[representable], rtol=1e-10)
