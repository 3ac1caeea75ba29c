"""Modified Bessel functions of the first kind for real order ``nu >= 0`` and
argument ``x >= 0``, in logs and as ratios, stable from ``x = 1e-6`` to
``x = 1e6`` and for orders up to a few hundred (JAX only has ``i0e``/``i1e``).

Four routes, chosen per ``x`` (``nu`` is a static Python float):

- small ``x`` (``x <= 4 sqrt(nu + 1)``): the power series
  ``I_nu(x) = (x/2)^nu / Gamma(nu + 1) * 0F1(; nu + 1; x^2/4)``, positive terms;
- otherwise Debye's uniform asymptotic expansion (DLMF 10.41.3)
  ``I_N(N z) ~ e^{N eta} / sqrt(2 pi N) / (1 + z^2)^{1/4} * sum_k u_k(p) / N^k``
  with ``p = (1 + z^2)^{-1/2}`` and ``eta = sqrt(1 + z^2) + log(z / (1 + sqrt(1 + z^2)))``,
  evaluated at an order ``N = nu + m >= 40`` (``m`` a whole number, 12 terms,
  the ``u_k`` generated exactly from their recurrence at import), where it is
  accurate to float64 round-off for every ``z``;
- then the backward recurrence ``I_{k-1} = (2k/x) I_k + I_{k+1}`` down to ``nu``
  (a sum of positive terms: no error growth), carried as the ratio
  ``R_k = I_{k+1}/I_k``, its complement ``1 - R_k`` and ``log I_k``;
- and, for ``1 - R`` and ``R`` at ``x`` far beyond ``nu^2`` (past the point
  where its first ``_HANKEL_TERMS`` terms reach float64 round-off), Hankel's
  expansion ``I_nu(x) ~ e^x / sqrt(2 pi x) S_nu(1/x)`` (DLMF 10.40.1), with
  ``1 - R = (S_nu - S_{nu+1}) / S_nu`` summed from the exact differences of the
  coefficients. There the recurrence would lose relative precision in
  ``1 - R ~ (2 nu + 1) / (2 x)``: each step down shrinks it by
  ``(2k - 1) / (2k + 1)`` while keeping its absolute error, and Debye's
  ``1 - R`` at the top is a difference of two logs of size ``~ order``, so
  from order 40 down to 0 float32 kept only ``~ 4e-4`` of relative precision.
"""

import functools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln
from jaxtyping import Array, Float

_DEBYE_ORDER = 40.0  # the smallest order at which the uniform expansion is used
_DEBYE_TERMS = 12
_SERIES_TERMS = 64
_HANKEL_TERMS = 24


def _debye_polynomials(num: int) -> list[list[float]]:
    """Coefficients (ascending powers of p) of u_0 .. u_{num-1}, from
    u_{k+1} = p^2 (1 - p^2) u_k'/2 + (1/8) int_0^p (1 - 5 t^2) u_k(t) dt (DLMF 10.41.9)."""
    polys = [[Fraction(1)]]
    for _ in range(num - 1):
        u = polys[-1]
        out = [Fraction(0)] * (len(u) + 3)
        for j, c in enumerate(u):
            if j:  # p^2 (1 - p^2) / 2 * j c p^(j - 1)
                out[j + 1] += c * j / 2
                out[j + 3] -= c * j / 2
            out[j + 1] += c / (8 * (j + 1))  # (1/8) int t^j
            out[j + 3] -= 5 * c / (8 * (j + 3))  # -(5/8) int t^(j + 2)
        polys.append(out)
    return [[float(c) for c in u] for u in polys]


_U = _debye_polynomials(_DEBYE_TERMS)


def _horner(coefficients, x):
    acc = jnp.zeros_like(x)
    for c in reversed(coefficients):
        acc = acc * x + c
    return acc


