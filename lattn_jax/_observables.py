"""Observables: scalars of one context's attention weights, as types.

An observable is an [`AbstractObservable`][lattn_jax.AbstractObservable]: a
Module that evaluates on ``Atoms`` (a context as gaps with multiplicities) and
is callable as ``f(q, keys, beta)``, differentiable in ``beta`` to any order.
Those that are functions of a context's ``Summary`` (the sums ``s0, s1, s2``
and the top logits) subclass
[`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable]: they also
stream and share one pass over the keys when stacked. The built-ins are
instances: ``entropy``, ``max_weight``, ``top_k_mass`` (``TopKMass(2)``),
``effective_size`` and ``participation_ratio``.
"""

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike, Float

from ._attention import gaps
from ._numerics._special import legendre_unit
from ._validation import ArgumentTypeError, ArgumentValueError, check_beta, check_int

TAIL_NODES = 48  # Gauss-Legendre atoms for the far keys of a truncated context


class Atoms(eqx.Module):
    """A context as gaps with multiplicities: atom ``i`` stands for
    ``exp(log_counts[i])`` keys at gap ``gaps[i]`` (``log_counts=None``: one key
    each). The first ``num_head`` atoms are single keys (or padding, with count
    0) and hold the smallest gaps; the rest, if any, are quadrature atoms for
    the far keys (order statistics, the Poisson limit).

    Examples:
        >>> import jax.numpy as jnp
        >>> atoms = Atoms(jnp.array([0.3, 0.1, 0.2]))
        >>> atoms.smallest(2).tolist()
        [0.10000000149011612, 0.20000000298023224]
        >>> [round(float(w), 4) for w in jnp.exp(atoms.log_weights(0.0)[0])]  # beta = 0: uniform
        [0.3333, 0.3333, 0.3333]
    """

    gaps: Float[Array, " m"]
    log_counts: Float[Array, " m"] | None = None
    num_head: int | None = eqx.field(static=True, default=None)

    def reference_gap(self) -> Float[Array, ""]:
        """The smallest gap held by a key (atoms of multiplicity zero are padding)."""
        if self.log_counts is None:
            return jnp.min(self.gaps)
        return jnp.min(jnp.where(self.log_counts > -jnp.inf, self.gaps, jnp.inf))

    def log_weights(self, beta: ArrayLike) -> tuple[Float[Array, " m"], Float[Array, " m"]]:
        """``(log w, log counts)``: the attention weight of one key of each atom
        (atom ``i`` holds ``exp(log w_i + log counts_i)`` of the mass) and the
        atoms' log multiplicities."""
        log_counts = jnp.zeros_like(self.gaps) if self.log_counts is None else self.log_counts
        z = -beta * (self.gaps - self.reference_gap())
        return z - logsumexp(z + log_counts), log_counts

    def head(self) -> Float[Array, " h"]:
        """The single keys' gaps (``inf`` for padding)."""
        if self.log_counts is None:
            return self.gaps
        num = self.gaps.shape[0] if self.num_head is None else self.num_head
        return jnp.where(self.log_counts[:num] > -jnp.inf, self.gaps[:num], jnp.inf)

    def smallest(self, k: int) -> Float[Array, " k"]:
        """The ``k`` smallest gaps of single keys, ascending (``k`` static)."""
        return -jax.lax.top_k(-self.head(), k)[0]


def tail_atoms(
    start: ArrayLike, beta: ArrayLike, end: ArrayLike, log_intensity, dtype
) -> tuple[Float[Array, " t"], Float[Array, " t"]]:
    """Quadrature atoms ``(gaps, log_counts)`` for keys spread over ``(start, end)``
    with intensity ``exp(log_intensity(g))`` per unit gap, resolved where their
    weights ``e^{-beta (g - start)}`` live: ``g = start + t / beta`` with
    ``t = -log(1 - u (1 - e^{-beta (end - start)}))`` and ``u`` on
    ``TAIL_NODES`` Gauss-Legendre nodes (``end = inf`` allowed). Used by order
    statistics (the far keys given the ``K``-th gap) and by the Poisson limit.

    Examples:
        >>> import jax.numpy as jnp
        >>> g, lc = tail_atoms(0.0, 1.0, jnp.inf, lambda g: jnp.zeros_like(g), jnp.float32)
        >>> round(float(jnp.sum(jnp.exp(lc - g))), 4)  # int_0^inf e^{-g} dg
        1.0
    """
    beta = jnp.maximum(beta, 1e-30)
    nodes, weights = legendre_unit(TAIL_NODES, dtype)
    span = -jnp.expm1(-beta * (end - start))  # 1 - e^{-T}
    t = -jnp.log1p(-nodes * span)
    g = start + t / beta
    return g, jnp.log(span) - jnp.log(beta) + jnp.log(weights) + t + log_intensity(g)


