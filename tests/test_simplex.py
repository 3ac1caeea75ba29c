"""The simplex model of arXiv 2510.05554: the transition at gamma_c = 1/(1 - rho)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_z, rtol

import lattn_jax as lj

RHO, D = 0.5, 128


def brute_force_gaps(rng, n, contexts, rho=RHO, d=D):
    """The n - 1 other tokens' gaps in NumPy float64, from the model itself:
    y_i = sqrt(rho) e_1 + sqrt(1 - rho) z_i, z_i uniform on the unit sphere of R^{d-1},
    and the query y_0 (z_0 = e_2), so 1 - <y_0, y_i> = (1 - rho)(1 - <e_2, z_i>) with
    (1 + <e_2, z_i>) / 2 ~ Beta((d - 2)/2, (d - 2)/2)."""
    a = (d - 2) / 2
    return (1 - rho) * 2 * rng.beta(a, a, size=(contexts, n - 1))


def test_exact_simplex_formula():
    """w = 1 / (1 + (n - 1) n^{-gamma (1 - rho)}) at beta = gamma log n, and 1/2 at
    the root beta = log(n - 1) / (1 - rho) of (n - 1) e^{-beta (1 - rho)} = 1 (float32)."""
    n = 1e4
    for gamma_ratio, expected in [
        (1.0, n / (2 * n - 1)),
        (0.5, 1 / (1 + (n - 1) / n**0.5)),
        (1.5, 1 / (1 + (n - 1) / n**1.5)),
    ]:
        beta = gamma_ratio * math.log(n) / (1 - RHO)
        assert float(lj.simplex_self_weight(n, beta, RHO)) == pytest.approx(expected, rel=rtol(np.float32))
    root = math.log(n - 1) / (1 - RHO)
    assert float(lj.simplex_self_weight(n, root, RHO)) == pytest.approx(0.5, rel=rtol(np.float32))


def test_keys_form_an_almost_simplex(key):
    """<y_i, y_j> = rho + (1 - rho) <z_i, z_j>, <z_i, z_j> with mean 0 and variance
    1/(d - 1). Distinct pairs are uncorrelated (and so are their squares: given z_i,
    <z_i, z_j> and <z_i, z_k> are independent with variance 1/(d - 1) whatever z_i),
    so the pair mean and the mean square have standard errors sigma / sqrt(#pairs): |z| < 4."""
    law = lj.Simplex(RHO, 512)
    # Both samplers in one compiled program (eagerly, their ops compile one by one).
    keys, gaps = jax.jit(lambda k: (law.sample(k, 200), law.sample_gaps(k, 200)))(key)
    np.testing.assert_allclose(jnp.linalg.norm(keys, axis=1), 1.0, rtol=rtol(np.float32))
    np.testing.assert_allclose(keys[0], law.query(), atol=0)  # the query is the first token
    dev = (np.asarray(keys @ keys.T, np.float64)[np.triu_indices(200, 1)] - RHO) / (1 - RHO)
    assert_z(dev.mean(), 0.0, math.sqrt(1 / 511 / dev.size))
    assert_z(np.mean(dev**2), 1 / 511, np.std(dev**2, ddof=1) / math.sqrt(dev.size))
    # sample and sample_gaps describe the same context
    np.testing.assert_allclose(gaps, 1 - keys @ law.query(), atol=2e-6)


def test_transition_at_gamma_c(key):
    """E[max weight] at beta = gamma log n against a float64 NumPy brute force of the
    model (1 / (1 + sum_j e^{-beta g_j})), |z| < 4 with both standard errors; it falls
    below gamma_c and rises above it as n grows."""
    rng = np.random.default_rng(1)
    law = lj.Simplex(RHO, D)
    ratios = np.array([0.5, 1.0, 1.5])  # gamma / gamma_c
    curves = []
    for i, (n, contexts) in enumerate([(100, 4096), (10_000, 256)]):
        beta = ratios * law.critical_gamma * math.log(n)
        est = lj.mc_estimate(lj.max_weight, law, n, jnp.asarray(beta, jnp.float32), jax.random.fold_in(key, i), 32)
        gaps = brute_force_gaps(rng, n, contexts)
        for j, b in enumerate(beta):
            w = 1 / (1 + np.exp(-b * gaps).sum(axis=1))
            se = math.hypot(float(est.stderr[j]), w.std(ddof=1) / math.sqrt(contexts), rtol(np.float32))
            assert_z(est.mean[j], w.mean(), se)
        curves.append(np.asarray(est.mean))
    below, at, above = np.array(curves).T
    assert below[1] < below[0] and above[1] > above[0]


def test_critical_beta_on_the_simplex(key):
    """find_critical_beta on the simplex law against the root of E[max weight] = 1/2
    of the NumPy brute force, linearised at the search's beta:
    beta_np = beta - (m(beta) - 1/2) / m'(beta), m' = E[sum_j g_j e^{-beta g_j} / (1 + S)^2],
    standard error se(m) / m'; |z| < 4 with both standard errors."""
    n, contexts = 1000, 4096
    crit = lj.find_critical_beta(lj.Simplex(RHO, D), n, key, num_contexts=32)
    beta = float(crit.beta)
    gaps = brute_force_gaps(np.random.default_rng(2), n, contexts)
    terms = np.exp(-beta * gaps)
    w = 1 / (1 + terms.sum(axis=1))
    slope = np.mean((gaps * terms).sum(axis=1) * w**2)
    root = beta - (w.mean() - 0.5) / slope
    assert_z(beta, root, math.hypot(float(crit.stderr), w.std(ddof=1) / math.sqrt(contexts) / slope))


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"rho must be a number in \[0, 1\)"):
        lj.Simplex(1.0, 64)
    with pytest.raises(ValueError, match="d must be an integer >= 3"):
        lj.Simplex(0.5, 2)
