"""The critical regime's theory: Poisson limit, critical constant, exact finite-n
curve and finite-size corrections, each against an independent route."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z

import lattn_jax as lj
from lattn_jax import theory


@pytest.mark.parametrize("d", [2, 3, 6, 12])
def test_limit_mean_max_weight_matches_samples_of_the_process(d):
    """Quadrature (Mecke formula) against direct samples of the Poisson process."""
    gamma = theory.critical_constant(d)
    w = np.asarray(theory.sample_limit_weights(jax.random.key(d), d, gamma, 4096, k=1))[:, 0]
    assert float(theory.limit_mean_max_weight(d, gamma)) == pytest.approx(0.5, abs=1e-6)
    assert_z(w.mean(), 0.5, w.std(ddof=1) / math.sqrt(w.size))


def test_limit_curve_is_monotone_smooth_and_differentiable():
    gammas = jnp.geomspace(0.05, 20.0, 9)
    m = np.asarray(theory.limit_mean_max_weight(4, gammas))
    assert np.all(np.diff(m) > 0) and m[0] < 0.05 and m[-1] > 0.95
    g0, h = 1.2, 1e-3
    fd = (theory.limit_mean_max_weight(4, g0 + h) - theory.limit_mean_max_weight(4, g0 - h)) / (2 * h)
    grad = jax.grad(lambda g: theory.limit_mean_max_weight(4, g))(g0)
    assert float(grad) == pytest.approx(float(fd), rel=2e-3)


@pytest.mark.parametrize("d", [3, 4, 6])
def test_critical_constant_matches_the_search_at_one_million_keys(d, key):
    """beta*_n / n^{2/(d-1)} at n = 1e6 (Monte Carlo search) within 2% of the
    limit constant, and within 4 standard errors of the exact finite-n value."""
    n = 10**6
    crit = lj.find_critical_beta(lj.UniformSphere(d), n, key, num_contexts=4096)
    limit = theory.critical_beta(d, n)
    assert float(crit.beta) == pytest.approx(limit, rel=0.02)
    exact = theory.exact_critical_beta(d, n)
    assert abs(float(crit.beta) - exact) < 4 * float(crit.stderr)


@pytest.mark.parametrize(
    ("law", "n", "beta"),
    [
        (lj.UniformSphere(3), 1000, 400.0),
        (lj.UniformSphere(6), 100, 15.0),
        (lj.UniformSphere(4), 2, 1.0),
        (lj.Subsphere(7, 4), 300, 40.0),
        (lj.PowerDensity(3, 1.0), 500, 60.0),
    ],
)
def test_exact_mean_max_weight_matches_dense_brute_force(law, n, beta, x64):
    """The finite-n quadrature against a float64 Monte Carlo over all n keys."""
    est = lj.mc_estimate(lj.max_weight, law, n, beta, jax.random.key(11), 8192, method="dense")
    assert_z(float(est.mean), float(theory.exact_mean_max_weight(law, n, beta)), float(est.stderr))


def test_exact_mean_max_weight_limits():
    assert float(theory.exact_mean_max_weight(3, 50, 0.0)) == pytest.approx(1 / 50)
    assert float(theory.exact_mean_max_weight(3, 1, 7.0)) == pytest.approx(1.0, abs=1e-6)
    assert float(theory.exact_mean_max_weight(3, 50, 1e9)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("d", "n"), [(4, 10**5), (6, 10**6)])
def test_finite_size_coefficient_is_the_slope_of_the_exact_factors(d, n):
    """kappa = lim (F(n) - 1) n^{1/a}: first order against the exact finite-n curve
    (n large enough for the second order to be small, small enough for F - 1 to
    stay well above the quadrature's ~1e-7)."""
    a = (d - 1) / 2
    factor = theory.finite_size_factors(d, [n])[0]
    kappa = theory.finite_size_coefficient(d)
    assert (factor - 1) * n ** (1 / a) == pytest.approx(kappa, rel=0.02)
    assert theory.finite_size_coefficient(3) == 0.0  # b = 0 for uniform keys on S^2


def test_critical_beta_with_finite_size_term():
    plain = theory.critical_beta(6, [1e2, 1e4])
    corrected = theory.critical_beta(6, [1e2, 1e4], finite_size=True)
    kappa = theory.finite_size_coefficient(6)
    np.testing.assert_allclose(corrected, plain * (1 + kappa * np.array([1e2, 1e4]) ** -0.4))


def test_gap_expansion_and_intensity():
    a, c, b = theory.gap_expansion(6)
    assert a == 2.5 and b == pytest.approx(2.5 * (1 - 2.5) / (2 * 3.5))
    assert float(theory.limit_intensity(6, 2.0)) == pytest.approx(c * 2.0**-2.5, rel=1e-6)
    assert theory.gap_expansion(lj.Subsphere(9, 4)) == theory.gap_expansion(4)
    assert theory.critical_exponent(lj.Subsphere(9, 4)) == pytest.approx(2 / 3)
    assert theory.critical_exponent(lj.PowerDensity(4, 1.0)) == pytest.approx(0.5)


def test_limit_weights_and_entropy_samples_are_consistent():
    w = np.asarray(theory.sample_limit_weights(jax.random.key(3), 4, 1.0, 2000, k=3, num_points=512))
    assert np.all(w[:, 0] >= w[:, 1]) and np.all(w[:, 1] >= w[:, 2]) and np.all(w.sum(1) <= 1 + 1e-6)
    h = np.asarray(theory.sample_limit_entropy(jax.random.key(3), 4, 1.0, 2000, num_points=512))
    # H >= -log(max weight) for any distribution.
    assert np.all(h >= -np.log(w[:, 0]) - 1e-5)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: theory.critical_constant(3, level=1.5), "level must be in the open interval"),
        (lambda: theory.limit_mean_max_weight(3, -1.0), "gamma must be finite and > 0"),
        (lambda: theory.critical_beta(3, 1), "n must be finite and >= 2"),
        (lambda: theory.exact_critical_beta(3, 10, level=0.05), "level must exceed 1/n"),
        (lambda: theory.sample_limit_weights(jax.random.key(0), 3, 1.0, 10, k=9, num_points=4), "k must be <="),
        (lambda: theory.gap_expansion(1), "d must be an integer >= 2"),
        (lambda: theory.sample_limit_entropy(0, 3, 1.0, 10), "key must be a PRNG key"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_finite_size_fit_recovers_exact_exponent():
    ns = np.array([1e2, 1e3, 1e4, 1e5])
    kappa, p = -0.6, 0.4
    betas = 2.8 * ns**p * (1 + kappa * ns**-p)
    plain = lj.fit_power_law(ns, betas, 0.01 * betas)
    corrected = lj.fit_power_law(ns, betas, 0.01 * betas, finite_size=(kappa, p))
    factored = lj.fit_power_law(ns, betas, 0.01 * betas, factors=1 + kappa * ns**-p)
    assert float(plain.exponent) > 0.41
    assert float(corrected.exponent) == pytest.approx(p, abs=1e-6)
    assert float(factored.exponent) == pytest.approx(p, abs=1e-6)
    with pytest.raises(ValueError, match="factors must be finite"):
        lj.fit_power_law(ns, betas, factors=[1.0, 2.0])


@pytest.mark.parametrize("d", [2, 16])
def test_limit_quadrature_has_converged(d, monkeypatch, x64):
    """Doubling the tanh-sinh nodes moves m(gamma*) by < 1e-5 (gamma* by < 1e-4 relative),
    at both ends of 2 <= d <= 16."""
    from lattn_jax.theory import _poisson

    gamma = theory.critical_constant(d)
    base = float(theory.limit_mean_max_weight(d, gamma))
    monkeypatch.setattr(_poisson, "_NODES", 2 * _poisson._NODES)
    assert float(theory.limit_mean_max_weight(d, gamma)) == pytest.approx(base, abs=1e-5)
