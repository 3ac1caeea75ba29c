"""Supercritical formulas: the Dickman law, its rates, and the check against Monte Carlo."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special as sp

from lattn_jax import theory
from lattn_jax.theory._supercritical import _ein


def test_ein_against_scipy(x64):
    theta = np.array([1e-6, 1e-3, 0.5, 0.999, 1.0, 3.0, 30.0, 500.0])
    ref = sp.exp1(theta) + np.log(theta) + np.euler_gamma
    ref[:2] = [sum((-1) ** (k + 1) * t**k / (k * math.factorial(k)) for k in range(1, 6)) for t in theta[:2]]
    np.testing.assert_allclose(np.asarray(_ein(jnp.asarray(theta))), ref, rtol=1e-13)


def test_d3_closed_form(x64):
    """d = 3: the neighbours form a homogeneous Poisson process of rate r = 1/(2 gamma), so
    P(W_(1) > 1 - eps) = e^{-gamma_E r} t^r / Gamma(1 + r), t = eps / (1 - eps)."""
    n, eps = 10**4, 0.05
    for gamma in [0.5, 3.0, 40.0]:
        r = 1 / (2 * gamma)
        t = eps / (1 - eps)
        expected = math.exp(-np.euler_gamma * r) * t**r / math.gamma(1 + r)
        got = float(theory.prob_max_weight_above(3, n, gamma * n, eps))
        assert got == pytest.approx(expected, rel=1e-10)


def test_d3_deficit_against_simulated_dickman(x64):
    """d = 3: E[S / (1 + S)] with S = sum_j e^{-x_j} over a Poisson process of rate
    r = 1/(2 gamma) on (0, 40), simulated in NumPy (|z| < 4)."""
    rng = np.random.default_rng(0)
    gamma, samples = 2.0, 200_000
    r = 1 / (2 * gamma)
    counts = rng.poisson(r * 40.0, samples)
    points = rng.uniform(0.0, 40.0, counts.sum())
    s = np.bincount(np.repeat(np.arange(samples), counts), weights=np.exp(-points), minlength=samples)
    values = s / (1 + s)
    got = float(theory.expected_max_weight_deficit(3, 10**4, gamma * 10**4))
    z = (values.mean() - got) / (values.std(ddof=1) / math.sqrt(samples))
    assert abs(z) < 4


@pytest.mark.parametrize("d", [3, 4, 6, 10])
def test_rates(d, x64):
    """gamma (1 - P) -> K_d log((1-eps)/eps) and gamma E[1 - W] -> K_d log 2 as gamma -> oo;
    K_3 = 1/2 and the error is O(1/gamma)."""
    n, eps = 10**6, 0.01
    k = theory.supercritical_rate(d)
    gammas = np.array([1e3, 1e4])
    beta = jnp.asarray(gammas * n ** (2 / (d - 1)))
    deficit_p = 1 - np.asarray(theory.prob_max_weight_above(d, n, beta, eps))
    deficit_w = np.asarray(theory.expected_max_weight_deficit(d, n, beta))
    for ratio, target in [(gammas * deficit_p, k * math.log((1 - eps) / eps)), (gammas * deficit_w, k * math.log(2))]:
        errors = np.abs(ratio / target - 1)
        assert errors[1] < 2e-3 and errors[1] < errors[0]
    assert theory.supercritical_rate(3) == 0.5


def test_bad_arguments():
    with pytest.raises(ValueError, match="d must be an integer >= 3"):
        theory.supercritical_rate(2)
    with pytest.raises(ValueError, match="eps must be in"):
        theory.prob_max_weight_above(3, 100, 1e3, eps=0.7)
