"""Samplers: how a random context of ``n`` keys is drawn from a PRNG key and how
an observable is evaluated on it, one final class per sampling method.

- [`DenseSampler`][lattn_jax._sampling._contexts.DenseSampler] (``"dense"``):
  all ``n`` gaps in memory, exact for any law.
- [`OrderStatisticsSampler`][lattn_jax._sampling._contexts.OrderStatisticsSampler]
  (``"order-statistics"``): the ``K`` smallest gaps exactly and the far keys by
  their conditional mean, O(K) per context whatever ``n`` is, for laws with a
  closed-form gap law. Its only approximation has a bias bounded by
  ``truncation_error``.
- [`StreamingSampler`][lattn_jax._sampling._contexts.StreamingSampler]
  (``"streaming"``): all ``n`` keys, generated and folded chunk by chunk
  (memory O(chunk)), for summary observables.
- [`KeySampler`][lattn_jax._sampling._contexts.KeySampler]: whole key contexts,
  for a user's plain function ``f(q, keys, beta)``.

[`make_sampler`][lattn_jax._sampling._contexts.make_sampler] chooses once.
``"auto"`` takes order statistics for an ``AbstractGapLaw`` (at every ``d``)
and otherwise the exact sampler by size: dense up to ``2**22`` keys, streaming
above. To add a method, subclass ``AbstractSampler`` here, add its name to
``Method`` and ``_CONSTRUCTORS``, and test it. The accuracy of order statistics
against all ``n`` gaps is in the README ("How contexts are sampled") and in
``benchmarks/RESULTS.md``.
"""

import abc
import typing
from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._attention import gaps
from .._laws import AbstractGapLaw, AbstractLaw
from .._numerics._special import gamma_large
from .._observables import AbstractObservable, AbstractSummaryObservable, Atoms, Summary, tail_atoms
from .._validation import ArgumentTypeError, ArgumentValueError, check_choice, default_float
from ._streaming import DEFAULT_CHUNK, absorb, empty_summary

Method = Literal["auto", "dense", "order-statistics", "streaming"]
METHODS: tuple[str, ...] = typing.get_args(Method)
DEFAULT_HEAD = 2048
STREAMING_THRESHOLD = 2**22
_GAMMA_TRIES = 8


class AbstractSampler(eqx.Module):
    """Draws one context (a "row") from a PRNG key and evaluates observables on it.

    Callers ask the sampler, never the method name: ``sample``, ``evaluate``
    (``evaluate_with_error`` with the bias bound), ``smallest``, ``row_size``
    (elements held per context at a time, for chunking), ``presample`` (whether
    rows may be drawn once and held), ``exact`` (``False``: ``truncation_error``
    bounds the bias) and ``check``.
    """

    law: eqx.AbstractVar[AbstractLaw]
    dtype: eqx.AbstractVar[jnp.dtype]
    name: ClassVar[str]  # the method's name, for messages and records
    max_n: ClassVar[tuple[int, str]]  # the largest n the method supports, and why

    @property
    @abc.abstractmethod
    def row_size(self) -> int:
        """Elements a context holds in memory at a time."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray) -> Array:
        """One context's row, deterministically from ``key``."""

    @abc.abstractmethod
    def evaluate(self, row: Array, observable, beta: ArrayLike) -> Array:
        """``observable`` on the context ``row`` at ``beta``."""

    def smallest(self, row: Array, k: int) -> Float[Array, " k"]:
        """The ``k`` smallest gaps of the context, ascending."""
        return -jax.lax.top_k(-row, k)[0]

    def start_log_beta(self, rows: Array) -> Float[Array, ""]:
        """``log beta`` where the two nearest keys compete, ``-log mean(g_(2) - g_(1))``
        over ``rows``: where the critical searches start."""
        first_two = jax.vmap(lambda row: self.smallest(row, 2))(rows)
        spacing = jnp.mean(first_two[:, 1] - first_two[:, 0])
        return -jnp.log(jnp.maximum(spacing, jnp.finfo(spacing.dtype).tiny))

    @property
    def presample(self) -> bool:
        """Whether rows may be drawn once and held (``False`` where a row is regenerated)."""
        return True

    @property
    def exact(self) -> bool:
        """Whether evaluations are exact (else ``truncation_error`` bounds the bias)."""
        return True

    def truncation_error(self, row: Array, observable, beta: ArrayLike) -> Array:
        """The method's bias bound on ``observable`` (``0`` for exact methods)."""
        return jnp.zeros((), self.dtype)

    def evaluate_with_error(self, row: Array, observable, beta: ArrayLike) -> tuple[Array, Array]:
        """``evaluate`` and ``truncation_error`` together (a sampler may share the work)."""
        return self.evaluate(row, observable, beta), self.truncation_error(row, observable, beta)

    def check(self, observable) -> None:
        """``observable`` usable with this sampler (``TypeError`` otherwise)."""
        if not isinstance(observable, AbstractObservable):
            raise ArgumentTypeError(
                "a plain function f(q, keys, beta) runs on whole key contexts (method='dense'); "
                "this sampler takes the built-in observables only (and AbstractObservable subclasses), "
                f"got {observable!r}"
            )


