"""Numerics shared by the limit and exact formulas for ``E[max weight]``:
tanh–sinh nodes, the inner "Laplace" integral of the nearest point's
competitors, and a bracketed root finder that grows its bracket and says when
it fails instead of clipping.

Both formulas need, for a nearest point at rescaled position ``x`` and a
Laplace variable ``s``,

    J(x, s) = int_0^v_cap (1 - exp(-s e^{-v})) rho(x + v) dv,

with ``rho`` the intensity of the other points (``rho(y) ~ y^{a-1}`` near the
query, ``a = alpha / 2``). For ``v`` past ``log s`` the first factor is
``s e^{-v}``, so the integrand is a Gamma-shaped bump ``e^{-v} (x + v)^{a-1}``
whose mode sits at ``v = a - 1 - x`` and whose width is ``sqrt(a)``: at head
dimensions (``a`` up to 256) it lies far beyond any fixed cut-off. The
integral is split where ``s e^{-v} = e^{-40}``: tanh–sinh on the nonlinear
part ``[0, v_split]`` (robust to the ``y^{a-1}`` singularity when ``a < 1``),
and a second tanh–sinh rule on a window around the bump, which is where the
integrand lives to a relative ``e^{-40}``.
"""

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

_LINEAR_AT = 40.0  # past v = log s + 40, 1 - exp(-s e^{-v}) = s e^{-v} to e^{-40}
_TAIL_SIGMAS = 10.0  # the Gamma bump's window: mode +- (40 + 10 sqrt(a))


@functools.cache
def tanh_sinh(num: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, 1 - x, w)``: ``num`` tanh–sinh nodes in ``(0, 1)`` (both ``x`` and
    ``1 - x`` exact, so neither end rounds to 1) and their weights."""
    t = np.linspace(-3.2, 3.2, num)
    h = t[1] - t[0]
    u = 0.5 * np.pi * np.sinh(t)
    x = 1.0 / (1.0 + np.exp(-2.0 * u))  # (1 + tanh u) / 2
    w = h * 0.5 * np.pi * np.cosh(t) / (2.0 * np.cosh(u) ** 2)
    return x, 1.0 / (1.0 + np.exp(2.0 * u)), w


def nodes(num: int, dtype) -> tuple[Array, Array, Array]:
    """``tanh_sinh`` as arrays of ``dtype``."""
    return tuple(jnp.asarray(v, dtype) for v in tanh_sinh(num))


def _log_one_minus_exp_neg(log_y: Array) -> Array:
    """``log(1 - exp(-y))`` from ``log y``: ``log y - y/2`` for small ``y``
    (error ``y^2/24``, none where ``y`` underflows), the direct form above it
    (a double ``where``: no NaN in the gradient)."""
    small = log_y < -20.0
    safe = jnp.where(small, 0.0, log_y)
    return jnp.where(small, log_y - 0.5 * jnp.exp(log_y), jnp.log(-jnp.expm1(-jnp.exp(safe))))


def competitors(log_rho: Callable[[Array], Array], s: Array, x: Array, a: ArrayLike, v_cap: Array, num: int) -> Array:
    """``J(x, s) = int_0^v_cap (1 - exp(-s e^{-v})) exp(log_rho(v)) dv`` (see the
    module docstring); ``a`` locates the bump of the linear tail, ``x`` is the
    nearest point in the units of ``v``."""
    dtype = s.dtype
    t, one_minus_t, w = nodes(num, dtype)
    cap = jnp.log(jnp.finfo(dtype).max) - 20.0  # a term this large makes e^{-J} = 0 anyway
    log_s = jnp.log(s)

    def integral(lo, hi):
        # Nodes placed from the nearer end, so none rounds onto an end where rho may be singular.
        v = jnp.where(t < 0.5, lo + (hi - lo) * t, hi - (hi - lo) * one_minus_t)
        log_term = _log_one_minus_exp_neg(log_s - v) + log_rho(v)
        return (hi - lo) * jnp.sum(w * jnp.exp(jnp.minimum(log_term, cap)))

    v_split = jnp.minimum(jnp.maximum(log_s, 0.0) + _LINEAR_AT, v_cap)
    mode = a - 1.0 - x
    width = _LINEAR_AT + _TAIL_SIGMAS * jnp.sqrt(jnp.maximum(a, 1.0))
    lo = jnp.minimum(jnp.maximum(v_split, mode - width), v_cap)
    hi = jnp.minimum(jnp.maximum(v_split, mode) + width, v_cap)
    return integral(jnp.zeros_like(v_split), v_split) + integral(lo, hi)


def solve_increasing(
    f: Callable[..., Array], args: tuple, guess: float, scale: float, *, name: str, dtype, max_expansions: int = 40
) -> float:
    """The root in ``y`` of ``f(y, *args)``, increasing in ``y`` (``f`` a
    module-level function, so its jitted solver compiles once): a bracket
    around ``guess`` of half-width ``scale`` that doubles until ``f`` changes
    sign, bisection, then Newton steps with the exact derivative inside the
    bracket. Raises ``RuntimeError`` naming ``name`` when no bracket holds a
    root or the residual at the end is not at rounding level."""
    args = tuple(jnp.asarray(v, dtype) if isinstance(v, int | float) else v for v in args)

    def value(y: float) -> float:
        return float(_value(f, jnp.asarray(y, dtype), args))

    lo, hi = guess - scale, guess + scale
    f_lo, f_hi = value(lo), value(hi)
    for _ in range(max_expansions):
        if f_lo <= 0.0 <= f_hi:
            break
        width = hi - lo
        if f_lo > 0.0:
            lo, hi, f_hi = lo - width, lo, f_lo
            f_lo = value(lo)
        else:
            lo, hi, f_lo = hi, hi + width, f_hi
            f_hi = value(hi)
    else:
        raise RuntimeError(f"{name}: no sign change of the equation in [{lo:.4g}, {hi:.4g}]")
    root = float(_bisect_newton(f, jnp.asarray(lo, dtype), jnp.asarray(hi, dtype), args))
    residual = value(root)
    if not abs(residual) <= max(512.0 * float(jnp.finfo(dtype).eps), 1e-9):  # rounding of the quadrature
        raise RuntimeError(f"{name}: root finding did not converge (residual {residual:.3g} at {root:.6g})")
    return root


@functools.partial(jax.jit, static_argnums=0)
def _value(f, y: Array, args: tuple) -> Array:
    return f(y, *args)


@functools.partial(jax.jit, static_argnums=0)
def _bisect_newton(f, lo: Array, hi: Array, args: tuple) -> Array:
    """Sixteen bisections (a bracket ``2^-16`` of its width), then Newton steps
    clipped to it."""

    def bisect(_, bracket):
        lo_, hi_ = bracket
        mid = 0.5 * (lo_ + hi_)
        below = f(mid, *args) < 0
        return jnp.where(below, mid, lo_), jnp.where(below, hi_, mid)

    lo, hi = jax.lax.fori_loop(0, 16, bisect, (lo, hi))

    def newton(_, y):
        value, slope = jax.jvp(lambda y_: f(y_, *args), (y,), (jnp.ones_like(y),))
        return jnp.clip(y - value / slope, lo, hi)

    return jax.lax.fori_loop(0, 6, newton, 0.5 * (lo + hi))
