import conftest
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from lattn_jax import PowerDensity, Subsphere, UniformSphere
from lattn_jax._laws import _sphere as _laws


def test_sample_shape_norm_and_query(key):
    law = UniformSphere(5)
    keys = jax.jit(law.sample, static_argnums=1)(key, 1000)
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


@pytest.mark.parametrize("d", [3, 4, 8])
def test_small_gaps_keep_relative_precision(d, key, x64):
    """The float32 gap sampler has no cancellation: the same random words, float64 reference."""
    n, k = 100_000, d - 1

    @jax.jit  # the sampler and its reference in one compilation (eagerly, op by op)
    def both(key):
        g32 = _laws._uniform_gaps(key, n, d, jnp.float32)
        k_normal, k_bits = jax.random.split(key)
        z = jax.random.normal(k_normal, (1 + k % 2, n), jnp.float32).astype(jnp.float64)
        bits = jax.random.bits(k_bits, (k // 2, n, 2 if k == 2 else 1), jnp.uint32)
        r2 = (z[1] ** 2 if k % 2 else 0.0) + 2.0 * jnp.sum(_laws._exponentials(bits, jnp.float64), axis=0)
        return g32, 1.0 - z[0] / jnp.sqrt(z[0] ** 2 + r2)

    g32, g64 = both(key)
    small = g64 <= np.quantile(g64, 1e-3)  # the 100 smallest
    np.testing.assert_allclose(np.asarray(g32)[small], np.asarray(g64)[small], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(g32), np.asarray(g64), rtol=1e-5, atol=1e-6)


def test_exponentials_resolve_both_tails(x64):
    """Exp(1) from 32-bit words: each word maps to the midpoint of its cell of U
    (``E = -log U``), so the smallest values keep a relative resolution of
    ``2^-24`` down to ``2^-33`` (one word) and ``2^-65`` (two words), and the
    largest is ``-log(2^-33)``."""
    exponentials = jax.jit(_laws._exponentials, static_argnums=1)  # one compilation per shape and dtype
    top = np.uint32(1 << 31)
    low = np.array([0, 1, 2, 3, 1000, 2**31 - 1], np.uint32)
    for dtype, rtol in [(jnp.float32, 1e-6), (jnp.float64, 1e-13)]:
        small = exponentials(jnp.asarray(low[:, None]), dtype)  # top bit clear: U = 1 - v
        np.testing.assert_allclose(small, -np.log1p(-(low + 0.5) * 2.0**-32), rtol=rtol)
        large = exponentials(jnp.asarray((low | top)[:, None]), dtype)  # top bit set: U = v
        np.testing.assert_allclose(large, -np.log((low + 0.5) * 2.0**-32), rtol=rtol)
        two = np.stack([np.zeros(4, np.uint32), np.array([0, 1, 2, 2**32 - 1], np.uint32)], axis=1)
        finest = exponentials(jnp.asarray(two), dtype)
        np.testing.assert_allclose(finest, -np.log1p(-(two[:, 1] + 0.5) * 2.0**-64), rtol=rtol)
        assert np.all(np.diff(np.asarray(finest)) > 0)


def test_exponentials_are_exponential(key):
    draw = jax.jit(lambda k: _laws._exponentials(jax.random.bits(k, (200_000, 1), jnp.uint32), jnp.float32))
    e = np.asarray(draw(key))
    assert st.kstest(e, st.expon.cdf).pvalue > 1e-4
    # The lower tail, where a coarse sampler fails: P(E < 1e-4) = 1e-4 (within 4 standard errors).
    assert abs(np.mean(e < 1e-4) - 1e-4) < 4 * np.sqrt(1e-4 / e.size)


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
def test_small_gap_expansion(law, x64):
    """P(g <= u) = c u^a (1 + b u + b2 u^2 + O(u^3)) against SciPy's exact CDF, with
    b2 from the Beta series I_x(p, q) = x^p / B(p, q) sum_k (1 - q)_k x^k / (k! (p + k)),
    x = u / 2: b2 = p (1 - q)(2 - q) / (8 (p + 2)). So the relative residual of the
    two-term form is b2 u^2 + R(u), R = O(u^3): R falls by about 1000 from
    u = 1e-2 to 1e-3 (the next order moves that by O(u)); R(1e-3) within 2 R(1e-2) / 1000
    plus float64 round-off (a wrong b leaves O(u), a wrong c O(1))."""
    a, c, b = law.small_gap_expansion()
    p, q = law._shapes
    assert a == pytest.approx(p)
    b2 = p * (1 - q) * (2 - q) / (8 * (p + 2))
    rest = []
    for u in [1e-2, 1e-3]:
        exact = st.beta(p, q).cdf(u / 2)
        rest.append(exact / (c * u**a * (1 + b * u)) - 1 - b2 * u**2)
    assert abs(rest[1]) < 2 * abs(rest[0]) / 1000 + conftest.rtol(np.float64), rest


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
