"""mc_estimate with a tuple of built-in observables: one pass over the same
contexts, equal to separate calls with the same key."""

import functools

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import rtol

import lattn_jax as lj


# The stacking is the same for every method (it wraps the atoms kernels), so one
# method keeps the compile count, and the test's time, low; both branches run
# (with derivatives, and without: then no derivative fields).
@pytest.mark.parametrize(("method", "derivative"), [("dense", True), ("dense", False)])
def test_tuple_equals_separate_calls(key, method, derivative):
    """Same contexts, same kernels: the stacked pass equals separate calls to
    float round-off (rtol(float32); the sums are reduced in a different layout)."""
    law, n, betas = lj.UniformSphere(4), 300, jnp.array([[2.0, 20.0], [60.0, 200.0]])
    observables = (lj.entropy, functools.partial(lj.top_k_mass, k=3))
    together = lj.mc_estimate(observables, law, n, betas, key, 32, method=method, derivative=derivative, head=128)
    assert isinstance(together, tuple) and len(together) == len(observables)
    for obs, est in zip(observables, together, strict=True):
        alone = lj.mc_estimate(obs, law, n, betas, key, 32, method=method, derivative=derivative, head=128)
        fields = ("mean", "stderr") + (("derivative", "derivative_stderr") if derivative else ())
        for field in fields:
            got, want = getattr(est, field), getattr(alone, field)
            assert got.shape == betas.shape
            np.testing.assert_allclose(got, want, rtol=rtol(jnp.float32), err_msg=field)
        if not derivative:
            assert est.derivative is None and est.derivative_stderr is None
        assert est.truncation_error is None


@pytest.mark.parametrize("bad", [(), (lj.entropy, lambda q, keys, beta: jnp.sum(keys)), (lj.entropy, 3)])
def test_tuple_of_non_builtins_is_rejected(key, bad):
    with pytest.raises(TypeError, match="built-in observables"):
        lj.mc_estimate(bad, lj.UniformSphere(3), 100, 1.0, key, 8)