def _debye_core(order: float, x: Array) -> Array:
    """``log I_order(x) - x + log(2 pi) / 2 + log(order^2 + x^2) / 4`` by Debye's
    expansion (``order >= 40``, ``x > 0``); the dropped root is ``sqrt(2 pi order sqrt(1 + z^2))``."""
    z = x / order
    sq = jnp.sqrt(1.0 + z * z)
    big = z > 1.0
    z_big = jnp.where(big, z, 2.0)
    z_small = jnp.where(big, 0.5, z)
    # log(z / (1 + sq)) without cancellation on either side of z = 1.
    log_ratio = jnp.where(
        big,
        -jnp.log1p((1.0 + 1.0 / (jnp.sqrt(1.0 + z_big * z_big) + z_big)) / z_big),
        jnp.log(z_small) - jnp.log1p(jnp.sqrt(1.0 + z_small * z_small)),
    )
    eta_minus_z = 1.0 / (sq + z) + log_ratio
    p = 1.0 / sq
    total = jnp.zeros_like(x)
    for k in reversed(range(_DEBYE_TERMS)):
        total = total / order + _horner(_U[k], p)
    return order * eta_minus_z + jnp.log(total)


def _series(order: float, x: Array) -> tuple[Array, Array]:
    """``(0F1(; order + 1; x^2/4) - 1, 0F1(; order + 2; x^2/4) - 1)`` by Horner
    from the last term (the leading 1 left out, so small values keep their digits)."""
    y = x * x / 4.0

    def step(i, acc):
        k = _SERIES_TERMS - i  # term k over term k - 1 is y / (k (k + order))
        return (1.0 + y / (k * (k + order)) * acc[0], 1.0 + y / (k * (k + order + 1.0)) * acc[1])

    ones = jnp.ones_like(x)
    acc0, acc1 = jax.lax.fori_loop(0, _SERIES_TERMS - 1, step, (ones, ones))
    return y / (order + 1.0) * acc0, y / (order + 2.0) * acc1


def _series_limit(order: float) -> float:
    return 4.0 * (order + 1.0) ** 0.5


@functools.cache
def _hankel(order: float) -> tuple[float, list[float], list[float]]:
    """``(x_min, s, diff)``: the coefficients (ascending powers of ``x_min / x``) of
    ``S_order`` and of ``S_order - S_{order+1}``, exact fractions rounded once,
    and the smallest ``x`` (a power of 2) at which every term up to the first
    omitted one decreases and that one is below ``2^-56`` of the leading term
    of each sum (the error of an alternating asymptotic series is below its
    first omitted term), as is the exponentially small part ``e^{-2x}`` that
    the expansion leaves out."""
    nu = Fraction(order)

    def coefficients(mu: Fraction) -> list[Fraction]:
        # (-1)^k a_k(mu), a_k = prod_{j <= k} (4 mu^2 - (2j - 1)^2) / (8j) (DLMF 10.40.1)
        out = [Fraction(1)]
        for k in range(1, _HANKEL_TERMS + 1):
            out.append(-out[-1] * (4 * mu * mu - (2 * k - 1) ** 2) / (8 * k))
        return out

    s, s1 = coefficients(nu), coefficients(nu + 1)
    diff = [a - b for a, b in zip(s, s1, strict=True)]  # diff[0] = 0, diff[1] = (2 nu + 1) / 2

    def fits(x: float) -> bool:
        if math.exp(-2.0 * x) > 2.0**-56 * min(1.0, float(diff[1]) / x):  # the e^{-x} part of I_nu left out
            return False
        for series, lead in ((s, 0), (diff, 1)):
            terms = [abs(float(c)) / x**k for k, c in enumerate(series)][lead:]
            if any(b > a for a, b in zip(terms, terms[1:], strict=False)) or terms[-1] > 2.0**-56 * terms[0]:
                return False
        return True

    x_min = 1.0
    while not fits(x_min):
        x_min *= 2.0

    # In powers of x_min / x <= 1: the coefficients stay in range (a_k grows like (nu^2 / 2)^k / k!).
    def scaled(series: list[Fraction]) -> list[float]:
        return [float(c / Fraction(x_min) ** k) for k, c in enumerate(series[:-1])]

    return x_min, scaled(s), scaled(diff)


