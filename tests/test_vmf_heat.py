"""von Mises–Fisher laws and the backward-heat predictions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

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
    mu = jnp.eye(d)[1]
    x = lj.VonMisesFisher(mu, kappa).sample(key, 20_000)
    gap = np.asarray(0.5 * jnp.sum((x - mu) ** 2, axis=1), np.float64)
    expected = 1.0 - float(theory.mean_resultant(d, kappa))
    z = (gap.mean() - expected) / (gap.std(ddof=1) / math.sqrt(gap.size))
    assert abs(z) < 4
    # orthogonal directions are isotropic: mean zero
    other = np.asarray(x[:, 0], np.float64)
    assert abs(other.mean()) < 4 * other.std() / math.sqrt(other.size)


def test_mixture_and_log_density(key, x64):
    means = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    law = lj.VonMisesFisherMixture(means, jnp.array([2.0, 8.0]), jnp.array([1.0, 3.0]))
    x = law.sample(key, 20_000)
    # E[x] = sum_j p_j A_3(kappa_j) mu_j
    expected = (
        0.25 * float(theory.mean_resultant(3, 2.0)) * means[0] + 0.75 * float(theory.mean_resultant(3, 8.0)) * means[1]
    )
    mean = np.asarray(x.mean(0))
    se = np.asarray(x.std(0)) / math.sqrt(x.shape[0])
    assert np.all(np.abs(mean - np.asarray(expected)) < 4 * se)
    # the density integrates to 1 against the uniform law (Monte Carlo over uniform points)
    u = lj.UniformSphere(3).sample(jax.random.fold_in(key, 1), 50_000, jnp.float64)
    dens = np.exp(np.asarray(law.log_density(u)))
    assert abs(dens.mean() - 1.0) < 4 * dens.std() / math.sqrt(dens.size)


def test_heat_first_order_matches_exact_vmf_mean_field(x64):
    """vMF keys: the exact mean-field output A_d(|v|) v/|v|, v = beta q + kappa mu, against
    A_d(beta) q + (A_d(beta)/beta) grad_S log rho(q); the gap is O(beta^-2)."""
    d, kappa = 5, 1.5
    mu = jnp.array([0.6, 0.8, 0.0, 0.0, 0.0])
    law = lj.VonMisesFisher(mu, kappa)
    q = law.query(jnp.float64)
    errors = []
    for beta in [20.0, 40.0, 80.0]:
        v = beta * q + kappa * mu
        norm = jnp.linalg.norm(v)
        exact = theory.mean_resultant(d, norm) * v / norm
        predicted = theory.heat_output(law, beta)
        errors.append(float(jnp.linalg.norm(exact - predicted)))
        # displacement = output - A q, orthogonal to q
        assert abs(float(theory.heat_displacement(law, beta) @ q)) < 1e-14
    assert errors[1] / errors[0] == pytest.approx(0.25, rel=0.15) and errors[2] / errors[1] == pytest.approx(
        0.25, rel=0.1
    )


def test_heat_flow_factor():
    """e^{(d-1)/beta}: the first spherical harmonic's eigenvalue is -(d - 1)."""
    assert float(theory.heat_flow_mean_resultant(4, 0.5, 30.0)) == pytest.approx(0.5 * math.exp(0.1))


def test_bad_laws():
    with pytest.raises(ValueError, match="kappas must be finite and >= 0"):
        lj.VonMisesFisher(jnp.array([1.0, 0.0]), -1.0)
    with pytest.raises(ValueError, match="means must have shape"):
        lj.VonMisesFisherMixture(jnp.ones(3), jnp.ones(1), jnp.ones(1))
    with pytest.raises(TypeError, match="log_density"):
        theory.heat_displacement(lj.UniformSphere(3), 10.0)
