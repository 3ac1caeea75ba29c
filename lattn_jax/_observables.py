"""Scalar observables of the attention weights of one context.

Each public observable is a pure function ``f(q, keys, beta)`` (differentiable
in ``beta`` to any order). Each also has a kernel on :class:`Atoms` — gaps with
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
    g = atoms.gaps
    if atoms.log_counts is None:
        log_counts = jnp.zeros_like(g)
        g_min = jnp.min(g)
    else:
        log_counts = atoms.log_counts
        g_min = jnp.min(jnp.where(log_counts > -jnp.inf, g, jnp.inf))
    z = -beta * (g - g_min)
    return z - logsumexp(z + log_counts), log_counts


def _dense_sums(atoms: Atoms, beta: ArrayLike) -> tuple[Array, Array]:
    """Single keys (no multiplicities): ``z = -beta (g - g_min) <= 0`` with
    ``max z = 0`` exactly, so ``e^z`` needs no further shift and the observables
    below are one fused pass over the keys (one ``exp`` per key)."""
    z = -beta * (atoms.gaps - jnp.min(atoms.gaps))
    return z, jnp.exp(z)


def _entropy(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:  # H = log s0 - s1 / s0, s0 = sum e^z, s1 = sum z e^z
        z, e = _dense_sums(atoms, beta)
        s0 = jnp.sum(e)
        return jnp.log(s0) - jnp.sum(z * e) / s0
    lw, lc = _log_key_weights(atoms, beta)
    return -jnp.sum(jnp.exp(lw + lc) * lw)


def _max_weight(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:  # the nearest key has z = 0: its weight is 1 / sum e^z
        return 1.0 / jnp.sum(_dense_sums(atoms, beta)[1])
    lw, lc = _log_key_weights(atoms, beta)
    return jnp.exp(jnp.max(jnp.where(lc > -jnp.inf, lw, -jnp.inf)))


def _participation_ratio(atoms: Atoms, beta: ArrayLike) -> Array:
    if atoms.log_counts is None:  # (sum e^z)^2 / sum e^{2z}
        e = _dense_sums(atoms, beta)[1]
        return jnp.sum(e) ** 2 / jnp.sum(e * e)
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
    effective_size: lambda atoms, beta: jnp.exp(_entropy(atoms, beta)),
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
