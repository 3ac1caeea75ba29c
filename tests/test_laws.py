import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from lattn_jax import PowerDensity, Subsphere, UniformSphere


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


@pytest.mark.parametrize(
    ("law", "p", "q"),
    [
        (Subsphere(6, 3), 1.0, 1.0),
        (Subsphere(5, 5), 2.0, 2.0),
        (PowerDensity(4, 1.0), 2.0, 1.5),
        (PowerDensity(3, -1.5), 0.25, 1.0),
        (PowerDensity(6, 2.0), 3.5, 2.5),
    ],
)
def test_new_laws_gap_law_is_beta(law, p, q, key, x64):
    """Gaps from the gap sampler and from the keys follow g/2 ~ Beta(p, q); keys are unit vectors.
    (float64: with p < 1 many gaps are below float32's resolution of 1 - <q, k>.)"""
    k1, k2 = jax.random.split(key)
    keys = law.sample(k2, 40_000)
    assert keys.shape == (40_000, law.d)
    np.testing.assert_allclose(np.linalg.norm(keys, axis=1), 1.0, rtol=1e-12)
    from_keys = np.asarray(1.0 - keys @ law.query()) / 2
    from_gaps = np.asarray(law.sample_gaps(k1, 40_000)) / 2
    assert st.kstest(from_gaps, st.beta(p, q).cdf).pvalue > 1e-4
    assert st.kstest(from_keys, st.beta(p, q).cdf).pvalue > 1e-4
    assert law.local_exponent == pytest.approx(2 * p)


@pytest.mark.parametrize("law", [UniformSphere(4), Subsphere(9, 4), PowerDensity(5, 1.5), PowerDensity(3, -0.5)])
def test_gap_law_functions_match_scipy(law, x64):
    p, q = law._shapes
    g = jnp.array([1e-12, 1e-4, 0.3, 1.0, 1.6, 1.999])
    ref = st.beta(p, q)
    log_cdf, log_sf = law.gap_log_cdf_pair(g)
    np.testing.assert_allclose(np.exp(log_cdf), ref.cdf(np.asarray(g) / 2), rtol=1e-10)
    np.testing.assert_allclose(np.exp(log_sf), ref.sf(np.asarray(g) / 2), rtol=1e-10)
    np.testing.assert_allclose(np.exp(law.gap_log_density(g)), ref.pdf(np.asarray(g) / 2) / 2, rtol=1e-10)
    np.testing.assert_allclose(law.gap_quantile(log_cdf, log_sf), g, rtol=1e-9)


@pytest.mark.parametrize("law", [UniformSphere(3), UniformSphere(6), Subsphere(9, 4), PowerDensity(5, 1.5)])
def test_small_gap_expansion(law):
    """P(g <= u) = c u^a (1 + b u + O(u^2)): the relative residual of the
    two-term form shrinks like u^2 against SciPy's exact CDF."""
    a, c, b = law.small_gap_expansion()
    p, q = law._shapes
    assert a == pytest.approx(p)
    for u in [1e-3, 1e-4]:
        exact = st.beta(p, q).cdf(u / 2)
        assert abs(exact / (c * u**a * (1 + b * u)) - 1) < 2 * u**2 * (1 + abs(q - 1) * p) ** 2


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Subsphere(4, 5), r"m must be in \[2, d\]"),
        (lambda: Subsphere(4, 1), "m must be an integer >= 2"),
        (lambda: PowerDensity(4, -3.0), r"s must be > -\(d - 1\)"),
        (lambda: PowerDensity(4, float("nan")), "s must be finite"),
        (lambda: PowerDensity(4, "1"), "s must be a finite real number"),
    ],
)
def test_new_laws_bad_parameters(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
