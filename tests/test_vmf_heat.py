"""von Mises–Fisher laws and the backward-heat predictions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate as si
import scipy.special as sp
import scipy.stats as st
from conftest import rtol

import lattn_jax as lj
from lattn_jax import theory


def test_vmf_cosine_law_d3(key):
    """d = 3: P(<mu, x> <= t) = (e^{kappa t} - e^{-kappa}) / (e^kappa - e^{-kappa}) (KS test), unit norms."""
    kappa = 4.0
    law = lj.VonMisesFisher(jnp.array([0.0, 0.0, 1.0]), kappa)
    x = np.asarray(law.sample(key, 20_000), np.float64)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-6)
    cdf = lambda t: np.expm1(kappa * (t + 1)) / np.expm1(2 * kappa)  # noqa: E731
    assert st.kstest(x[:, 2], cdf).pvalue > 1e-4


@pytest.mark.parametrize(("d", "kappa"), [(5, 3.0), (3, 1e5)])
def test_vmf_mean_resultant(d, kappa, key):
    """E[<mu, x>] = A_d(kappa), read through gaps 1 - <mu, x> = |x - mu|^2 / 2 (precise at large kappa)."""
    mu = np.eye(d)[1]
    # NumPy from here on (float64 from the float32 sample): no op-by-op compilations
    x = np.asarray(lj.VonMisesFisher(jnp.asarray(mu, jnp.float32), kappa).sample(key, 20_000), np.float64)
    gap = 0.5 * np.sum((x - mu) ** 2, axis=1)
    expected = 1.0 - float(theory.mean_resultant(d, kappa))
    z = (gap.mean() - expected) / (gap.std(ddof=1) / math.sqrt(gap.size))
    assert abs(z) < 4
    # orthogonal directions are isotropic: mean zero
    other = x[:, 0]
    assert abs(other.mean()) < 4 * other.std() / math.sqrt(other.size)


def test_mixture_and_log_density(key, x64):
    means = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    law = lj.VonMisesFisherMixture(jnp.asarray(means), jnp.array([2.0, 8.0]), jnp.array([1.0, 3.0]))
    x = np.asarray(law.sample(key, 20_000))  # NumPy from here on: no op-by-op compilations
    # E[x] = sum_j p_j A_3(kappa_j) mu_j
    expected = (
        0.25 * float(theory.mean_resultant(3, 2.0)) * means[0] + 0.75 * float(theory.mean_resultant(3, 8.0)) * means[1]
    )
    mean = x.mean(0)
    se = x.std(0) / math.sqrt(x.shape[0])
    assert np.all(np.abs(mean - expected) < 4 * se)
    # the density integrates to 1 against the uniform law (Monte Carlo over uniform points)
    u = lj.UniformSphere(3).sample(jax.random.fold_in(key, 1), 50_000, jnp.float64)
    dens = np.exp(np.asarray(jax.jit(lambda v: law.log_density(v))(u)))  # one compilation, not op by op
    assert abs(dens.mean() - 1.0) < 4 * dens.std() / math.sqrt(dens.size)


def _mean_resultant_scipy(d, x):
    """A_d(x) = I_{d/2}(x) / I_{d/2-1}(x) from SciPy's scaled Bessel functions."""
    return sp.ive(d / 2, x) / sp.ive(d / 2 - 1, x)


def test_heat_output_against_the_exact_vmf_mean_field(x64):
    """vMF keys: the exact mean-field output is A_d(|v|) v/|v|, v = beta q + kappa mu
    (the tilted law is again vMF; A_d from SciPy). Expanding in 1/beta
    (|v| = beta (1 + kappa s/beta + kappa^2 (1 - s^2)/(2 beta^2) + ...), s = <q, mu>,
    A_d(x) = 1 - alpha/x + O(x^-2), alpha = (d - 1)/2), it differs from the heat
    prediction A_d(beta) q + (A_d(beta)/beta) kappa (mu - s q) by C / beta^2 + O(beta^-3),
    C = kappa^2 ((3 s^2 - 1)/2 q - s mu) + alpha kappa s q. The rest after C falls by a
    factor near 1000 from beta = 300 to 3000 (the next order moves it by O(1/beta);
    the window (500, 2000) rejects a wrong first or second order, which fall by 10 or 100)."""
    d, kappa = 5, 1.5
    mu = np.array([0.6, 0.8, 0.0, 0.0, 0.0])
    law = lj.VonMisesFisher(jnp.asarray(mu), kappa)
    q = np.asarray(law.query(jnp.float64))
    s, alpha = float(q @ mu), (d - 1) / 2
    c = kappa**2 * ((3 * s * s - 1) / 2 * q - s * mu) + alpha * kappa * s * q
    betas = np.array([300.0, 3000.0])
    v = betas[:, None] * q + kappa * mu
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    exact = _mean_resultant_scipy(d, norm) * v / norm
    # one jitted program compiles faster than the op-by-op eager calls
    predicted, displacement = map(
        np.asarray, jax.jit(lambda b: (theory.heat_output(law, b), theory.heat_displacement(law, b)))(betas)
    )
    rest = np.linalg.norm(exact - predicted - c / betas[:, None] ** 2, axis=1)
    assert 500 < rest[0] / rest[1] < 2000, rest
    # the displacement beyond the uniform bias is tangent: orthogonal to q up to round-off
    np.testing.assert_allclose(displacement @ q, 0.0, atol=rtol(np.float64) * np.abs(displacement).max())


def test_heat_flow_factor_against_one_exact_step(x64):
    """Tokens x ~ vMF_d(kappa, mu) attending to each other (mean field): the normalized
    output is v/|v|, v = beta x + kappa mu, so the new mean resultant is
    E[(beta s + kappa) / sqrt(beta^2 + 2 beta kappa s + kappa^2)] over s = <mu, x>
    (density ~ e^{kappa s} (1 - s^2)^{(d-3)/2}; SciPy quadrature). It agrees with
    e^{(d-1)/beta} times the old one (also by quadrature) to O(beta^-2): the difference
    falls by a factor near 100 from beta = 100 to 1000 (window (50, 200); a wrong
    first-order factor such as e^{(d-2)/beta} leaves a difference falling by 10)."""
    d, kappa = 4, 2.0
    w = (d - 3) / 2

    def expect(f):
        return si.quad(lambda s: f(s) * np.exp(kappa * (s - 1)), -1, 1, weight="alg", wvar=(w, w), epsrel=1e-13)[0]

    norm = expect(lambda s: 1.0)
    before = expect(lambda s: s) / norm
    diffs = []
    for beta in [100.0, 1000.0]:
        after = expect(lambda s, b=beta: (b * s + kappa) / np.sqrt(b * b + 2 * b * kappa * s + kappa**2)) / norm
        diffs.append(float(theory.heat_flow_mean_resultant(d, before, beta)) - after)
    assert 50 < diffs[0] / diffs[1] < 200, diffs


def test_bad_laws():
    with pytest.raises(ValueError, match="kappas must be finite and >= 0"):
        lj.VonMisesFisher(jnp.array([1.0, 0.0]), -1.0)
    with pytest.raises(ValueError, match="means must have shape"):
        lj.VonMisesFisherMixture(jnp.ones(3), jnp.ones(1), jnp.ones(1))
    with pytest.raises(TypeError, match="log_density"):
        theory.heat_displacement(lj.UniformSphere(3), 10.0)
