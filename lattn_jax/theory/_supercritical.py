"""The supercritical regime ``beta >> n^{2/(d-1)}``: attention picks the nearest key.

Write ``gamma = beta / n^{1/a}`` (``a = (d - 1)/2`` for uniform keys, so
``n^{1/a} = n^{2/(d-1)}``) and ``P(gap <= u) ~ c u^a`` (``c = 2^{-a} / (a B(a, a))``
for uniform keys; any law with a closed-form gap law and ``a >= 1``).
Every function here takes ``gamma``: they are ``n -> inf`` limits, functions of
``gamma`` alone, and approximations for large ``gamma``.
As ``n -> oo`` at fixed ``gamma`` the rescaled gaps ``beta g_(j)`` form a
Poisson process with mean measure ``lam x^a``, ``lam = c gamma^{-a}``, and

    1 / W_(1) - 1 = S = sum_{j >= 2} e^{-(x_j - x_1)}.

Given the nearest point ``x_1`` the others form a Poisson process on
``(x_1, oo)`` of intensity ``lam a x^{a-1}``. For large ``gamma`` the points are
far apart (``x_1 ~ lam^{-1/a}``) and, over the ``O(1)`` window where
``e^{-(x - x_1)}`` matters, this intensity is the constant
``r = lam a x_1^{a-1}``: then ``S`` is a generalized Dickman variable with
parameter ``r``, ``P(S <= t) = e^{-gamma_E r} t^r / Gamma(1 + r)`` for ``t <= 1``,
and with ``E = lam x_1^a ~ Exp(1)``, ``r = a lam^{1/a} E^{1 - 1/a}``. This
"local Dickman" law is exact in the Poisson limit for ``a = 1`` (``d = 3``,
constant intensity) and exact to first order in ``1/gamma`` (error
``O(gamma^-2)``) for ``a > 1`` (``d > 3``).

To first order in ``r`` only one neighbour matters, which gives the rates
(``a >= 1``): with ``K_d = a Gamma(2 - 1/a) c^{1/a}`` (``E[r] = K_d / gamma``),

    P(W_(1) <= 1 - eps) ~ K_d log((1 - eps) / eps) / gamma,
    E[1 - W_(1)]        ~ K_d log(2) / gamma,

i.e. ``1 - W_(1) -> 0`` like ``(beta / n^{2/(d-1)})^{-1}``.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import exp1, gammaln
from jaxtyping import Array, ArrayLike, Float

from .._laws import AbstractLaw
from .._validation import ArgumentValueError
from ._args import as_float_array, check_gamma, gap_law

_EULER_GAMMA = 0.5772156649015329
# Trapezoid rules in log variables: integrands analytic and decaying at both
# ends, so the error falls exponentially with the step.
_LOG_GRID = np.linspace(-45.0, 4.6, 1200)  # log E, E ~ Exp(1): e^{-e^{4.6}} ~ 1e-43
_LOG_STEP = float(_LOG_GRID[1] - _LOG_GRID[0])


def _constants(d_or_law) -> tuple[float, float]:
    """``(a, c)`` of a gap law with ``a >= 1`` (``d >= 3`` for uniform keys)."""
    a, c, _ = gap_law(d_or_law, minimum_d=3).small_gap_expansion()
    if a < 1.0:
        raise ArgumentValueError(
            f"d_or_law must have a local exponent 2a >= 2 (a >= 1, as uniform keys with d >= 3), got a = {a:g}"
        )
    return a, c


def supercritical_rate(d_or_law: "int | AbstractLaw") -> Float[Array, ""]:
    """``K = a Gamma(2 - 1/a) c^{1/a}`` (uniform keys: ``a = (d-1)/2``,
    ``c = 2^{-a}/(a B(a, a))``): the mean local density of neighbours of the
    nearest key, in units of ``1 / gamma``, ``gamma = beta / n^{1/a}``. It sets the
    supercritical rates

    ``P(W_(1) <= 1 - eps) ~ K log((1 - eps)/eps) / gamma`` and
    ``E[1 - W_(1)] ~ K log(2) / gamma`` as ``gamma -> inf`` (after ``n -> inf``).
    ``d_or_law``: ``d >= 3`` or a law with a closed-form gap law and ``a >= 1``.

    Examples:
        >>> float(supercritical_rate(3))  # a = 1, c = 1/2
        0.5
    """
    a, c = _constants(d_or_law)
    return as_float_array(a * math.gamma(2.0 - 1.0 / a) * c ** (1.0 / a))


def _neighbour_density(a: float, c: float, gamma: Array) -> tuple[Array, Array]:
    """``(r(E), weights)`` on the ``E`` grid: ``E[f(r)] ~ sum weights * f(r)``."""
    log_e = jnp.asarray(_LOG_GRID, gamma.dtype)
    e = jnp.exp(log_e)
    lam_root = c ** (1.0 / a) / gamma[..., None]  # lam^{1/a}, lam = c gamma^{-a}
    r = a * lam_root * jnp.exp((1.0 - 1.0 / a) * log_e)
    weights = _LOG_STEP * e * jnp.exp(-e)  # Exp(1) density times dE/dlogE
    return r, weights


@functools.partial(jax.jit, static_argnums=(0, 1))
def _prob_max_weight_above(a: float, c: float, gamma: Array, log_t: Array) -> Array:
    r, weights = _neighbour_density(a, c, gamma)
    log_phi = -_EULER_GAMMA * r + r * log_t - gammaln(1.0 + r)
    return jnp.sum(weights * jnp.exp(log_phi), axis=-1)


def supercritical_prob_max_weight_above(
    d_or_law: "int | AbstractLaw", gamma: Float[ArrayLike, "*batch"], eps: float = 0.01
) -> Float[Array, "*batch"]:
    """``P(max weight > 1 - eps)`` at ``beta = gamma n^{1/a}`` (``n^{2/(d-1)}`` for
    uniform keys) as ``n -> inf``, in the Poisson limit with the local Dickman
    law (module docstring):

    ``E_E[exp(-gamma_E r - r log((1 - eps)/eps) - log Gamma(1 + r))]``,
    ``r = a lam^{1/a} E^{1-1/a}``, ``E ~ Exp(1)``, ``lam^{1/a} = c^{1/a} / gamma``.

    Exact in that limit for ``a = 1`` (``d = 3``); for ``a > 1`` its error is
    ``O(gamma^-2)``, so it is meant for the supercritical regime (large ``gamma``).
    Tends to 1 as ``gamma -> inf`` at the rate of
    [`supercritical_rate`][lattn_jax.theory.supercritical_rate]. ``d_or_law``:
    ``d >= 3`` or a law with a closed-form gap law and ``a >= 1``; ``0 < eps <= 1/2``.

    Examples:
        >>> round(float(supercritical_prob_max_weight_above(3, 10.0, eps=0.01)), 4)
        0.7931
    """
    if not 0.0 < eps <= 0.5:
        raise ArgumentValueError(f"eps must be in (0, 1/2], got {eps}")
    a, c = _constants(d_or_law)
    gamma = check_gamma(gamma)
    log_t = jnp.asarray(math.log(eps) - math.log1p(-eps), gamma.dtype)
    return _prob_max_weight_above(a, c, gamma, log_t)


def _ein(theta: Array) -> Array:
    """``Ein(theta) = int_0^theta (1 - e^{-y}) / y dy`` (series below 1, else ``E1 + log + gamma_E``)."""
    small = theta < 1.0
    ts = jnp.where(small, theta, 0.5)
    # Horner for sum_{k>=1} (-1)^{k+1} theta^k / (k k!)
    acc = jnp.zeros_like(ts)
    for k in reversed(range(1, 22)):
        acc = (-1.0) ** (k + 1) / (k * math.factorial(k)) + ts * acc
    series = ts * acc
    tl = jnp.where(small, 2.0, theta)
    large = exp1(tl) + jnp.log(tl) + _EULER_GAMMA
    return jnp.where(small, series, large)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _max_weight_deficit(a: float, c: float, gamma: Array) -> Array:
    r, weights = _neighbour_density(a, c, gamma)
    theta = jnp.exp(jnp.asarray(_LOG_GRID, r.dtype))
    inner_w = _LOG_STEP * jnp.exp(-theta) * (-jnp.expm1(-theta))  # dtheta / theta = dlog theta
    inner = jnp.sum(inner_w * jnp.exp(-r[..., None] * _ein(theta)), axis=-1)
    return jnp.sum(weights * r * inner, axis=-1)


def supercritical_max_weight_deficit(
    d_or_law: "int | AbstractLaw", gamma: Float[ArrayLike, "*batch"]
) -> Float[Array, "*batch"]:
    """``E[1 - max weight]`` at ``beta = gamma n^{1/a}`` as ``n -> inf``, in the
    Poisson limit with the local Dickman law:
    ``E_E[r int_0^inf e^{-theta} (1 - e^{-theta}) / theta * e^{-r Ein(theta)} dtheta]``
    (``E[S / (1 + S)] = int_0^inf e^{-theta} E[S e^{-theta S}] dtheta`` and the
    Dickman Laplace transform ``E[e^{-theta S}] = e^{-r Ein(theta)}``), ``r`` as in
    [`supercritical_prob_max_weight_above`][lattn_jax.theory.supercritical_prob_max_weight_above].
    Same regime and laws; ``~ K log(2) / gamma`` as ``gamma -> inf``.

    Examples:
        >>> round(float(supercritical_max_weight_deficit(3, 10.0)), 4)
        0.0337
    """
    a, c = _constants(d_or_law)
    return _max_weight_deficit(a, c, check_gamma(gamma))