class Summary(eqx.Module):
    """What a summary observable needs of one context's logits ``z_i = -beta g_i``:
    a reference ``m >= max z`` (the maximum for single keys) and, relative to it,

        s0 = sum_i e^{z_i - m},
        s1 = sum_i e^{z_i - m} (z_i - m),
        s2 = sum_i e^{2 (z_i - m)},

    plus the ``k`` largest logits (``k`` may be 0). Then max weight ``= 1 / s0``,
    ``H = log s0 - s1 / s0``, participation ratio ``= s0^2 / s2`` and top-k mass
    ``= sum_{top k} e^{z - m} / s0``. Dense contexts build it in one pass
    (``dense_summary``), streaming ones chunk by chunk.

    Examples:
        >>> import jax.numpy as jnp
        >>> s = dense_summary(jnp.array([0.0, 1.0]), jnp.log(3.0))
        >>> round(float(max_weight.from_summary(s)), 4)
        0.75
    """

    m: Float[Array, ""]
    s0: Float[Array, ""]
    s1: Float[Array, ""]
    s2: Float[Array, ""]
    top: Float[Array, " k"]


def dense_summary(g: Float[Array, " n"], beta: ArrayLike) -> Summary:
    """The ``Summary`` (no top logits) of single keys at gaps ``g``.

    With ``u = g - g_min >= 0`` (exact, so large ``beta`` loses nothing) and
    ``e = exp(-beta u) <= 1``, the sums are dot products ``e . 1``, ``e . u`` and
    ``e . e``: the same sums as a reduction, but XLA runs a dot (also batched over
    contexts and ``beta`` by ``vmap``) several times faster on CPU. Sums an
    observable does not use are dropped by XLA."""
    g_min = jnp.min(g)
    u = g - g_min
    e = jnp.exp(-beta * u)
    zero = jnp.zeros((0,), g.dtype)
    return Summary(-beta * g_min, jnp.dot(e, jnp.ones_like(e)), -beta * jnp.dot(e, u), jnp.dot(e, e), zero)


def atoms_summary(atoms: Atoms, beta: ArrayLike, k: int = 0) -> Summary:
    """The ``Summary`` of atoms with multiplicities (order statistics), with
    logits taken relative to the smallest gap, ``z = -beta (g - g_min)``, so
    ``m = 0`` and the nearest key has ``z = 0``; ``top`` holds the ``k`` largest
    logits of the head (single keys)."""
    head = atoms.gaps.shape[0] if atoms.num_head is None else atoms.num_head
    z, log_counts = -beta * (atoms.gaps - atoms.reference_gap()), atoms.log_counts
    e = jnp.exp(z + log_counts)  # 0 where the multiplicity is 0
    top = jax.lax.top_k(jnp.where(log_counts[:head] > -jnp.inf, z[:head], -jnp.inf), k)[0]
    zero = jnp.zeros((), z.dtype)
    return Summary(zero, jnp.sum(e), jnp.sum(e * z), jnp.sum(e * jnp.exp(z)), top)


