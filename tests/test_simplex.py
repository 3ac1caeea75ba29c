"""The simplex model of arXiv 2510.05554: the transition at gamma_c = 1/(1 - rho)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lattn_jax as lj

RHO, D = 0.5, 128


def annealed_self_weight(n, beta, rho, d):
    """1 / (1 + (n - 1) E[exp(-beta g)]) with g = (1 - rho) 2B, B ~ Beta(a, a),
    a = (d - 2) / 2 (the other tokens' gaps): E[exp(-2 c B)] = 1F1(a; 2a; -2c)."""
    from scipy.special import hyp1f1

    a = (d - 2) / 2
    return 1.0 / (1.0 + (n - 1) * hyp1f1(a, 2 * a, -2 * beta * (1 - rho)))


def test_exact_simplex_formula():
    n = 1e4
    for gamma_ratio, expected in [
        (1.0, n / (2 * n - 1)),
        (0.5, 1 / (1 + (n - 1) / n**0.5)),
        (1.5, 1 / (1 + (n - 1) / n**1.5)),
    ]:
        beta = gamma_ratio * math.log(n) / (1 - RHO)
        assert float(lj.simplex_self_weight(n, beta, RHO)) == pytest.approx(expected, rel=1e-5)


def test_keys_form_an_almost_simplex(key):
    law = lj.Simplex(RHO, 512)
    keys = law.sample(key, 200)
    np.testing.assert_allclose(jnp.linalg.norm(keys, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(keys[0], law.query(), atol=0)  # the query is the first token
    gram = np.asarray(keys @ keys.T)[np.triu_indices(200, 1)]
    assert abs(gram.mean() - RHO) < 4 * (1 - RHO) / math.sqrt(511) / math.sqrt(gram.size) * 10
    assert gram.std() == pytest.approx((1 - RHO) / math.sqrt(511), rel=0.1)
    # sample and sample_gaps describe the same context
    np.testing.assert_allclose(law.sample_gaps(key, 200), 1 - keys @ law.query(), atol=2e-6)


def test_transition_at_gamma_c(key):
    """E[max weight] at beta = gamma log n: falls towards 0 below gamma_c and rises
    towards 1 above it as n grows, 1/2 at gamma_c; each value matches the finite-d
    annealed formula within Monte Carlo error."""
    law = lj.Simplex(RHO, D)
    ratios = np.array([0.5, 1.0, 1.5])  # gamma / gamma_c
    curves = []
    for i, n in enumerate([100, 10_000]):
        beta = ratios * law.critical_gamma * math.log(n)
        est = lj.mc_estimate(lj.max_weight, law, n, jnp.asarray(beta, jnp.float32), jax.random.fold_in(key, i), 32)
        expected = annealed_self_weight(n, beta, RHO, D)
        z = (np.asarray(est.mean) - expected) / np.maximum(np.asarray(est.stderr), 1e-6)
        assert np.all(np.abs(z) < 4), (n, est.mean, expected)
        curves.append(np.asarray(est.mean))
    below, at, above = np.array(curves).T
    assert below[1] < below[0] and below[1] < 0.02
    assert above[1] > above[0] and above[1] > 0.95
    # at gamma_c: n / (2n - 1) -> 1/2 for the exact simplex; finite d pulls it lower as log n / d grows
    np.testing.assert_allclose(at, 0.5, atol=0.1)


def test_critical_beta_on_the_simplex(key):
    """find_critical_beta on the simplex law against the annealed root of
    (n - 1) E[exp(-beta g)] = 1, close to log(n - 1) / (1 - rho)."""
    from scipy.optimize import brentq

    n = 1000
    crit = lj.find_critical_beta(lj.Simplex(RHO, D), n, key, num_contexts=32)
    root = brentq(lambda b: annealed_self_weight(n, b, RHO, D) - 0.5, 1.0, 100.0)
    assert abs(float(crit.beta) - root) < 4 * float(crit.stderr) + 1e-4 * root
    assert root == pytest.approx(math.log(n - 1) / (1 - RHO), rel=0.05)


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"rho must be a number in \[0, 1\)"):
        lj.Simplex(1.0, 64)
    with pytest.raises(ValueError, match="d must be an integer >= 3"):
        lj.Simplex(0.5, 2)
