"""mc_estimates with a tuple of observables: one pass over the same contexts,
equal to separate calls with the same key."""

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
    observables = (lj.entropy, lj.TopKMass(3))
    together = lj.mc_estimates(observables, law, n, betas, key, 32, method=method, derivative=derivative, head=128)
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
        lj.mc_estimates(bad, lj.UniformSphere(3), 100, 1.0, key, 8)


def test_one_observable_per_mc_estimate(key):
    """mc_estimate returns one Estimate whatever its input; a tuple is mc_estimates' job."""
    with pytest.raises(TypeError, match="mc_estimates"):
        lj.mc_estimate((lj.entropy, lj.max_weight), lj.UniformSphere(3), 100, 1.0, key, 8)


def test_stack_of_two_top_k_masses(key):
    """Stacked top-k masses with different k each read their own top logits
    (streaming: one summary holding the largest k)."""
    law = lj.UniformSphere(3)
    together = lj.mc_estimates((lj.TopKMass(2), lj.TopKMass(5)), law, 300, 50.0, key, 16, method="streaming")
    for obs, est in zip((lj.TopKMass(2), lj.TopKMass(5)), together, strict=True):
        alone = lj.mc_estimate(obs, law, 300, 50.0, key, 16, method="streaming")
        np.testing.assert_allclose(est.mean, alone.mean, rtol=rtol(jnp.float32))
