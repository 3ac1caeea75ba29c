"""Property-based checks (hypothesis) of the observables' invariants and of argument validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import sphere
from hypothesis import given, settings
from hypothesis import strategies as st

from lattn_jax import (
    UniformSphere,
    effective_size,
    entropy,
    max_weight,
    mc_estimate,
    participation_ratio,
    top_k_mass,
)

# A few shapes only, so the jitted observables compile once per shape.
contexts = st.tuples(
    st.sampled_from([2, 7, 300]), st.integers(min_value=0, max_value=2**31 - 1), st.sampled_from([2, 3, 8])
)


@jax.jit
def _observables(q, keys, beta):
    return (
        entropy(q, keys, beta),
        max_weight(q, keys, beta),
        participation_ratio(q, keys, beta),
        effective_size(q, keys, beta),
        top_k_mass(q, keys, beta),  # TopKMass(2)
        jax.grad(entropy, argnums=2)(q, keys, beta),
    )


_PAD = 8  # the largest d drawn


def _context(context):
    """Uniform keys on S^{d-1} from NumPy (the invariants are the observables';
    the keys only need to be unit vectors of the law), so no sampler compiles.
    Embedded in R^8 by zero coordinates (the query e_1 too): the same logits
    and gaps as in R^d, so one compilation per n instead of one per (n, d)."""
    n, seed, d = context
    keys = np.zeros((n, _PAD), np.float32)
    keys[:, :d] = sphere(np.random.default_rng(seed), (n,), d)
    return jnp.zeros(_PAD).at[0].set(1.0), jnp.asarray(keys)


betas = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(contexts, betas)
def test_observable_invariants(context, beta):
    n = context[0]
    h, w1, pr, es, top2, _ = (float(x) for x in _observables(*_context(context), beta))
    tol = 1e-5
    assert -tol <= h <= np.log(n) + tol
    assert 1 / n - tol <= w1 <= 1 + tol
    assert w1 - tol <= top2 <= 1 + tol
    # Renyi entropies decrease with order: log(1/max w) <= log(1/sum w^2) <= H.
    assert 1 / w1 <= pr * (1 + 1e-4) and pr <= es * (1 + 1e-4)


@settings(max_examples=30, deadline=None)
@given(contexts, betas, st.floats(min_value=1.0, max_value=10.0))
def test_max_weight_grows_and_entropy_falls_with_beta(context, beta, factor):
    q, keys = _context(context)
    h, w1, *_, dh = _observables(q, keys, beta)
    h_hot, w1_hot, *_ = _observables(q, keys, beta * factor)
    assert float(w1_hot) >= float(w1) * (1 - 1e-5)
    assert float(h_hot) <= float(h) + 1e-5
    assert float(dh) <= 1e-5  # dH/dbeta = -beta Var_w <= 0, up to float32 round-off


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        st.integers(max_value=1),
        st.floats(max_value=1.99, allow_nan=False),
        st.floats(allow_nan=True).filter(lambda x: not np.isfinite(x)),
        st.text(max_size=3),
        st.none(),
    )
)
def test_bad_n_is_rejected_with_its_name(bad_n):
    with pytest.raises((ValueError, TypeError), match="n must be"):
        mc_estimate(max_weight, UniformSphere(3), bad_n, 1.0, jax.random.key(0), 4)


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        st.floats(max_value=-1e-12, allow_nan=False, allow_infinity=True),
        st.just(float("nan")),
        st.just(float("inf")),
    )
)
def test_bad_beta_is_rejected_with_its_name(bad_beta):
    keys = jnp.asarray(sphere(np.random.default_rng(0), (5,), 3), jnp.float32)  # no sampler compiles
    q = jnp.array([1.0, 0.0, 0.0])
    for observable in [entropy, max_weight, top_k_mass]:
        with pytest.raises(ValueError, match="beta must be finite and >= 0"):
            observable(q, keys, bad_beta)
