"""The backward heat equation: attention over keys with a smooth density.

Let the keys have a smooth density ``rho`` on ``S^{d-1}`` (with respect to the
uniform probability measure) and use identity values. In the sub-critical
regime the output tends to the tilted mean
``m(q) = int e^{beta <q,k>} k rho(k) dk / int e^{beta <q,k>} rho(k) dk``.
Write ``k = s q + sqrt(1 - s^2) u`` (``u`` a unit vector orthogonal to ``q``)
and expand ``rho`` around ``q`` (Laplace's method, ``beta -> oo``): the term
``<grad_S rho(q), sqrt(1 - s^2) u>`` is the only one of first order that is
odd in ``u``, and ``E[u u^T] = (I - q q^T) / (d - 1)`` with the identity
``E_beta[1 - s^2] = (d - 1) A_d(beta) / beta`` under the tilted uniform law give

    m(q) = A_d(beta) q + (A_d(beta) / beta) grad_S log rho(q) + O(beta^-2),

the uniform bias ``A_d(beta) q`` plus a tangent displacement along the
spherical gradient of ``log rho``, ``~ (1/beta) grad_S log rho`` since
``A_d -> 1`` (the ``O(beta^-2)`` term involves second derivatives of
``log rho``). For vMF keys ``m(q) = A_d(|v|) v / |v|`` with
``v = beta q + kappa mu`` exactly, which expands to the same first order.

Normalizing, one attention step moves every token by
``x -> x + (1/beta) grad_S log rho(x)``: the transport that a *backward* heat
flow ``d rho / dt = -Delta_S rho`` produces in time ``1/beta``. For a degree-1
observable ``f(x) = <mu, x>`` (``Delta_S f = -(d - 1) f``) both give
``d E[f] / dt = (d - 1) E[f]`` whatever ``rho`` is, so the mean resultant of
the tokens grows by the factor ``e^{(d-1)/beta}`` per step, up to ``O(beta^-2)``.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._laws import AbstractLaw, UniformSphere, as_law, check_law
from .._validation import ArgumentTypeError, ArgumentValueError, check_beta, check_in_range
from ._mean_field import mean_resultant_length


def _arguments(law: AbstractLaw, beta: ArrayLike, q: ArrayLike | None) -> tuple[Array, Array]:
    """``(q, beta)`` checked, as arrays of ``q``'s dtype (``q = law.query()`` when omitted);
    ``law`` must have a ``log_density``, else ``ArgumentTypeError`` naming ``law``."""
    check_law("law", law)
    beta = check_beta("beta", beta)
    if not callable(getattr(law, "log_density", None)):
        raise ArgumentTypeError(
            f"law must have a log_density(x) method (e.g. VonMisesFisher), got {type(law).__name__}", argument="law"
        )
    q = law.query() if q is None else jnp.asarray(q)
    return q, jnp.asarray(beta, q.dtype)


@eqx.filter_jit
def _heat_displacement(law: AbstractLaw, beta: Array, q: Array) -> Array:
    grad = jax.grad(law.log_density)(q)
    score = grad - jnp.dot(grad, q) * q  # the spherical gradient
    beta = beta[..., None]
    return mean_resultant_length(law.dim, beta) / beta * score


@eqx.filter_jit
def _heat_output(law: AbstractLaw, beta: Array, q: Array) -> Array:
    return mean_resultant_length(law.dim, beta)[..., None] * q + _heat_displacement(law, beta, q)


def heat_displacement(
    law: AbstractLaw, beta: Float[ArrayLike, "*batch"], q: Float[Array, " d"] | None = None
) -> Float[Array, "*batch d"]:
    """The tangent displacement of the mean-field output beyond the uniform bias:
    ``(A_d(beta) / beta) grad_S log rho(q)``, with ``rho`` the key density
    (``law.log_density``) and ``grad_S`` the spherical gradient.

    Holds in the sub-critical regime (``n -> oo`` at fixed ``beta``) up to
    ``O(beta^-2)`` corrections from second derivatives of ``log rho``; so it needs
    ``beta`` large against the scale of ``log rho`` (e.g. ``beta >> kappa`` for vMF).

    Args:
        law: a law with a smooth ``log_density`` (e.g. ``VonMisesFisher``).
        beta: inverse temperature(s) ``> 0``; an array gives one row per value.
        q: the query (a unit vector); ``law.query()`` when omitted.

    Examples:
        >>> import jax.numpy as jnp
        >>> from lattn_jax import VonMisesFisher
        >>> law = VonMisesFisher(jnp.array([0.0, 1.0, 0.0]), 2.0)  # query e_1, orthogonal to the mean
        >>> [round(float(x), 4) for x in heat_displacement(law, 20.0)]  # A_3(20) / 20 * 2 e_2
        [0.0, 0.095, 0.0]
    """
    q, beta = _arguments(law, beta, q)
    return _heat_displacement(law, beta, q)


def heat_output(
    law: AbstractLaw, beta: Float[ArrayLike, "*batch"], q: Float[Array, " d"] | None = None
) -> Float[Array, "*batch d"]:
    """The predicted mean output with identity values:
    ``A_d(beta) q + (A_d(beta) / beta) grad_S log rho(q)`` (regime of
    [`heat_displacement`][lattn_jax.theory.heat_displacement]).

    Examples:
        >>> import jax.numpy as jnp
        >>> from lattn_jax import VonMisesFisher
        >>> law = VonMisesFisher(jnp.array([0.0, 1.0, 0.0]), 2.0)
        >>> [round(float(x), 4) for x in heat_output(law, 20.0)]
        [0.95, 0.095, 0.0]
    """
    q, beta = _arguments(law, beta, q)
    return _heat_output(law, beta, q)


def heat_flow_mean_resultant(
    d_or_law: "int | AbstractLaw", mean_resultant_length: Float[ArrayLike, "*batch"], beta: Float[ArrayLike, "*batch"]
) -> Float[Array, "*batch"]:
    """``|E[x]|`` of tokens after one normalized self-attention step at ``beta``:
    the backward heat flow for time ``1/beta`` multiplies the first moment by
    ``e^{(d-1)/beta}``, so ``|E[x]| -> e^{(d-1)/beta} |E[x]|`` for any smooth token
    density on ``S^{d-1}`` (for vMF(kappa) tokens ``|E[x]| = A_d(kappa)``).
    ``d_or_law``: ``d``, or a law with a smooth density (a ``log_density``, e.g.
    ``VonMisesFisher``, or ``UniformSphere``), which gives ``d``. Sub-critical
    regime, up to ``O(beta^-2)`` (relative) and ``O(1/n)`` corrections.

    Examples:
        >>> round(float(heat_flow_mean_resultant(3, 0.5, 100.0)), 4)  # 0.5 e^{0.02}
        0.5101
    """
    law = as_law("d", d_or_law)
    if not (isinstance(law, UniformSphere) or callable(getattr(law, "log_density", None))):
        raise ArgumentValueError(
            f"d_or_law must be an int d or a law with a smooth density (a log_density, e.g. VonMisesFisher), "
            f"got {type(law).__name__}"
        )
    beta = check_beta("beta", beta)
    check_in_range("mean_resultant_length", mean_resultant_length, 0.0, 1.0)
    length = jnp.asarray(mean_resultant_length)
    beta = jnp.asarray(beta)
    dtype = jnp.result_type(length.dtype, beta.dtype, float)
    return length.astype(dtype) * jnp.exp((law.dim - 1) / beta.astype(dtype))
