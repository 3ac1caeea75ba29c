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
def test_tuple_equals_separate_calls(key):
    """Same contexts, same kernels: the stacked pass equals separate calls to
    float round-off (rtol(float32); the sums are reduced in a different layout),
    with derivatives; without them, the stacked pass's means and stderrs are the
    same values (so again the separate calls'), and it has no derivative fields.
    (Four compilations: the two separate calls are made once, with derivatives.)"""
    law, n, betas = lj.UniformSphere(4), 300, jnp.array([[2.0, 20.0], [60.0, 200.0]])
    observables = (lj.entropy, lj.TopKMass(3))
    together = lj.mc_estimates(observables, law, n, betas, key, 32, method="dense", derivative=True, head=128)
    plain = lj.mc_estimates(observables, law, n, betas, key, 32, method="dense", derivative=False, head=128)
    for result in (together, plain):
        assert isinstance(result, tuple) and len(result) == len(observables)
    for obs, est, est_plain in zip(observables, together, plain, strict=True):
        alone = lj.mc_estimate(obs, law, n, betas, key, 32, method="dense", derivative=True, head=128)
        for field in ("mean", "stderr", "derivative", "derivative_stderr"):
            got, want = getattr(est, field), getattr(alone, field)
            assert got.shape == betas.shape
            np.testing.assert_allclose(got, want, rtol=rtol(jnp.float32), err_msg=field)
        for field in ("mean", "stderr"):
            got, want = getattr(est_plain, field), getattr(alone, field)
            assert got.shape == betas.shape
            np.testing.assert_allclose(got, want, rtol=rtol(jnp.float32), err_msg=field)
        assert est_plain.derivative is None and est_plain.derivative_stderr is None
        assert est.truncation_error is None and est_plain.truncation_error is None


@pytest.mark.parametrize("bad", [(), (lj.entropy, lambda q, keys, beta: jnp.sum(keys)), (lj.entropy, 3)])
def test_tuple_of_non_builtins_is_rejected(key, bad):
    with pytest.raises(TypeError, match="built-in observables"):
        lj.mc_estimates(bad, lj.UniformSphere(3), 100, 1.0, key, 8)


def test_one_observable_per_mc_estimate(key):
    """mc_estimate returns one Estimate whatever its input; a tuple is mc_estimates' job."""
    with pytest.raises(TypeError, match="mc_estimates"):
        lj.mc_estimate((lj.entropy, lj.max_weight), lj.UniformSphere(3), 100, 1.0, key, 8)


# The streaming call of tests/test_streaming.py::test_streaming_estimate_agrees_with_dense
# (same observables, law, n, betas, contexts and chunk): one compilation between them.
STREAMING_STACK = (lj.entropy, lj.TopKMass(2), lj.TopKMass(5))


def test_stack_of_two_top_k_masses(key):
    """Stacked top-k masses with different k each read their own top logits
    (streaming: one summary holding the largest k)."""
    law, betas = lj.UniformSphere(3), jnp.array([30.0, 600.0, 8000.0])
    together = lj.mc_estimates(STREAMING_STACK, law, 2000, betas, key, 256, method="streaming", chunk=700)
    for obs, est in zip(STREAMING_STACK[1:], together[1:], strict=True):
        alone = lj.mc_estimate(obs, law, 2000, betas, key, 256, method="streaming", chunk=700)
        np.testing.assert_allclose(est.mean, alone.mean, rtol=rtol(jnp.float32))
