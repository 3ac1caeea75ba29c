"""Scalar observables of the attention weights of one context.

Each public observable is a pure function ``f(q, keys, beta)`` (differentiable
in ``beta`` to any order). Each also has a kernel on ``Atoms`` — gaps with
multiplicities — which the estimators use to skip the d-dimensional keys and to
fold in the far keys of an order-statistics context as quadrature atoms.
"""

import functools
import numbers
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp
from jaxtyping import Array, ArrayLike, Float

from ._attention import gaps
from ._validation import check_beta


class Atoms(eqx.Module):
    """A context as gaps with multiplicities: atom ``i`` stands for
    ``exp(log_counts[i])`` keys at gap ``gaps[i]``. The first ``num_head`` atoms
    are single keys and hold the smallest gaps (the largest individual weights);
    the rest, if any, are quadrature atoms for the far keys."""

    gaps: Float[Array, " m"]
    log_counts: Float[Array, " m"] | None = None
    num_head: int | None = eqx.field(static=True, default=None)


def _log_key_weights(atoms: Atoms, beta: ArrayLike) -> tuple[Array, Array]:
    """Per-key log weights of each atom and the atoms' log multiplicities.
    Atoms of multiplicity zero (padding) neither set the reference gap nor hold weight."""
    log_counts = jnp.zeros_like(atoms.gaps) if atoms.log_counts is None else atoms.log_counts
    z = -beta * (atoms.gaps - reference_gap(atoms))
    return z - logsumexp(z + log_counts), log_counts


def reference_gap(atoms: Atoms) -> Array:
    """The smallest gap held by a key (atoms of multiplicity zero are padding)."""
    if atoms.log_counts is None:
        return jnp.min(atoms.gaps)
    return jnp.min(jnp.where(atoms.log_counts > -jnp.inf, atoms.gaps, jnp.inf))


class Summary(eqx.Module):
    """What the built-in observables need of one context's logits ``z_i = -beta g_i``:
    a reference ``m >= max z`` (the maximum for single keys) and, relative to it,

        s0 = sum_i e^{z_i - m},   s1 = sum_i e^{z_i - m} (z_i - m),   s2 = sum_i e^{2 (z_i - m)},

    plus the ``k`` largest logits (``k`` may be 0). Then max weight ``= 1 / s0``,
    ``H = log s0 - s1 / s0``, participation ratio ``= s0^2 / s2`` and top-k mass
    ``= sum_{top k} e^{z - m} / s0``. Dense contexts build it in one pass
    (``dense_summary``), streaming ones chunk by chunk."""

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
    z, log_counts = -beta * (atoms.gaps - reference_gap(atoms)), atoms.log_counts
    e = jnp.exp(z + log_counts)  # 0 where the multiplicity is 0
    top = jax.lax.top_k(jnp.where(log_counts[:head] > -jnp.inf, z[:head], -jnp.inf), k)[0]
    zero = jnp.zeros((), z.dtype)
    return Summary(zero, jnp.sum(e), jnp.sum(e * z), jnp.sum(e * jnp.exp(z)), top)


def _summary_entropy(s: Summary) -> Array:
    return jnp.log(s.s0) - s.s1 / s.s0


def _summary_max_weight(s: Summary) -> Array:  # the nearest key has z = m: its weight is 1 / s0
    return 1.0 / s.s0


def _summary_participation_ratio(s: Summary) -> Array:
    return s.s0 * s.s0 / s.s2