@functools.partial(jax.jit, static_argnums=0)
def bessel_ratio_parts(order: float, x: Float[Array, "*batch"]) -> tuple[Array, Array, Array, Array]:
    """``(R, 1 - R, log F, log F - x)`` with ``R = I_{order+1}(x) / I_order(x)`` and
    ``F = Gamma(order + 1) (2/x)^order I_order(x) = 0F1(; order + 1; x^2/4)``
    (``F = 1`` at ``x = 0``; ``log F`` keeps full relative precision as ``x -> 0``).

    ``order >= 0`` is a static float (one compilation per order, shape and
    dtype of ``x``), ``x >= 0``; ``(0, 1, 0, 0)`` at ``x = 0``.
    ``log F`` keeps its relative precision at small ``x``, ``log F - x`` at large ``x``.

    Examples:
        >>> import jax.numpy as jnp
        >>> r, one_minus_r, log_f, _ = bessel_ratio_parts(0.0, jnp.asarray(2.0))
        >>> round(float(r), 6), round(float(jnp.exp(log_f)), 6)  # I1(2)/I0(2), I0(2)
        (0.697775, 2.279585)
    """
    order = float(order)
    x = jnp.asarray(x)
    limit = _series_limit(order)
    small = x <= limit

    # Power series.
    xs = jnp.where(small, x, limit)
    g0, g1 = _series(order, xs)
    r_series = xs / (2.0 * (order + 1.0)) * (1.0 + g1) / (1.0 + g0)
    log_f_series = jnp.log1p(g0)

    # Debye at a large order, then backward recurrence.
    xd = jnp.where(small, limit + 1.0, x)
    steps = max(0, int(-(-(_DEBYE_ORDER - order) // 1)))
    top = order + steps
    core = _debye_core(top, xd)
    root = top * top + xd * xd
    log_top = core - 0.5 * jnp.log(2.0 * jnp.pi) - 0.25 * jnp.log(root)
    # log(I_{top+1} / I_top); the roots' ratio in one log1p keeps 1 - R accurate at x >> top.
    diff = _debye_core(top + 1.0, xd) - core - 0.25 * jnp.log1p((2.0 * top + 1.0) / root)
    r_top, c_top = jnp.exp(diff), -jnp.expm1(diff)

    def down(i, carry):
        r, c, log_sum = carry
        k = top - i  # from (R_k, 1 - R_k) to order k - 1
        two_k_x = 2.0 * k / xd
        r_new = 1.0 / (two_k_x + r)
        c_new = (two_k_x - c) * r_new
        return r_new, c_new, log_sum + jnp.log(r_new)

    r_d, c_d, log_sum = jax.lax.fori_loop(0, steps, down, (r_top, c_top, jnp.zeros_like(xd)))
    log_f_scaled = log_top - log_sum + gammaln(order + 1.0) - order * jnp.log(0.5 * xd)

    # Hankel, far beyond order^2: the complement from the coefficients' differences.
    x_min, s_coefficients, diff_coefficients = _hankel(order)
    far = x >= x_min
    y = x_min / jnp.where(far, x, x_min)
    s_far = _horner(s_coefficients, y)
    c_far = _horner(diff_coefficients, y) / s_far
    r_far = _horner([a - b for a, b in zip(s_coefficients, diff_coefficients, strict=True)], y) / s_far

    return (
        jnp.where(small, r_series, jnp.where(far, r_far, r_d)),
        jnp.where(small, 1.0 - r_series, jnp.where(far, c_far, c_d)),
        jnp.where(small, log_f_series, log_f_scaled + xd),
        jnp.where(small, log_f_series - xs, log_f_scaled),
    )
