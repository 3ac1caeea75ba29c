"""Random contexts as gap data: how a context of ``n`` keys is drawn and turned
into ``Atoms`` at a given ``beta``.

Two methods:

- ``"dense"``: all ``n`` gaps, from ``law.sample_gaps`` (exact for any law; cost
  and memory O(n) per context).
- ``"order-statistics"``: for laws with a closed-form gap law, the ``K``
  smallest of the ``n`` gaps drawn *exactly* (uniform order statistics from
  exponential spacings and one Gamma variate for the other ``n - K``, pushed
  through the gap quantile), plus the other ``n - K`` keys folded in by their
  exact conditional expectation given the ``K``-th gap, as Gauss–Legendre
  atoms of ``int e^{-beta g} f(g) dg`` over ``(g_K, g_max)``. Cost O(K) per
  context whatever ``n`` is. With ``K >= n`` it is exact (a sorted full
  sample). With ``K < n`` the far keys' random sum is replaced by its
  conditional mean, which moves smooth observables at second order only.
  Measured against all ``n`` gaps of the same contexts (default ``K = 2048``;
  ``tests/test_estimators.py`` for d <= 8, ``tests/test_auto_method.py`` and
  ``benchmarks/order_statistics_bias.py`` for d = 8 ... 128, n = 2e4 and 1e5):
  the bias in E[max weight] and E[H] is below 1e-9 at ``beta >= beta*``, at
  most 0.016 of the Monte Carlo error of 8192 contexts at ``0.3 beta*``, and
  up to 0.12 of it for E[H] at ``0.1 beta*`` (d = 128, n = 1e5), where
  ``ContextSampler.truncation_error`` (conservative in every measured case)
  makes ``"auto"`` redo the estimate exactly.

- ``"streaming"``: all ``n`` keys, generated and folded in chunk by chunk
  (``lattn_jax._sampling._streaming``): exact like dense, memory O(chunk) for any
  ``n``, time O(n).

``"auto"`` takes order statistics when the law has a gap law, at every ``d``
([`mc_estimate`][lattn_jax.mc_estimate] then checks the reported truncation error and
redoes the estimate exactly when it is not negligible), otherwise dense up to
``n = 2**22`` keys and streaming above.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._laws import AbstractGapLaw, AbstractLaw
from .._numerics._special import gamma_large, legendre_unit
from .._observables import Atoms, atoms_summary, finisher, reference_gap
from .._validation import default_float
from ._streaming import DEFAULT_CHUNK, StreamingSampler

METHODS = ("auto", "dense", "order-statistics", "streaming")
DEFAULT_HEAD = 2048
TAIL_NODES = 48
_GAMMA_TRIES = 8
STREAMING_THRESHOLD = 2**22


def exact_method(n: int) -> str:
    """The exact method for ``n`` keys: dense while a context fits in memory
    comfortably, streaming above ``STREAMING_THRESHOLD`` keys."""
    return "dense" if n <= STREAMING_THRESHOLD else "streaming"


def resolve_method(law: AbstractLaw, method: str, n: int) -> str:
    """The concrete method ``"auto"`` stands for (see the module docstring)."""
    if method == "auto":
        return "order-statistics" if isinstance(law, AbstractGapLaw) else exact_method(n)
    if method == "order-statistics" and not isinstance(law, AbstractGapLaw):
        raise ValueError(
            f"method='order-statistics' needs a law with a closed-form gap law; {type(law).__name__} has none"
        )
    return method


class ContextSampler(eqx.Module):
    """Draws one context's gap data from a key and builds its atoms at ``beta``.

    ``n`` is static for the dense method (it is a shape) and a traced scalar for
    order statistics: rows always hold ``K`` entries, the ones past ``n`` (when
    ``n < K``) padded and given zero multiplicity, so one compilation serves
    every ``n``.
    """

    law: AbstractLaw
    n: int | Array
    method: str = eqx.field(static=True)
    head: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @staticmethod
    def make(
        law: AbstractLaw, n: int, method: str, head: int = DEFAULT_HEAD, dtype=None, chunk: int = DEFAULT_CHUNK
    ) -> "ContextSampler | StreamingSampler":
        """The sampler for ``method`` (``"auto"`` resolved; ``chunk`` is the
        streaming method's keys per chunk)."""
        method = resolve_method(law, method, n)
        dtype = jnp.dtype(dtype or default_float())
        if method == "streaming":
            return StreamingSampler(law, n, chunk, dtype)
        if method == "dense":
            return ContextSampler(law, n, method, n, dtype)
        return ContextSampler(law, jnp.asarray(n, dtype), method, head, dtype)

    @property
    def row_size(self) -> int:
        return self.head if self.method == "order-statistics" else self.n

    def _num_exact(self) -> Array:
        return jnp.minimum(self.n, self.head).astype(jnp.int32)

    def sample(self, key: PRNGKeyArray) -> Float[Array, " m"]:
        """One context's gap data: all gaps (dense) or the ``min(n, K)`` smallest,
        ascending (order statistics; padded with ``gap_max`` up to ``K``)."""
        if self.method == "dense":
            return self.law.sample_gaps(key, self.n, self.dtype)
        # All random bits in one draw (each threefry call costs compile time).
        u = jax.random.uniform(key, (self.head + 2 * _GAMMA_TRIES,), self.dtype, minval=jnp.finfo(self.dtype).tiny)
        spacings = -jnp.log(u[: self.head])
        m = self._num_exact()
        valid = jnp.arange(self.head, dtype=jnp.int32) < m
        partial = jnp.cumsum(spacings)
        s_m = partial[m - 1]
        # U_(j) = S_j / S_{n+1}; S_{n+1} - S_m is a sum of n - m + 1 spacings.
        rest = gamma_large(u[self.head :].reshape(2, _GAMMA_TRIES), self.n - m.astype(self.dtype) + 1.0)
        log_total = jnp.log(s_m + rest)
        log_u = jnp.log(partial) - log_total
        log_1mu = jnp.log(jnp.where(valid, s_m - partial, 0.0) + rest) - log_total
        gaps = self.law.gap_quantile(log_u, log_1mu)
        return jnp.where(valid, gaps, self.law.gap_max)

    def atoms(self, row: Float[Array, " m"], beta: ArrayLike) -> Atoms:
        """The context's atoms at ``beta`` (the far keys' atoms depend on ``beta``)."""
        if self.method == "dense":
            return Atoms(row)
        head_counts = jnp.where(jnp.arange(self.head, dtype=jnp.int32) < self._num_exact(), 0.0, -jnp.inf).astype(
            row.dtype
        )
        has_tail = self.n > self.head
        g_k = jnp.where(has_tail, row[-1], 0.5 * self.law.gap_max)  # a safe stand-in without a tail
        beta_pos = jnp.maximum(beta, 1e-30)
        nodes, weights = legendre_unit(TAIL_NODES, row.dtype)
        span = -jnp.expm1(-beta_pos * (self.law.gap_max - g_k))  # 1 - e^{-T}
        t = -jnp.log1p(-nodes * span)
        tail_gaps = g_k + t / beta_pos
        _, log_sf = self.law.gap_log_cdf_pair(g_k)
        log_tail_keys = jnp.log(jnp.maximum(self.n - self.head, 0.0)) - log_sf  # -inf without a tail
        log_counts = (
            jnp.log(span)
            - jnp.log(beta_pos)
            + jnp.log(weights)
            + self.law.gap_log_density(tail_gaps)
            + t
            + log_tail_keys
        )
        gaps = jnp.concatenate([row, tail_gaps])
        return Atoms(gaps, jnp.concatenate([head_counts, log_counts]), self.head)

    def evaluate(self, row: Float[Array, " m"], kernel, beta: ArrayLike) -> Array:
        """``kernel`` (a gap kernel of a built-in observable) on the context at ``beta``."""
        return kernel(self.atoms(row, beta), beta)

    def smallest(self, row: Float[Array, " m"], k: int) -> Float[Array, " k"]:
        """The ``k`` smallest gaps of the context, ascending."""
        return -jax.lax.top_k(-row, k)[0]

    def truncation_error(self, row: Float[Array, " m"], kernel, beta: ArrayLike) -> Float[Array, "*k"]:
        """Second-order effect on ``kernel`` of replacing the far keys by their
        conditional mean (order statistics; ``0`` when ``n <= K``).

        Given the ``K`` smallest gaps, the far keys are ``n - K`` i.i.d. gaps
        beyond ``g_K``; treated as a Poisson cloud with intensity ``mu`` (which
        bounds the multinomial covariance from above), an observable ``f`` of the
        cloud changes on average by

            E[f] - f(mean cloud) ~ 1/2 sum_j c_j d^2 f / d c_j^2,

        where the tail atoms (count ``c_j`` at gap ``g_j``) discretize ``mu``;
        the first-order term vanishes. Every built-in observable is a function
        ``F`` of the sums ``s = (s0, s1, s2)`` of a ``Summary``, which are
        linear in the counts, ``ds / dc_j = a_j = (e^{z_j}, z_j e^{z_j}, e^{2 z_j})``,
        so the sum is ``1/2 tr(H M)`` with ``H`` the 3 x 3 Hessian of ``F`` and
        ``M = sum_j c_j a_j a_j^T``. For the max weight ``1/Z`` this is
        ``Var(T) / Z^3`` with ``Var(T) = sum_j c_j e^{-2 beta (g_j - g_1)}``.
        """
        if self.method != "order-statistics":
            return jnp.zeros((), row.dtype)
        atoms = self.atoms(row, beta)
        finish, k = finisher(kernel)
        summary = atoms_summary(atoms, beta, k)
        z = -beta * (atoms.gaps[self.head :] - reference_gap(atoms))  # the tail atoms' logits, as in the summary
        root = jnp.exp(0.5 * atoms.log_counts[self.head :] + z)  # sqrt(c_j) e^{z_j}; 0 for an empty tail
        b = jnp.stack([root, root * z, root * jnp.exp(z)])
        moments = b @ b.T

        def of_sums(s):
            return finish(eqx.tree_at(lambda t: (t.s0, t.s1, t.s2), summary, (s[0], s[1], s[2])))

        hessian = jax.hessian(of_sums)(jnp.stack([summary.s0, summary.s1, summary.s2]))
        return 0.5 * jnp.sum(hessian * moments, axis=(-2, -1))


# Gap values per vmapped chunk: about 1 MiB of float32 on CPU (measured best for
# dense and order statistics: the chunk stays in cache); 16 MiB on accelerators,
# where each chunk is a kernel launch (not measured: no GPU was lent yet).
_BATCH_ELEMENTS_CPU = 2**18
_BATCH_ELEMENTS_ACCELERATOR = 2**22


def batch_size(num_contexts: int, row_size: int, elements: int | None = None) -> int:
    """Contexts per vmapped chunk so a chunk holds about ``elements`` gap values
    (by default per backend, see ``_BATCH_ELEMENTS_CPU``); a divisor of
    ``num_contexts`` when one is close, so ``lax.map`` needs no separately
    compiled remainder chunk."""
    if elements is None:
        elements = _BATCH_ELEMENTS_CPU if jax.default_backend() == "cpu" else _BATCH_ELEMENTS_ACCELERATOR
    limit = max(1, min(num_contexts, elements // max(row_size, 1)))
    divisor = max(d for d in range(1, limit + 1) if num_contexts % d == 0)
    return divisor if 4 * divisor >= limit else limit
