"""Special functions JAX lacks: log of the regularized incomplete beta far into
the lower tail, and the symmetric-beta quantile built on it.

``jax.scipy.special.betainc`` underflows in float32 long before the tails that
matter here (``I_x(2.5, 2.5)`` at ``x = 1e-20`` is ``5e-50``), so everything is
done in logs with the positive power series (Abramowitz & Stegun 26.5.4 via
the Euler transform)

    I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * sum_k (a + b)_k / (a + 1)_k x^k,

whose terms are all positive (no cancellation) and converge geometrically for
``x <= 1/2``; larger ``x`` goes through the symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)``.
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betaln, ndtri
from jaxtyping import Array, ArrayLike, Float

_NUM_TERMS = 96  # 0.5**96 < 1e-28: enough for float64 at x <= 1/2
_NUM_TERMS_F32 = 40


def _log_series(a: ArrayLike, b: ArrayLike, x: Array) -> Array:
    # Horner from the last term: 1 + r_0 x (1 + r_1 x (1 + ...)), r_k = (a+b+k)/(a+1+k).
    num_terms = _NUM_TERMS if jnp.finfo(x.dtype).bits > 32 else _NUM_TERMS_F32

    def step(i, acc):
        k = num_terms - 2 - i
        return 1.0 + (a + b + k) / (a + 1.0 + k) * x * acc

    return jnp.log(jax.lax.fori_loop(0, num_terms - 1, step, jnp.ones_like(x), unroll=4))


def log_betainc_lower(a: ArrayLike, b: ArrayLike, x: Float[Array, "*batch"]) -> Float[Array, "*batch"]:
    """``log I_x(a, b)`` for ``0 < x <= 1/2``, accurate when ``I_x`` is far below
    the smallest float (a power series with positive terms, summed in logs).

    Example:
        >>> import jax.numpy as jnp
        >>> round(float(log_betainc_lower(2.5, 2.5, jnp.asarray(1e-20))), 3)
        -113.437
    """
    x = jnp.asarray(x)
    log_prefactor = a * jnp.log(x) + b * jnp.log1p(-x) - jnp.log(a) - betaln(a, b)
    return log_prefactor + _log_series(a, b, x)


def symmetric_beta_quantile(
    a: ArrayLike, log_u: Float[Array, "*batch"], log_1mu: Float[Array, "*batch"]
) -> Float[Array, "*batch"]:
    """Quantile of ``Beta(a, a)`` at ``u``, given as ``log u`` and ``log(1 - u)``.

    Passing both tails keeps full relative precision at either end (``u`` as
    small as the float range allows, or ``1 - u`` likewise). Newton's method in
    ``log x`` on ``log I_x(a, a) = log u`` from the small-``x`` leading term
    ``x ~ (u a B(a, a))^(1/a)``; the lower half is solved directly and the upper
    half by symmetry. Not differentiable (a sampler's inner step).

    Example:
        >>> import jax.numpy as jnp
        >>> u = jnp.asarray(0.3)
        >>> round(float(symmetric_beta_quantile(1.0, jnp.log(u), jnp.log1p(-u))), 4)
        0.3
    """
    log_u = jax.lax.stop_gradient(jnp.asarray(log_u))
    log_1mu = jax.lax.stop_gradient(jnp.asarray(log_1mu))
    lower = log_u <= log_1mu
    log_p = jnp.minimum(log_u, log_1mu)  # the smaller tail, <= log(1/2)
    if isinstance(a, float | int) and a == 1:  # Beta(1, 1) is uniform
        x = jnp.exp(log_p)
        return jnp.where(lower, x, 1.0 - x)
    log_half = jnp.log(jnp.asarray(0.5, log_p.dtype))
    log_beta = betaln(a, a)
    y = jnp.minimum((log_p + jnp.log(a) + log_beta) / a, log_half)

    def newton(_, y):
        x = jnp.exp(y)
        log_cdf = log_betainc_lower(a, a, x)
        log_slope = a * y + (a - 1.0) * jnp.log1p(-x) - log_beta - log_cdf
        y_new = y - (log_cdf - log_p) / jnp.exp(log_slope)
        return jnp.clip(y_new, y - 4.0, log_half)

    x = jnp.exp(jax.lax.fori_loop(0, 5, newton, y))  # 5 steps: float64-exact up to a = 8
    return jnp.where(lower, x, 1.0 - x)


def legendre_unit(num: int, dtype) -> tuple[Array, Array]:
    """Gauss–Legendre nodes and weights on ``[0, 1]``."""
    nodes, weights = np.polynomial.legendre.leggauss(num)
    return jnp.asarray((nodes + 1.0) / 2.0, dtype), jnp.asarray(weights / 2.0, dtype)


def _log_accept_gap(y: Array) -> Array:
    """``h(y) = 3 log(1 + y) - 3y - 3y^2 - y^3`` without cancellation at small ``y``."""
    series = y * y * (-4.5 + y * y * (-0.75 + y * (0.6 + y * (-0.5 + y * (3.0 / 7.0)))))
    direct = 3.0 * jnp.log1p(jnp.maximum(y, -0.999)) - y * (3.0 + y * (3.0 + y))
    return jnp.where(jnp.abs(y) < 0.05, series, direct)


def gamma_large(uniforms: Float[Array, "2 tries"], alpha: ArrayLike) -> Array:
    """One ``Gamma(alpha)`` variate for ``alpha >= 1`` (traced) from ``2 * tries``
    uniforms on (0, 1), by Marsaglia–Tsang with ``tries`` proposals at once; the
    first accepted one is returned (all fail with probability < 0.05**tries).
    The acceptance test is written so that it stays exact for ``alpha`` up to
    1e15 in float32. Taking uniforms lets a sampler draw all its random bits in
    one call, which compiles far faster than ``jax.random.gamma``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> u = jax.random.uniform(jax.random.key(0), (4000, 2, 8))
        >>> g = jax.vmap(lambda v: gamma_large(v, 50.0))(u)
        >>> bool(abs(float(g.mean()) - 50.0) < 0.5)
        True
    """
    dtype = uniforms.dtype
    uniforms = jnp.clip(uniforms, jnp.finfo(dtype).tiny, 1.0 - jnp.finfo(dtype).epsneg)
    x = ndtri(uniforms[0])
    log_u = jnp.log(uniforms[1])
    shape = jnp.asarray(alpha, dtype) - 1.0 / 3.0
    y = x / jnp.sqrt(9.0 * shape)
    accept = (y > -1.0) & (log_u < 0.5 * x * x + shape * _log_accept_gap(y))
    first = jnp.argmax(accept)
    return shape * (1.0 + y[first]) ** 3
