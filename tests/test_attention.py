import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import sphere

from lattn_jax import UniformSphere, attention_logits, attention_output, attention_weights, gaps


def _keys(seed: int, shape: tuple[int, ...], d: int) -> jax.Array:
    """Uniform unit keys (float32) from NumPy: the attention functions are under
    test, not the law's sampler, whose eager op-by-op compilations for every
    shape cost more than the tests."""
    return jnp.asarray(sphere(np.random.default_rng(seed), shape, d), jnp.float32)


def _reference_weights(q, keys, beta):
    keys = np.asarray(keys, np.float64)
    keys = keys / np.linalg.norm(keys, axis=1, keepdims=True)  # exact unit keys
    logits = beta * (keys @ np.asarray(q, np.float64))
    w = np.exp(logits - logits.max())
    return w / w.sum()


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit])
@pytest.mark.parametrize("beta", [0.0, 1.0, 30.0, 300.0])
def test_weights_match_softmax_of_dot_products(transform, beta):
    law = UniformSphere(4)
    keys = _keys(0, (500,), 4)
    w = transform(attention_weights)(law.query(), keys, beta)
    assert w.shape == (500,)
    np.testing.assert_allclose(w, _reference_weights(law.query(), keys, beta), rtol=1e-4, atol=1e-7)
    assert float(w.sum()) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(jnp.exp(attention_logits(law.query(), keys, beta)), w, rtol=2e-5, atol=1e-12)


def test_output_identity_matrix_and_vector_values():
    law = UniformSphere(3)
    keys = _keys(1, (200,), 3)
    q = law.query()
    w = _reference_weights(q, keys, 5.0)
    np.testing.assert_allclose(attention_output(q, keys, 5.0), w @ np.asarray(keys), rtol=1e-5, atol=1e-6)
    values = jnp.asarray(np.random.default_rng(6).standard_normal((200, 7)), jnp.float32)  # no sampler compiles
    np.testing.assert_allclose(attention_output(q, keys, 5.0, values), w @ np.asarray(values), rtol=1e-4, atol=1e-5)
    scalars = values[:, 0]
    out = attention_output(q, keys, 5.0, scalars)
    assert out.shape == ()
    assert float(out) == pytest.approx(float(w @ np.asarray(scalars)), rel=1e-4, abs=1e-5)


def test_output_at_zero_beta_is_mean():
    keys = _keys(2, (100,), 3)
    np.testing.assert_allclose(attention_output(jnp.array([1.0, 0, 0]), keys, 0.0), keys.mean(0), atol=1e-6)


def test_vmap_over_contexts_queries_and_beta():
    law = UniformSphere(3)
    contexts = _keys(3, (4, 50), 3)
    queries = _keys(4, (6,), 3)
    betas = jnp.array([0.0, 1.0, 10.0])
    f = jax.vmap(jax.vmap(jax.vmap(attention_weights, (None, None, 0)), (0, None, None)), (None, 0, None))
    w = jax.jit(f)(queries, contexts, betas)
    assert w.shape == (4, 6, 3, 50)
    np.testing.assert_allclose(w[2, 5, 1], _reference_weights(queries[5], contexts[2], 1.0), rtol=1e-4, atol=1e-7)
    out = jax.vmap(attention_output, (None, 0, None))(law.query(), contexts, 2.0)
    assert out.shape == (4, 3)
    want = np.stack([_reference_weights(law.query(), c, 2.0) @ np.asarray(c, np.float64) for c in contexts])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)  # as test_output_identity_matrix_and_vector_values


def test_gaps_are_accurate_near_the_query(x64):
    # A key at angle 1e-5 from q: gap = 1 - cos(1e-5) = 5e-11, lost entirely by 1 - <q, k> in float32.
    theta = 1e-5
    q = jnp.array([1.0, 0.0], jnp.float32)
    k = jnp.array([[np.cos(theta), np.sin(theta)]], jnp.float32)
    assert float(gaps(q, k)[0]) == pytest.approx(1 - np.cos(theta), rel=1e-6)


@pytest.mark.parametrize(
    ("q", "keys"),
    [(jnp.ones(3), jnp.ones((5, 4))), (jnp.ones((2, 3)), jnp.ones((5, 3))), (jnp.ones(3), jnp.ones((0, 3)))],
)
def test_bad_shapes(q, keys):
    with pytest.raises(ValueError, match="q must have shape|at least one key"):
        attention_weights(q, keys, 1.0)


def test_bad_values_shape():
    keys = _keys(5, (10,), 3)
    with pytest.raises(ValueError, match="values must have one row per key"):
        attention_output(jnp.array([1.0, 0, 0]), keys, 1.0, jnp.ones((9, 2)))


@pytest.mark.parametrize("beta", [-0.5, float("nan")])
def test_bad_beta(beta):
    keys = _keys(5, (10,), 3)
    with pytest.raises(ValueError, match="beta must be finite and >= 0"):
        attention_weights(jnp.array([1.0, 0, 0]), keys, beta)