class AbstractObservable(eqx.Module):
    """A scalar of one context's attention weights.

    Subclass it with ``on_atoms(atoms, beta)``: the value on a context given as
    [`Atoms`][lattn_jax.Atoms] (all gaps of a dense context, or the nearest keys
    exactly plus quadrature atoms for the far ones). The subclass is then
    callable as ``f(q, keys, beta)`` and runs in
    [`mc_estimate`][lattn_jax.mc_estimate] with the dense and order-statistics
    methods (with order statistics' truncation error, from second derivatives
    in the far atoms' counts). For streaming, subclass
    [`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable].

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> import lattn_jax as lj
        >>> class NearestShare(lj.AbstractObservable):  # w_(1) / (w_(1) + w_(2))
        ...     def on_atoms(self, atoms, beta):
        ...         g1, g2 = atoms.smallest(2)
        ...         return jax.nn.sigmoid(beta * (g2 - g1))
        >>> q, keys = jnp.array([1.0, 0.0]), jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(NearestShare()(q, keys, jnp.log(3.0))), 4)
        0.75
    """

    @abc.abstractmethod
    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, "*k"]:
        """The value on ``atoms`` at ``beta``."""

    def __call__(self, q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, "*k"]:
        beta = check_beta("beta", beta)
        return self.on_atoms(Atoms(gaps(q, keys)), beta)

    def count_curvature(self, atoms: Atoms, beta: ArrayLike, start: int) -> Float[Array, "*k"]:
        """``1/2 sum_{j >= start} c_j d^2 f / d c_j^2``: the second-order change of
        the value when the atoms from ``start`` on (counts ``c_j``) are a Poisson
        cloud rather than their mean (order statistics' truncation error). Here
        by forward-over-forward derivatives along each count."""
        head, tail = atoms.log_counts[:start], atoms.log_counts[start:]

        def along(direction):
            def f(t):  # counts c (1 + t e_j): d^2 f / dt^2 = c_j^2 f_jj
                counts = jnp.concatenate([head, tail + jnp.log1p(t * direction)])
                return self.on_atoms(Atoms(atoms.gaps, counts, atoms.num_head), beta)

            zero = jnp.zeros((), atoms.gaps.dtype)
            return jax.jvp(lambda s: jax.jvp(f, (s,), (jnp.ones_like(s),))[1], (zero,), (jnp.ones_like(zero),))[1]

        curvature = jax.vmap(along)(jnp.eye(tail.shape[0], dtype=atoms.gaps.dtype))
        inverse = jnp.where(tail > -jnp.inf, jnp.exp(-tail), 0.0).reshape((-1,) + (1,) * (curvature.ndim - 1))
        return 0.5 * jnp.sum(inverse * curvature, axis=0)


class AbstractSummaryObservable(AbstractObservable):
    """An observable that is a function of a context's [`Summary`][lattn_jax.Summary]:
    ``from_summary(summary)``, with ``num_top`` top logits in it. Such
    observables also stream (any ``n`` in memory O(chunk)), share one pass over
    the keys when stacked, and get order statistics' truncation error in
    closed form. ``on_atoms`` defaults to the summary of the atoms.

    Examples:
        >>> import jax.numpy as jnp
        >>> import lattn_jax as lj
        >>> class LogPartition(lj.AbstractSummaryObservable):  # log sum_i e^{-beta g_i}
        ...     def from_summary(self, s):
        ...         return s.m + jnp.log(s.s0)
        >>> q, keys = jnp.array([1.0, 0.0]), jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(LogPartition()(q, keys, 0.0)), 4)  # log 2
        0.6931
    """

    @abc.abstractmethod
    def from_summary(self, summary: Summary) -> Float[Array, "*k"]:
        """The value from the context's summary."""

    @property
    def num_top(self) -> int:
        """How many of the largest logits the summary must hold (static)."""
        return 0

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, "*k"]:
        if atoms.log_counts is None and self.num_top == 0:
            return self.from_summary(dense_summary(atoms.gaps, beta))
        counted = atoms if atoms.log_counts is not None else Atoms(atoms.gaps, jnp.zeros_like(atoms.gaps))
        return self.from_summary(atoms_summary(counted, beta, self.num_top))

    def count_curvature(self, atoms: Atoms, beta: ArrayLike, start: int) -> Float[Array, "*k"]:
        """The Poisson term in closed form: the sums ``s = (s0, s1, s2)`` are
        linear in the counts, ``ds / dc_j = a_j = (e^{z_j}, z_j e^{z_j}, e^{2 z_j})``,
        so ``1/2 sum_j c_j d^2 f / dc_j^2 = 1/2 tr(H M)`` with ``H`` the 3 x 3
        Hessian of ``from_summary`` in ``s`` and ``M = sum_j c_j a_j a_j^T``. For
        the max weight ``1/Z`` this is ``Var(T) / Z^3`` with
        ``Var(T) = sum_j c_j e^{-2 beta (g_j - g_1)}``."""
        summary = atoms_summary(atoms, beta, self.num_top)
        z = -beta * (atoms.gaps[start:] - atoms.reference_gap())  # the tail atoms' logits, as in the summary
        root = jnp.exp(0.5 * atoms.log_counts[start:] + z)  # sqrt(c_j) e^{z_j}; 0 for an empty tail
        b = jnp.stack([root, root * z, root * jnp.exp(z)])
        moments = b @ b.T

        def of_sums(s):
            return self.from_summary(eqx.tree_at(lambda t: (t.s0, t.s1, t.s2), summary, (s[0], s[1], s[2])))

        hessian = jax.hessian(of_sums)(jnp.stack([summary.s0, summary.s1, summary.s2]))
        return 0.5 * jnp.sum(hessian * moments, axis=(-2, -1))


