"""The streaming fold: a ``Summary`` of a context's logits built chunk by chunk,
so observables of ``n`` keys need memory O(chunk) whatever ``n`` is (the
sampler is ``lattn_jax._sampling._contexts.StreamingSampler``).

The chunks are folded into a ``Summary`` of the logits ``z_i = -beta g_i`` with
the online (flash-attention) log-sum-exp update: with a running maximum ``m``,

    s0 = sum_i e^{z_i - m},   s1 = sum_i e^{z_i - m} (z_i - m),   s2 = sum_i e^{2 (z_i - m)},

rescaled by ``e^{m - m'}`` when the maximum moves to ``m'``, plus the ``k``
largest logits (a running top-k merge) when an observable needs them. Every
built-in observable is a function of the summary:

    max weight = 1 / s0,   H = log s0 - s1 / s0,   participation ratio = s0^2 / s2,
    top-k mass = sum_{top k} e^{z - m} / s0.

The result equals the dense method on the same gaps up to float round-off
(``tests/test_streaming.py``); user observables ``f(q, keys, beta)`` need whole
contexts and cannot stream.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._observables import Summary

DEFAULT_CHUNK = 2**18


def empty_summary(beta: ArrayLike, gap_max: float, k: int, dtype) -> Summary:
    """The summary of no keys. Its maximum ``-beta * gap_max`` is a lower bound of
    every logit, so merging needs no special case (and no ``-inf``)."""
    zero = jnp.zeros((), dtype)
    m = -jnp.asarray(beta, dtype) * gap_max
    return Summary(m, zero, zero, zero, jnp.full((k,), -jnp.inf, dtype))


def absorb(state: Summary, z: Float[Array, " c"], valid: Array) -> Summary:
    """``state`` updated with the logits ``z`` where ``valid``."""
    m = jnp.maximum(state.m, jnp.max(jnp.where(valid, z, state.m)))
    shift = state.m - m  # <= 0
    scale = jnp.exp(shift)
    dz = jnp.where(valid, z - m, 0.0)
    e = jnp.where(valid, jnp.exp(dz), 0.0)
    # Dot products, not reductions: several times faster on CPU (see _observables.dense_summary).
    s0 = scale * state.s0 + jnp.dot(e, jnp.ones_like(e))
    s1 = scale * (state.s1 + shift * state.s0) + jnp.dot(e, dz)
    s2 = scale * scale * state.s2 + jnp.dot(e, e)
    k = state.top.shape[0]
    top = state.top
    if k:
        top = jax.lax.top_k(jnp.concatenate([top, jnp.where(valid, z, -jnp.inf)]), k)[0]
    return Summary(m, s0, s1, s2, top)