class DenseSampler(AbstractSampler):
    """All ``n`` gaps of a context, from ``law.sample_gaps`` (exact for any law;
    O(n) time and memory per context; ``n`` is a shape, so static)."""

    name: ClassVar[str] = "dense"
    max_n: ClassVar[tuple[int, str]] = (2**31 - 1, "a context is one array of n gaps")
    law: AbstractLaw
    n: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @property
    def row_size(self) -> int:
        return self.n

    def sample(self, key: PRNGKeyArray) -> Float[Array, " n"]:
        return self.law.sample_gaps(key, self.n, self.dtype)

    def evaluate(self, row: Float[Array, " n"], observable: AbstractObservable, beta: ArrayLike) -> Array:
        return observable.on_atoms(Atoms(row), beta)


class OrderStatisticsSampler(AbstractSampler):
    """The ``K = head`` smallest of ``n`` gaps drawn exactly (uniform order
    statistics from exponential spacings and one Gamma variate for the other
    ``n - K``, pushed through the gap quantile), plus the other ``n - K`` keys
    by their exact conditional expectation given the ``K``-th gap, as
    quadrature atoms of ``int e^{-beta g} f(g) dg`` over ``(g_K, g_max)``.
    Cost O(K) per context whatever ``n`` is; exact (a sorted full sample) when
    ``K >= n``. With ``K < n`` the far keys' random sum is replaced by its
    conditional mean, which moves smooth observables at second order only
    (``truncation_error``).

    ``n`` is a traced scalar: rows always hold ``K`` entries, the ones past
    ``n`` (when ``n < K``) padded and given zero multiplicity, so one
    compilation serves every ``n``.
    """

    name: ClassVar[str] = "order-statistics"
    max_n: ClassVar[tuple[int, str]] = (10**15, "its Gamma sampler is exact up to 1e15")
    law: AbstractGapLaw
    n: Float[Array, ""]
    head: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @property
    def row_size(self) -> int:
        return self.head

    @property
    def exact(self) -> bool:
        return False

    def _num_exact(self) -> Array:
        return jnp.minimum(self.n, self.head).astype(jnp.int32)

    def sample(self, key: PRNGKeyArray) -> Float[Array, " head"]:
        """The ``min(n, K)`` smallest gaps, ascending (padded with ``gap_max`` up to ``K``)."""
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
        gap = self.law.gap_quantile(log_u, log_1mu)
        return jnp.where(valid, gap, self.law.gap_max)

    def atoms(self, row: Float[Array, " head"], beta: ArrayLike) -> Atoms:
        """The context's atoms at ``beta`` (the far keys' atoms depend on ``beta``)."""
        head_counts = jnp.where(jnp.arange(self.head, dtype=jnp.int32) < self._num_exact(), 0.0, -jnp.inf)
        has_tail = self.n > self.head
        g_k = jnp.where(has_tail, row[-1], 0.5 * self.law.gap_max)  # a safe stand-in without a tail
        _, log_sf = self.law.gap_log_cdf_pair(g_k)
        log_tail_keys = jnp.log(jnp.maximum(self.n - self.head, 0.0)) - log_sf  # -inf without a tail

        def log_intensity(g):
            return self.law.gap_log_density(g) + log_tail_keys

        tail_gaps, log_counts = tail_atoms(g_k, beta, self.law.gap_max, log_intensity, row.dtype)
        counts = jnp.concatenate([head_counts.astype(row.dtype), log_counts])
        return Atoms(jnp.concatenate([row, tail_gaps]), counts, self.head)

    def evaluate(self, row: Float[Array, " head"], observable: AbstractObservable, beta: ArrayLike) -> Array:
        return observable.on_atoms(self.atoms(row, beta), beta)

    def truncation_error(self, row: Float[Array, " head"], observable: AbstractObservable, beta: ArrayLike) -> Array:
        """Second-order effect on ``observable`` of replacing the far keys by their
        conditional mean (``0`` when ``n <= K``).

        Given the ``K`` smallest gaps, the far keys are ``n - K`` i.i.d. gaps
        beyond ``g_K``; treated as a Poisson cloud with intensity ``mu`` (which
        bounds the multinomial covariance from above), an observable ``f`` of the
        cloud changes on average by ``E[f] - f(mean cloud) ~ 1/2 sum_j c_j d^2 f / d c_j^2``
        over the tail atoms (count ``c_j``); the first-order term vanishes. The
        observable computes it (``count_curvature``; in closed form for summary
        observables)."""
        return observable.count_curvature(self.atoms(row, beta), beta, self.head)

    def evaluate_with_error(
        self, row: Float[Array, " head"], observable: AbstractObservable, beta: ArrayLike
    ) -> tuple[Array, Array]:
        """The value and ``truncation_error`` from one set of atoms (the far keys'
        quadrature once, not twice: one copy in the compiled program). The error is
        a diagnostic and is not differentiated (under ``jax.jvp`` its tangent would
        be a third derivative)."""
        atoms = self.atoms(row, beta)
        error = observable.count_curvature(*jax.lax.stop_gradient((atoms, beta)), self.head)
        return observable.on_atoms(atoms, beta), error


