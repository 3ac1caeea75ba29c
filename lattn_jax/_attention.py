"""Softmax attention of one query over one context, computed from gaps.

For unit vectors ``<q, k> = 1 - g`` with the gap ``g = |q - k|^2 / 2``, so the
softmax of ``beta <q, k>`` equals the softmax of ``-beta (g - g_min)``. The gap
is computed from the difference ``q - k``, whose small components keep their
full relative precision: float32 stays accurate for ``beta`` up to ~1e9, where
``1 - <q, k>`` computed from the dot product would have lost every digit.

All functions act on one query and one context; ``jax.vmap`` them over
contexts, queries or ``beta``.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._validation import ArgumentValueError, check_array, check_beta


def gaps(q: Float[Array, " d"], keys: Float[Array, "n d"]) -> Float[Array, " n"]:
    """The gaps ``1 - <q, k_i> = |q - k_i|^2 / 2`` of unit keys to a unit query.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> gaps(q, keys).tolist()
        [0.0, 1.0]
    """
    q, keys = check_array("q", q, shape=" of shape (d,)"), check_array("keys", keys, shape=" of shape (n, d)")
    if q.ndim != 1 or keys.ndim != 2 or keys.shape[1] != q.shape[0]:
        raise ArgumentValueError(
            f"q must have shape (d,) and keys (n, d) with the same d, got {q.shape} and {keys.shape}"
        )
    if keys.shape[0] == 0:
        raise ArgumentValueError("keys must hold at least one key, got an empty (0, d) array")
    diff = keys - q
    return 0.5 * jnp.sum(diff * diff, axis=-1)


def attention_logits(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, " n"]:
    """Log attention weights ``beta <q, k_i> - log Z`` (normalized), from gaps.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> [round(float(x), 4) for x in attention_logits(q, keys, jnp.log(3.0))]
        [-0.2877, -1.3863]
    """
    beta = check_beta("beta", beta)
    g = gaps(q, keys)
    return jax.nn.log_softmax(-beta * (g - jnp.min(g)))


def attention_weights(q: Float[Array, " d"], keys: Float[Array, "n d"], beta: ArrayLike) -> Float[Array, " n"]:
    """Attention weights ``w_i = exp(beta <q, k_i>) / sum_j exp(beta <q, k_j>)``.

    ``q`` and the rows of ``keys`` are unit vectors.

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> round(float(attention_weights(q, keys, jnp.log(3.0))[0]), 4)
        0.75
    """
    return jnp.exp(attention_logits(q, keys, beta))


def attention_output(
    q: Float[Array, " d"],
    keys: Float[Array, "n d"],
    beta: ArrayLike,
    values: Float[Array, " n *dv"] | None = None,
) -> Float[Array, " *dv"]:
    """Attention output ``sum_i w_i v_i``.

    Args:
        q: the query, shape ``(d,)``.
        keys: the context, shape ``(n, d)``.
        beta: inverse temperature, ``>= 0``.
        values: ``None`` for the identity value matrix (``v_i = k_i``, output in
            ``R^d``), an ``(n, d_v)`` value matrix, or ``(n,)`` per-key values
            (scalar output).

    Examples:
        >>> import jax.numpy as jnp
        >>> q = jnp.array([1.0, 0.0])
        >>> keys = jnp.array([[1.0, 0.0], [0.0, 1.0]])
        >>> attention_output(q, keys, 0.0).tolist()
        [0.5, 0.5]
    """
    if values is None:
        values = keys
    elif (values := check_array("values", values, shape=" of shape (n,) or (n, d_v)")).shape[:1] != keys.shape[:1]:
        raise ArgumentValueError(f"values must have one row per key ({keys.shape[0]}), got shape {values.shape}")
    w = attention_weights(q, keys, beta)
    return jnp.tensordot(w, values, axes=1)
