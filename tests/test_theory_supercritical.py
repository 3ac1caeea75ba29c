"""Supercritical formulas: the Dickman law, its rates, and the check against Monte Carlo."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp
from conftest import assert_z, rtol
from scipy import integrate

from lattn_jax import theory
from lattn_jax.theory._supercritical import _ein


def test_ein_against_scipy(x64):
    theta = np.array([1e-6, 1e-3, 0.5, 0.999, 1.0, 3.0, 30.0, 500.0])
    ref = sp.exp1(theta) + np.log(theta) + np.euler_gamma
    ref[:2] = [sum((-1) ** (k + 1) * t**k / (k * math.factorial(k)) for k in range(1, 6)) for t in theta[:2]]
    # jitted: one compilation instead of a dozen op-by-op ones
    np.testing.assert_allclose(np.asarray(jax.jit(_ein)(jnp.asarray(theta))), ref, rtol=1e-13)


def _simulated_sums(rng, r, samples):
    """``S = sum_j e^{-x_j}`` over a Poisson process of rate ``r`` on (0, 36) (points
    past 36 weigh < e^-36), in each of ``samples`` independent samples (NumPy)."""
    counts = rng.poisson(36.0 * r, samples)
    points = rng.uniform(0.0, 36.0, counts.sum())
    return np.bincount(np.repeat(np.arange(samples), counts), weights=np.exp(-points), minlength=samples)


def test_d3_against_a_simulated_process(x64):
    """d = 3: ``n P(g <= x / beta) = n x / (2 beta)`` (g / 2 is uniform on S^2), so past
    the nearest key the rescaled gaps form a Poisson process of rate
    r = 1 / (2 gamma), gamma = beta / n, and 1 / W_(1) - 1 = S = sum_j e^{-x_j}.
    Simulated in NumPy: P(W_(1) > 1 - eps) = P(S < eps / (1 - eps)) (binomial
    standard error) and E[1 - W_(1)] = E[S / (1 + S)], each |z| < 4."""
    rng = np.random.default_rng(0)
    eps, samples = 0.05, 200_000
    gammas = np.array([1.0, 20.0])  # the shape of test_rates_to_second_order's: compiled once
    prob = np.asarray(theory.supercritical_prob_max_weight_above(3, jnp.asarray(gammas), eps))
    deficit = np.asarray(theory.supercritical_max_weight_deficit(3, jnp.asarray(gammas)))
    for gamma, p_theory, w_theory in zip(gammas, prob, deficit, strict=True):
        s = _simulated_sums(rng, 1 / (2 * gamma), samples)
        p = np.mean(s < eps / (1 - eps))
        assert_z(p, p_theory, math.sqrt(p * (1 - p) / samples))
        values = s / (1 + s)
        assert_z(values.mean(), w_theory, values.std(ddof=1) / math.sqrt(samples))


@pytest.mark.parametrize("d", [3, 4, 6, 10])
def test_rates_to_second_order(d, x64):
    """Expanding in the neighbour density r (E[r] = K_d / gamma, E[r^2] = K2 / gamma^2
    with K_d = a Gamma(2 - 1/a) c^{1/a}, K2 = a^2 Gamma(3 - 2/a) c^{2/a},
    c = 2^-a / (a B(a, a)) from SciPy):

    gamma (1 - P) = K_d L - (K2 / gamma) (L^2 / 2 - pi^2 / 12) + O(gamma^-2), L = log((1 - eps)/eps)
    (from log Gamma(1 + r) = -gamma_E r + zeta(2) r^2 / 2 + O(r^3)), and
    gamma E[1 - W] = K_d log 2 - (K2 / gamma) I2 + O(gamma^-2),
    I2 = int_0^oo e^-t (1 - e^-t) Ein(t) / t dt (SciPy quadrature, Ein from E1).

    What is left after both terms must be O(gamma^-2): it falls by a factor near
    100 from gamma = 1e3 to 1e4 (the next order moves that factor by O(1/gamma);
    the window (50, 200) rejects a wrong first or second term, which leave a
    residual falling by 1 or 10)."""
    eps = 0.01
    a = (d - 1) / 2
    c = 2.0**-a / (a * sp.beta(a, a))
    k1 = a * math.gamma(2 - 1 / a) * c ** (1 / a)
    k2 = a * a * math.gamma(3 - 2 / a) * c ** (2 / a)
    assert float(theory.supercritical_rate(d)) == pytest.approx(k1, rel=rtol(np.float64))
    log_ratio = math.log((1 - eps) / eps)
    ein = lambda t: sp.exp1(t) + math.log(t) + np.euler_gamma  # noqa: E731
    i2 = integrate.quad(lambda t: math.exp(-t) * -math.expm1(-t) * ein(t) / t, 0, np.inf, epsabs=1e-14, limit=200)[0]
    gammas = np.array([1e3, 1e4])
    deficit_p = 1 - np.asarray(theory.supercritical_prob_max_weight_above(d, jnp.asarray(gammas), eps))
    deficit_w = np.asarray(theory.supercritical_max_weight_deficit(d, jnp.asarray(gammas)))
    residual_p = gammas * deficit_p - (k1 * log_ratio - k2 / gammas * (log_ratio**2 / 2 - math.pi**2 / 12))
    residual_w = gammas * deficit_w - (k1 * math.log(2) - k2 / gammas * i2)
    for residual in (residual_p, residual_w):
        assert 50 < residual[0] / residual[1] < 200, residual
    assert theory.supercritical_rate(3) == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="d must be an integer >= 3"):
        theory.supercritical_rate(2)
    with pytest.raises(ValueError, match="eps must be in"):
        theory.supercritical_prob_max_weight_above(3, 10.0, eps=0.7)