class StreamingSampler(AbstractSampler):
    """Contexts of ``n`` keys evaluated chunk by chunk, memory O(chunk) for any ``n``.

    A context's row is its PRNG key. Chunk ``j`` holds the gaps
    ``law.sample_gaps(jax.random.fold_in(key, j), chunk)`` (the last chunk masked
    to ``n``), regenerated whenever they are needed, and folded into a
    ``Summary`` (``lattn_jax._sampling._streaming``), so it evaluates summary
    observables; equal to dense on the same gaps up to float round-off.
    """

    name: ClassVar[str] = "streaming"
    max_n: ClassVar[tuple[int, str]] = (10**15, "its chunk index allows 2**32 chunks of 2**18 keys, 1.1e15")
    law: AbstractLaw
    n: int = eqx.field(static=True)
    chunk: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @property
    def row_size(self) -> int:
        """Elements held per context at a time (a chunk of keys)."""
        return self._chunk * self.law.dim

    @property
    def presample(self) -> bool:
        return False  # a row is a key; its gaps are regenerated, never held

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
        g = self.law.sample_gaps(jax.random.fold_in(key, index), c, self.dtype)
        last = self.n - (self.num_chunks - 1) * c
        valid = jnp.arange(c) < jnp.where(index == self.num_chunks - 1, last, c)
        return g, valid

    def summary(self, key: PRNGKeyArray, beta: ArrayLike, k: int = 0) -> Summary:
        """The ``Summary`` of the context ``key`` at ``beta``, one chunk at a
        time (each chunk rematerialized under reverse-mode differentiation)."""
        if not 0 <= k <= self.n:
            raise ArgumentValueError(f"k must be an integer in [1, {self.n}] (keys available), got {k}")

        @jax.checkpoint
        def step(carry, _):
            state, index = carry
            g, valid = self.chunk_gaps(key, index)
            return (absorb(state, -beta * g, valid), index + 1), None

        init = (empty_summary(beta, self.law.gap_max, k, self.dtype), jnp.zeros((), jnp.uint32))
        (state, _), _ = jax.lax.scan(step, init, None, length=self.num_chunks)  # no O(n / chunk) index array
        return state

    def evaluate(self, row: PRNGKeyArray, observable: AbstractSummaryObservable, beta: ArrayLike) -> Array:
        return observable.from_summary(self.summary(row, beta, observable.num_top))

    def smallest(self, row: PRNGKeyArray, k: int) -> Float[Array, " k"]:
        return -self.summary(row, jnp.ones((), self.dtype), k).top

    def check(self, observable) -> None:
        if not isinstance(observable, AbstractSummaryObservable):
            raise ArgumentTypeError(
                "method='streaming' works for the built-in observables only (and AbstractSummaryObservable "
                f"subclasses: functions of a Summary); use method='dense' for {observable!r}"
            )


class KeySampler(AbstractSampler):
    """Whole contexts of ``n`` sampled keys, for a user's plain function
    ``f(q, keys, beta)`` (scored against ``law.query()``)."""

    name: ClassVar[str] = "dense"
    max_n: ClassVar[tuple[int, str]] = (2**31 - 1, "a context is one array of n keys")
    law: AbstractLaw
    n: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @property
    def row_size(self) -> int:
        return self.n * self.law.dim

    def sample(self, key: PRNGKeyArray) -> Float[Array, "n d"]:
        return self.law.sample(key, self.n, self.dtype)

    def evaluate(self, row: Float[Array, "n d"], observable, beta: ArrayLike) -> Array:
        return observable(self.law.query(row.dtype), row, beta)

    def smallest(self, row: Float[Array, "n d"], k: int) -> Float[Array, " k"]:
        return -jax.lax.top_k(-gaps(self.law.query(row.dtype), row), k)[0]

    def check(self, observable) -> None:
        if not callable(observable):
            raise ArgumentTypeError(f"observable must be a function f(q, keys, beta), got {type(observable).__name__}")