def _entropy(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:
        return _summary_entropy(dense_summary(atoms.gaps, beta))
    lw, lc = _log_key_weights(atoms, beta)
    return -jnp.sum(jnp.exp(lw + lc) * lw)


def _effective_size(atoms: Atoms, beta: ArrayLike) -> Array:
    return jnp.exp(_entropy(atoms, beta))


def _max_weight(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:
        return _summary_max_weight(dense_summary(atoms.gaps, beta))
    lw, lc = _log_key_weights(atoms, beta)
    return jnp.exp(jnp.max(jnp.where(lc > -jnp.inf, lw, -jnp.inf)))


def _participation_ratio(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:
        return _summary_participation_ratio(dense_summary(atoms.gaps, beta))
    lw, lc = _log_key_weights(atoms, beta)
    return jnp.exp(-logsumexp(lc + 2.0 * lw))


def _top_k_mass(atoms: Atoms, beta: ArrayLike, k: int) -> Array:
    lw, lc = _log_key_weights(atoms, beta)
    head = (lw + lc) if atoms.num_head is None else (lw + lc)[: atoms.num_head]  # padding has lc = -inf
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= head.shape[0]:
        raise ValueError(f"k must be an integer in [1, {head.shape[0]}] (keys available), got {k}")
    return jnp.exp(logsumexp(jax.lax.top_k(head, k)[0]))


def _dense(q, keys, beta) -> Atoms:
    check_beta("beta", beta)
    return Atoms(gaps(q, keys))


def entropy(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, ""]:
    """Shannon entropy ``H = -sum_i w_i log w_i`` of the attention weights (nats).

    ``log n`` at ``beta = 0``, ``0`` when one key takes all the mass;
    ``dH/dbeta = -beta Var_w(<q, k>)``.

    Example:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(entropy(q, keys, 0.0)), 4)  # log 2
        0.6931
    """
    return _entropy(_dense(q, keys, beta), beta)


def max_weight(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, ""]:
    """The largest attention weight ``max_i w_i = 1 / sum_i exp(-beta (g_i - g_min))``.

    Example:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(max_weight(q, keys, jnp.log(3.0))), 4)
        0.75
    """
    return _max_weight(_dense(q, keys, beta), beta)


def top_k_mass(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike, k: int = 2) -> Float[Array, ""]:
    """Total weight of the ``k`` heaviest keys (``k`` static). Use
    ``functools.partial(top_k_mass, k=...)`` to pass it as an observable.

    Example:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(top_k_mass(q, keys, 0.0, k=2)), 4)
        0.6667
    """
    return _top_k_mass(_dense(q, keys, beta), beta, k)


def effective_size(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, ""]:
    """``exp(H)``: the number of keys attention effectively averages over.

    Example:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(effective_size(q, keys, 0.0)), 4)
        3.0
    """
    return jnp.exp(entropy(q, keys, beta))


def participation_ratio(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, ""]:
    """Inverse participation ratio ``1 / sum_i w_i^2`` (between 1 and ``n``).

    Example:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
        >>> round(float(participation_ratio(q, keys, 0.0)), 4)
        3.0
    """
    return _participation_ratio(_dense(q, keys, beta), beta)


_KERNELS: dict[Callable, Callable] = {
    entropy: _entropy,
    max_weight: _max_weight,
    top_k_mass: _top_k_mass,
    effective_size: _effective_size,
    participation_ratio: _participation_ratio,
}


def atoms_kernel(observable: Callable) -> Callable | None:
    """The gap-level kernel ``kernel(atoms, beta)`` of a built-in observable
    (also through ``functools.partial`` keywords), or ``None`` for a user function."""
    if isinstance(observable, functools.partial) and not observable.args:
        kernel = _KERNELS.get(observable.func)
        return None if kernel is None else _bind(kernel, tuple(sorted(observable.keywords.items())))
    return _KERNELS.get(observable)


@functools.cache
def _bind(kernel: Callable, keywords: tuple) -> Callable:
    # One object per (kernel, keywords), so jit caches keyed on it hit.
    return functools.partial(kernel, **dict(keywords))


_FINISHERS: dict[Callable, Callable[[Summary], Array]] = {
    _entropy: _summary_entropy,
    _max_weight: _summary_max_weight,
    _effective_size: lambda s: jnp.exp(_summary_entropy(s)),
    _participation_ratio: _summary_participation_ratio,
}


def finisher(kernel: Callable) -> tuple[Callable[[Summary], Array], int]:
    """``(finish, k)``: how a built-in kernel (or a stack of them) reads a
    ``Summary`` holding the top ``k`` logits."""
    if hasattr(kernel, "kernels"):  # a tuple of observables, stacked
        parts = [finisher(k) for k in kernel.kernels]
        return (lambda s: jnp.stack([finish(s) for finish, _ in parts])), max(k for _, k in parts)
    if kernel in _FINISHERS:
        return _FINISHERS[kernel], 0
    if isinstance(kernel, functools.partial) and kernel.func is _top_k_mass:
        return (lambda s: jnp.sum(jnp.exp(s.top - s.m)) / s.s0), kernel.keywords["k"]
    raise ValueError(
        "method='streaming' works for the built-in observables only (entropy, max_weight, top_k_mass, "
        "effective_size, participation_ratio); use method='dense' for a user function"
    )


@functools.cache
def stack_kernels(kernels: tuple[Callable, ...]) -> Callable:
    """One kernel for a tuple of kernels, values stacked along a last axis. On
    single keys the observables that read a ``Summary`` share one
    ``dense_summary`` (one pass over the keys); ``top_k_mass`` keeps its own
    exact dense kernel. One function object per tuple, so jit caches keyed on
    it hit."""

    def kernel(atoms: Atoms, beta: ArrayLike) -> Array:
        if atoms.log_counts is not None:
            return jnp.stack([k(atoms, beta) for k in kernels])
        s = dense_summary(atoms.gaps, beta)
        return jnp.stack([_FINISHERS[k](s) if k in _FINISHERS else k(atoms, beta) for k in kernels])

    kernel.kernels = kernels  # streaming finishes each one from the same summary
    return kernel
