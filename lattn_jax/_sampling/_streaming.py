"""Streaming contexts: observables of ``n`` keys in chunks, with memory O(chunk)
whatever ``n`` is.

A context is its PRNG key. Chunk ``j`` holds the gaps
``law.sample_gaps(jax.random.fold_in(key, j), chunk)`` (the last chunk masked to
``n``), regenerated whenever they are needed, so derivatives in ``beta`` store no
keys. The chunks are folded into a ``Summary`` of the logits
``z_i = -beta g_i`` with the online (flash-attention) log-sum-exp update: with a
running maximum ``m``,

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

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._laws import AbstractLaw
from .._observables import Summary, finisher

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


class StreamingSampler(eqx.Module):
    """Contexts of ``n`` keys evaluated chunk by chunk (see the module docstring).

    A context's "row" is its PRNG key; ``evaluate`` streams the keys.
    """

    law: AbstractLaw
    n: int = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)
    method: str = eqx.field(static=True, default="streaming")

    @property
    def row_size(self) -> int:
        """Elements held per context at a time (a chunk of keys)."""
        return self._chunk * self.law.dim

    @property
    def _chunk(self) -> int:
        return min(self.chunk, self.n)

    @property
    def num_chunks(self) -> int:
        return -(-self.n // self._chunk)

    def sample(self, key: PRNGKeyArray) -> PRNGKeyArray:
        """The context itself: its key (keys are generated while streaming)."""
        return key

    def chunk_gaps(self, key: PRNGKeyArray, index: ArrayLike) -> tuple[Float[Array, " c"], Array]:
        """Chunk ``index``'s gaps and which of them are real keys (the last chunk
        is masked to ``n``)."""
        c = self._chunk
        gaps = self.law.sample_gaps(jax.random.fold_in(key, index), c, self.dtype)
        last = self.n - (self.num_chunks - 1) * c
        valid = jnp.arange(c) < jnp.where(index == self.num_chunks - 1, last, c)
        return gaps, valid

    def summary(self, key: PRNGKeyArray, beta: ArrayLike, k: int = 0) -> Summary:
        """The ``Summary`` of the context ``key`` at ``beta``, one chunk at a
        time (each chunk rematerialized under reverse-mode differentiation)."""
        if not 0 <= k <= self.n:
            raise ValueError(f"k must be an integer in [1, {self.n}] (keys available), got {k}")

        @jax.checkpoint
        def step(carry, _):
            state, index = carry
            gaps, valid = self.chunk_gaps(key, index)
            return (absorb(state, -beta * gaps, valid), index + 1), None

        init = (empty_summary(beta, self.law.gap_max, k, self.dtype), jnp.zeros((), jnp.uint32))
        (state, _), _ = jax.lax.scan(step, init, None, length=self.num_chunks)  # no O(n / chunk) index array
        return state

    def evaluate(self, row: PRNGKeyArray, kernel: Callable, beta: ArrayLike) -> Array:
        """The built-in observable with gap kernel ``kernel`` on context ``row`` at ``beta``."""
        finish, k = finisher(kernel)
        return finish(self.summary(row, beta, k))

    def smallest(self, row: PRNGKeyArray, k: int) -> Float[Array, " k"]:
        """The ``k`` smallest gaps of the context, ascending."""
        return -self.summary(row, jnp.ones((), self.dtype), k).top