def _order_statistics(law, n, head, chunk, dtype) -> OrderStatisticsSampler:
    if not isinstance(law, AbstractGapLaw):
        raise ArgumentValueError(
            f"method='order-statistics' needs a law with a closed-form gap law; {type(law).__name__} has none"
        )
    return OrderStatisticsSampler(law, jnp.asarray(n, dtype), head, dtype)


_CONSTRUCTORS = {
    "dense": lambda law, n, head, chunk, dtype: DenseSampler(law, n, dtype),
    "order-statistics": _order_statistics,
    "streaming": lambda law, n, head, chunk, dtype: StreamingSampler(law, n, chunk, dtype),
}


def exact_sampler(law: AbstractLaw, n: int, *, chunk: int = DEFAULT_CHUNK, dtype=None) -> AbstractSampler:
    """The exact sampler for ``n`` keys: dense while a context fits in memory
    comfortably, streaming above ``STREAMING_THRESHOLD`` keys.

    Examples:
        >>> import lattn_jax as lj
        >>> type(exact_sampler(lj.UniformSphere(3), 10**8)).__name__
        'StreamingSampler'
    """
    dtype = jnp.dtype(dtype or default_float())
    if n <= STREAMING_THRESHOLD:
        return DenseSampler(law, n, dtype)
    return StreamingSampler(law, n, chunk, dtype)


def make_sampler(
    law: AbstractLaw,
    n: int,
    method: Method = "auto",
    *,
    head: int = DEFAULT_HEAD,
    chunk: int = DEFAULT_CHUNK,
    dtype=None,
    keys: bool = False,
) -> AbstractSampler:
    """The sampler for ``method`` (``"auto"`` resolved, see the module
    docstring); ``keys=True`` for a plain function ``f(q, keys, beta)``, which
    needs whole key contexts (``"auto"`` or ``"dense"`` only).

    Examples:
        >>> import lattn_jax as lj
        >>> type(make_sampler(lj.UniformSphere(3), 1000)).__name__
        'OrderStatisticsSampler'
    """
    check_choice("method", method, METHODS)
    dtype = jnp.dtype(dtype or default_float())
    if keys:
        if method not in ("auto", "dense"):
            raise ArgumentValueError(
                f"method={method!r} works for the built-in observables only (and AbstractObservable subclasses); "
                "a plain function f(q, keys, beta) runs on whole key contexts: use method='dense'"
            )
        return KeySampler(law, n, dtype)
    if method == "auto":
        if isinstance(law, AbstractGapLaw):
            return _order_statistics(law, n, head, chunk, dtype)
        return exact_sampler(law, n, chunk=chunk, dtype=dtype)
    return _CONSTRUCTORS[method](law, n, head, chunk, dtype)


def resolve_method(law: AbstractLaw, method: Method, n: int) -> str:
    """The name of the method ``method`` stands for with ``n`` keys of ``law``
    (``"auto"`` resolved; ``ValueError`` where the law does not allow it).

    Examples:
        >>> import lattn_jax as lj
        >>> resolve_method(lj.UniformSphere(3), "auto", 10**6)
        'order-statistics'
    """
    return make_sampler(law, n, method).name


def auto_fallback(
    law: AbstractLaw, n: int, method: Method, sampler: AbstractSampler, **kwargs
) -> AbstractSampler | None:
    """The exact sampler ``"auto"`` redoes an estimate with when ``sampler``'s
    truncation error is not negligible (``None`` when ``method`` was chosen
    explicitly or ``sampler`` is exact)."""
    if method != "auto" or sampler.exact:
        return None
    return exact_sampler(law, n, **kwargs)


# Gap values per vmapped chunk: about 1 MiB of float32 on CPU (measured best for
# dense and order statistics: the chunk stays in cache); 16 MiB on accelerators,
# where each chunk is a kernel launch (not measured: no GPU was lent yet).
_BATCH_ELEMENTS_CPU = 2**18
_BATCH_ELEMENTS_ACCELERATOR = 2**22


def batch_size(num_contexts: int, row_size: int, elements: int | None = None) -> int:
    """Contexts per vmapped chunk so a chunk holds about ``elements`` gap values
    (by default per backend, see ``_BATCH_ELEMENTS_CPU``); a divisor of
    ``num_contexts`` when one is close, so ``lax.map`` needs no separately
    compiled remainder chunk.

    Examples:
        >>> batch_size(256, 2048, 2**18)
        128
    """
    if elements is None:
        elements = _BATCH_ELEMENTS_CPU if jax.default_backend() == "cpu" else _BATCH_ELEMENTS_ACCELERATOR
    limit = max(1, min(num_contexts, elements // max(row_size, 1)))
    divisor = max(d for d in range(1, limit + 1) if num_contexts % d == 0)
    return divisor if 4 * divisor >= limit else limit