class Entropy(AbstractSummaryObservable):
    """Shannon entropy ``H = -sum_i w_i log w_i`` of the attention weights (nats).

    ``log n`` at ``beta = 0``, ``0`` when one key takes all the mass;
    ``dH/dbeta = -beta Var_w(<q, k>)``. The built-in instance is ``lj.entropy``.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(entropy(q, keys, 0.0)), 4)  # log 2
        0.6931
    """

    def from_summary(self, summary: Summary) -> Float[Array, ""]:
        return jnp.log(summary.s0) - summary.s1 / summary.s0

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, ""]:
        if atoms.log_counts is None:
            return self.from_summary(dense_summary(atoms.gaps, beta))
        lw, lc = atoms.log_weights(beta)
        return -jnp.sum(jnp.exp(lw + lc) * lw)


class MaxWeight(AbstractSummaryObservable):
    """The largest attention weight ``max_i w_i = 1 / sum_i exp(-beta (g_i - g_min))``.
    The built-in instance is ``lj.max_weight``.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(max_weight(q, keys, jnp.log(3.0))), 4)
        0.75
    """

    def from_summary(self, summary: Summary) -> Float[Array, ""]:
        return 1.0 / summary.s0  # the nearest key has z = m: its weight is 1 / s0

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, ""]:
        if atoms.log_counts is None:
            return self.from_summary(dense_summary(atoms.gaps, beta))
        lw, lc = atoms.log_weights(beta)
        return jnp.exp(jnp.max(jnp.where(lc > -jnp.inf, lw, -jnp.inf)))


class ParticipationRatio(AbstractSummaryObservable):
    """Inverse participation ratio ``1 / sum_i w_i^2`` (between 1 and ``n``).
    The built-in instance is ``lj.participation_ratio``.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(participation_ratio(q, keys, 0.0)), 4)
        3.0
    """

    def from_summary(self, summary: Summary) -> Float[Array, ""]:
        return summary.s0 * summary.s0 / summary.s2

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, ""]:
        if atoms.log_counts is None:
            return self.from_summary(dense_summary(atoms.gaps, beta))
        lw, lc = atoms.log_weights(beta)
        return jnp.exp(-logsumexp(lc + 2.0 * lw))


class EffectiveSize(AbstractSummaryObservable):
    """``exp(H)``: the number of keys attention effectively averages over.
    The built-in instance is ``lj.effective_size``.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(effective_size(q, keys, 0.0)), 4)
        3.0
    """

    def from_summary(self, summary: Summary) -> Float[Array, ""]:
        return jnp.exp(Entropy().from_summary(summary))

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, ""]:
        return jnp.exp(Entropy().on_atoms(atoms, beta))


