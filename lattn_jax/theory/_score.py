"""The exact law of the score ``s = <q, k>`` for a key ``k`` uniform on ``S^{d-1}``
(every function takes ``d`` or ``UniformSphere(d)``; other laws are rejected).

``(1 + s) / 2 ~ Beta(a, a)`` with ``a = (d - 1) / 2``: density
``f(s) = (1 - s^2)^{a-1} / (2^{2a-1} B(a, a))`` on ``[-1, 1]``. The law is
symmetric and its upper half is the mirror of the gap law ``g = 1 - s`` of
[`UniformSphere`][lattn_jax.UniformSphere], whose tail-accurate routines (log of the
incomplete beta, its inverse) are reused: every function reads the tail on the
near side of ``|s|`` from the gap law at ``1 - |s|``, so either end keeps full
relative precision (tail probabilities down to the smallest float, e.g. 1e-300
in float64).
"""

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._laws import UniformSphere
from .._validation import check_in_range
from ._args import uniform_dim


def _score_arg(name: str, value: ArrayLike, hi: float) -> Array:
    """``value`` checked to lie in ``[-inf, hi]`` (NaN refused), as a float array."""
    check_in_range(name, value, -float("inf"), hi)
    return jnp.asarray(value, jnp.result_type(value, float))


@functools.partial(jax.jit, static_argnums=0)
def _log_density(d: int, s: Array) -> Array:
    return UniformSphere(d).gap_log_density(1.0 - jnp.abs(s))


def score_log_density(d_or_law: "int | UniformSphere", s: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
    """``log f(s)``, ``f(s) = (1 - s^2)^{(d-3)/2} / (2^{d-2} B((d-1)/2, (d-1)/2))``
    on ``(-1, 1)`` (``-inf`` outside); ``d_or_law``: ``d`` or ``UniformSphere(d)``.

    Examples:
        >>> round(float(jnp.exp(score_log_density(3, 0.3))), 4)  # uniform on [-1, 1] for d = 3
        0.5
    """
    d = uniform_dim(d_or_law, "the score law")
    return _log_density(d, _score_arg("s", s, float("inf")))


def _log_tails(d_or_law, s: ArrayLike) -> tuple[Array, Array]:
    """``(log P(S <= s), log P(S > s))``, arguments checked."""
    return _tails(uniform_dim(d_or_law, "the score law"), _score_arg("s", s, float("inf")))


@functools.partial(jax.jit, static_argnums=0)
def _tails(d: int, s: Array) -> tuple[Array, Array]:
    """``(log P(S <= s), log P(S > s))``."""
    near, far = UniformSphere(d).gap_log_cdf_pair(1.0 - jnp.abs(s))  # near: log P(S >= |s|)
    upper = s >= 0
    log_cdf = jnp.where(s <= -1.0, -jnp.inf, jnp.where(upper, far, near))
    log_sf = jnp.where(s >= 1.0, -jnp.inf, jnp.where(upper, near, far))
    return jnp.where(s >= 1.0, 0.0, log_cdf), jnp.where(s <= -1.0, 0.0, log_sf)


def score_log_cdf(d_or_law: "int | UniformSphere", s: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
    """``log P(<q, k> <= s)`` = ``log I_{(1+s)/2}(a, a)``, ``a = (d-1)/2``;
    accurate in the lower tail (``s -> -1``).

    Examples:
        >>> round(float(jnp.exp(score_log_cdf(3, 0.5))), 4)
        0.75
    """
    return _log_tails(d_or_law, s)[0]


def score_log_sf(d_or_law: "int | UniformSphere", s: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
    """``log P(<q, k> > s)`` = ``log I_{(1-s)/2}(a, a)``, ``a = (d-1)/2``;
    accurate far into the upper tail (``s -> 1``), where it behaves like
    ``a log((1-s)/2) - log(a B(a, a))``.

    Examples:
        >>> round(float(score_log_sf(64, 0.999)), 2)  # P(S > 0.999) = 3e-87
        -198.77
    """
    return _log_tails(d_or_law, s)[1]


@functools.partial(jax.jit, static_argnums=0)
def _quantile(d: int, log_p: Array) -> Array:
    log_q = jnp.log(-jnp.expm1(log_p))  # log(1 - p)
    upper = log_p <= log_q
    near = 1.0 - UniformSphere(d).gap_quantile(jnp.minimum(log_p, log_q), jnp.maximum(log_p, log_q))
    return jnp.where(upper, near, -near)


def score_quantile(d_or_law: "int | UniformSphere", log_p: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
    """The upper-tail quantile: the ``s`` with ``P(<q, k> > s) = p``, from ``log p``.

    For ``p <= 1/2`` it is ``1 - g`` with ``g`` the gap quantile at ``p``
    (Newton on the log incomplete beta, full relative precision in ``1 - s``
    for ``p`` down to the smallest float); for ``p > 1/2`` it uses the symmetry
    ``s(p) = -s(1 - p)``. Not differentiable (built on a sampler's inverse CDF).

    Examples:
        >>> round(float(score_quantile(3, jnp.log(0.25))), 4)  # uniform on [-1, 1]
        0.5
    """
    d = uniform_dim(d_or_law, "the score law")
    return _quantile(d, _score_arg("log_p", log_p, 0.0))
