import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from lattn_jax import UniformSphere


def test_sample_shape_norm_and_query(key):
    law = UniformSphere(5)
    keys = law.sample(key, 1000)
    assert keys.shape == (1000, 5) and keys.dtype == jnp.float32
    np.testing.assert_allclose(np.linalg.norm(keys, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(law.query(), [1, 0, 0, 0, 0])
    assert law.local_exponent == 4.0


@pytest.mark.parametrize("d", [2, 3, 4, 6, 10])
def test_gap_law_is_beta(d, key):
    """g/2 ~ Beta((d-1)/2, (d-1)/2), for both the gap sampler and the key sampler."""
    law = UniformSphere(d)
    a = (d - 1) / 2
    k1, k2 = jax.random.split(key)
    from_gaps = np.asarray(law.sample_gaps(k1, 50_000)) / 2
    keys = law.sample(k2, 50_000)
    from_keys = np.asarray(1.0 - keys[:, 0]) / 2
    assert st.kstest(from_gaps, st.beta(a, a).cdf).pvalue > 1e-4
    assert st.kstest(from_keys, st.beta(a, a).cdf).pvalue > 1e-4


def test_small_gaps_keep_relative_precision(key, x64):
    """The float32 gap sampler has no cancellation: same normals, float64 reference."""
    law = UniformSphere(3)
    g32 = law.sample_gaps(key, 100_000, jnp.float32)
    x = jax.random.normal(key, (100_000, 3), jnp.float32).astype(jnp.float64)
    g64 = 1.0 - x[:, 0] / jnp.linalg.norm(x, axis=1)
    small = g64 < 1e-4
    assert int(small.sum()) > 0
    np.testing.assert_allclose(np.asarray(g32)[small], np.asarray(g64)[small], rtol=1e-5)


@pytest.mark.parametrize("d", [3, 4, 7])
def test_gap_cdf_density_quantile_consistent(d, x64):
    law = UniformSphere(d)
    a = (d - 1) / 2
    g = jnp.array([1e-8, 1e-3, 0.3, 1.0, 1.7, 1.999])
    log_cdf, log_sf = law.gap_log_cdf_pair(g)
    np.testing.assert_allclose(np.exp(log_cdf), st.beta(a, a).cdf(np.asarray(g) / 2), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_sf), st.beta(a, a).sf(np.asarray(g) / 2), rtol=1e-10)
    np.testing.assert_allclose(np.exp(law.gap_log_density(g)), st.beta(a, a).pdf(np.asarray(g) / 2) / 2, rtol=1e-10)
    back = law.gap_quantile(log_cdf, log_sf)
    np.testing.assert_allclose(back, g, rtol=1e-9)


@pytest.mark.parametrize("d", [1, 0, -3])
def test_bad_dimension(d):
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        UniformSphere(d)


def test_non_integer_dimension():
    with pytest.raises(TypeError, match="d must be an integer"):
        UniformSphere(3.5)