class TopKMass(AbstractSummaryObservable):
    """Total weight of the ``k`` heaviest keys (``k`` static, ``>= 1``).
    ``lj.top_k_mass`` is ``TopKMass(2)``; pass ``lj.TopKMass(k)`` for another ``k``.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(TopKMass(2)(q, keys, 0.0)), 4)
        0.6667
    """

    k: int = eqx.field(static=True)

    def __init__(self, k: int = 2):
        self.k = check_int("k", k, minimum=1)

    @property
    def num_top(self) -> int:
        return self.k

    def from_summary(self, summary: Summary) -> Float[Array, ""]:
        return jnp.sum(jnp.exp(summary.top - summary.m)) / summary.s0

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, ""]:
        lw, lc = atoms.log_weights(beta)
        head = (lw + lc) if atoms.num_head is None else (lw + lc)[: atoms.num_head]  # padding has lc = -inf
        if self.k > head.shape[0]:
            raise ArgumentValueError(f"k must be an integer in [1, {head.shape[0]}] (keys available), got {self.k}")
        return jnp.exp(logsumexp(jax.lax.top_k(head, self.k)[0]))


entropy = Entropy()
"""Shannon entropy of the attention weights (nats), an ``Entropy`` instance (an
[`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable]): ``lj.entropy(q, keys, beta)``."""
max_weight = MaxWeight()
"""The largest attention weight, a ``MaxWeight`` instance (an
[`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable]): ``lj.max_weight(q, keys, beta)``."""
top_k_mass = TopKMass(2)
"""The weight of the two heaviest keys, ``TopKMass(2)``; ``lj.TopKMass(k)`` for another ``k``."""
effective_size = EffectiveSize()
"""``exp(H)``, an ``EffectiveSize`` instance (an
[`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable])."""
participation_ratio = ParticipationRatio()
"""``1 / sum_i w_i^2``, a ``ParticipationRatio`` instance (an
[`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable])."""


def _stacked(observables: tuple[AbstractObservable, ...], atoms: Atoms, beta: ArrayLike) -> Array:
    # On single keys the summary observables without top logits share one dense_summary (one pass).
    if atoms.log_counts is not None:
        return jnp.stack([o.on_atoms(atoms, beta) for o in observables])
    s = dense_summary(atoms.gaps, beta)

    def one(o):
        shares = isinstance(o, AbstractSummaryObservable) and o.num_top == 0
        return o.from_summary(s) if shares else o.on_atoms(atoms, beta)

    return jnp.stack([one(o) for o in observables])


class Stack(AbstractObservable):
    """Several observables on the same context, values along a last axis."""

    observables: tuple[AbstractObservable, ...]

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, " k"]:
        return _stacked(self.observables, atoms, beta)


class SummaryStack(AbstractSummaryObservable):
    """Several summary observables from one summary, values along a last axis."""

    observables: tuple[AbstractSummaryObservable, ...]

    @property
    def num_top(self) -> int:
        return max(o.num_top for o in self.observables)

    def from_summary(self, summary: Summary) -> Float[Array, " k"]:
        def part(o):
            return o.from_summary(eqx.tree_at(lambda s: s.top, summary, summary.top[: o.num_top]))

        return jnp.stack([part(o) for o in self.observables])

    def on_atoms(self, atoms: Atoms, beta: ArrayLike) -> Float[Array, " k"]:
        return _stacked(self.observables, atoms, beta)


def stack(observables: tuple[AbstractObservable, ...]) -> AbstractObservable:
    """One observable for several (values stacked along a last axis): a summary
    observable when every part is one."""
    if all(isinstance(o, AbstractSummaryObservable) for o in observables):
        return SummaryStack(observables)
    return Stack(observables)


def as_observable(name: str, observable) -> "AbstractObservable | None":
    """``observable`` itself when it is an ``AbstractObservable``, ``None`` for a
    user's plain function ``f(q, keys, beta)`` (whole key contexts, dense only);
    a ``TypeError`` naming ``name`` otherwise."""
    if isinstance(observable, AbstractObservable):
        return observable
    old_spelling = isinstance(observable, functools.partial) and isinstance(observable.func, AbstractObservable)
    if old_spelling:  # functools.partial(lj.top_k_mass, k=3)
        raise ArgumentTypeError(
            f"{name}: a functools.partial of a built-in observable is not an observable; "
            "use lj.TopKMass(k) for the top-k mass with another k"
        )
    if not callable(observable):
        kind = type(observable).__name__
        raise ArgumentTypeError(
            f"{name} must be a function f(q, keys, beta) or an observable such as lj.entropy, got {kind}"
        )
    return None
