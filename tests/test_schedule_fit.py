"""fit_schedule learns the critical exponent 2/(d-1) by gradient descent."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from conftest import assert_z, rtol

import lattn_jax as lj
from lattn_jax import theory

NS = [1e3, 1e4, 1e5, 1e6, 1e7]
STEPS = 150


@pytest.fixture(scope="module")
def fits():
    """One fit per d (order statistics: the cost does not grow with n); d = 3 runs under jax.jit."""
    out = {}
    with jax.numpy_dtype_promotion("strict"):
        out.update(_fits())
    return out


def _fits():
    out = {}
    for d in [3, 4, 6]:

        def fit(key, d=d):
            return lj.fit_schedule(lj.UniformSphere(d), NS, key, steps=STEPS, num_contexts=256)

        out[d] = (jax.jit(fit) if d == 3 else fit)(jax.random.key(d))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("d", [3, 4, 6])
def test_learned_exponent_matches_theory(fits, d):
    """The learned exponent against theory's: the weighted least-squares slope,
    over NS, of log(n^{2/(d-1)} (1 + kappa n^{-2/(d-1)})) (the first finite-size
    correction included), within 4 standard errors. Each log beta(n) carries the
    fit's Monte Carlo error on the mean max weight divided by dm/dlog gamma at
    gamma* (Poisson-limit curve, central difference), and the slope's standard
    error is that of a weighted least-squares fit with those errors."""
    fit = fits[d]
    assert isinstance(fit.schedule, lj.PowerLaw)
    gamma = theory.critical_constant(d)
    h = 1e-2
    m = np.asarray(theory.limit_mean_max_weight(d, jnp.asarray(gamma * np.exp([-h, h]), jnp.float32)))
    slope = (m[1] - m[0]) / (2 * h)
    x = np.log(NS)
    w = (slope / np.asarray(fit.max_weight_stderr, np.float64)) ** 2  # 1 / var(log beta)
    xbar = np.sum(w * x) / np.sum(w)
    sxx = np.sum(w * (x - xbar) ** 2)
    p = 2 / (d - 1)
    target_y = p * x + np.log1p(theory.finite_size_coefficient(d) * np.exp(-p * x))
    target = np.sum(w * (x - xbar) * target_y) / sxx
    assert_z(fit.schedule.exponent, target, 1 / np.sqrt(sxx))
    # at the fit every n sits at the level within its Monte Carlo error
    for mean, se in zip(np.asarray(fit.max_weight), np.asarray(fit.max_weight_stderr), strict=True):
        assert_z(mean, 0.5, se)
    np.testing.assert_allclose(fit.ns, NS, rtol=rtol(np.float32))


@pytest.mark.slow
@pytest.mark.parametrize("d", [3, 4, 6])
def test_loss_decreases_on_average(fits, d):
    history = np.asarray(fits[d].loss_history)
    assert history.shape == (STEPS,)
    blocks = history.reshape(10, -1).mean(axis=1)
    # block means never rise by more than round-off of the final plateau
    assert np.all(np.diff(blocks) <= 1e-3 * blocks[-1]), blocks
    assert blocks[-1] < 0.01 * blocks[0]
    assert float(fits[d].loss) <= history[-1] * (1 + 1e-3)


def test_init_and_custom_optimizer(key):
    # With a zero learning rate the fit stays at init (dense contexts: a cheap compile).
    init = lj.PowerLaw(3.0, 0.9)
    fit = lj.fit_schedule(
        lj.UniformSphere(3), [10, 30], key, steps=2, optimizer=optax.sgd(0.0), init=init, num_contexts=8, method="dense"
    )
    assert float(fit.schedule.exponent) == pytest.approx(0.9, rel=1e-6)
    assert float(fit.schedule.prefactor) == pytest.approx(3.0, rel=1e-5)
    assert float(fit.loss) == pytest.approx(float(fit.loss_history[0]), rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(ns=[100, 100]), ValueError, "at least two distinct"),
        (dict(ns=[1, 100]), ValueError, "ns must be an integer >= 2"),
        (dict(level=1.5), ValueError, r"level must be in the open interval \(0, 1\)"),
        (dict(level=0.001), ValueError, "level must exceed 1/n"),
        (dict(steps=0), ValueError, "steps must be an integer >= 1"),
        (dict(method="fast"), ValueError, "method must be one of"),
        (dict(init=lj.Constant(2.0)), TypeError, "init must be a PowerLaw"),
        (dict(law="sphere"), TypeError, "law must be a context law"),
    ],
)
def test_fit_schedule_errors(key, kwargs, error, message):
    args = dict(law=lj.UniformSphere(3), ns=[100, 1000]) | kwargs
    with pytest.raises(error, match=message):
        lj.fit_schedule(args.pop("law"), args.pop("ns"), key, **args)
