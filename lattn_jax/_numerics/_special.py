"""Special functions JAX lacks: log of the regularized incomplete beta far into
the lower tail, and the beta quantile built on it.

``jax.scipy.special.betainc`` underflows in float32 long before the tails that
matter here (``I_x(2.5, 2.5)`` at ``x = 1e-20`` is ``5e-50``), so everything is
done in logs with the positive power series (Abramowitz & Stegun 26.5.4 via
the Euler transform)

    I_x(a, b) = x^a (1 - x)^b / (a B(a, b)) * sum_k (a + b)_k / (a + 1)_k x^k,

whose terms are all positive (no cancellation) and converge geometrically for
``x <= 1/2``; larger ``x`` goes through the symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)``.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betaln, ndtri
from jaxtyping import Array, ArrayLike, Float

_NUM_TERMS = 96  # 0.5**96 < 1e-28: enough for float64 at x <= 1/2
_NUM_TERMS_F32 = 40
_NEWTON_STEPS = 6  # float64-exact for shapes up to ~8 from the leading-term start


def _log_series(a: ArrayLike, b: ArrayLike, x: Array) -> Array:
    # Horner from the last term: 1 + r_0 x (1 + r_1 x (1 + ...)), r_k = (a+b+k)/(a+1+k).
    num_terms = _NUM_TERMS if jnp.finfo(x.dtype).bits > 32 else _NUM_TERMS_F32

    def step(i, acc):
        k = num_terms - 2 - i
        return 1.0 + (a + b + k) / (a + 1.0 + k) * x * acc

    return jnp.log(jax.lax.fori_loop(0, num_terms - 1, step, jnp.ones_like(x), unroll=4))


@jax.jit
def log_betainc_lower(a: ArrayLike, b: ArrayLike, x: Float[Array, "*batch"]) -> Float[Array, "*batch"]:
    """``log I_x(a, b)`` for ``0 < x <= 1/2``, accurate when ``I_x`` is far below
    the smallest float (a power series with positive terms, summed in logs).

    Examples:
        >>> import jax.numpy as jnp
        >>> round(float(log_betainc_lower(2.5, 2.5, jnp.asarray(1e-20))), 3)
        -113.437
    """
    x = jnp.asarray(x)
    log_prefactor = a * jnp.log(x) + b * jnp.log1p(-x) - jnp.log(a) - betaln(a, b)
    return log_prefactor + _log_series(a, b, x)


@functools.partial(jax.jit, static_argnums=(0, 1))
def beta_quantile(
    a: float, b: float, log_u: Float[Array, "*batch"], log_1mu: Float[Array, "*batch"]
) -> Float[Array, "*batch"]:
    """Quantile of ``Beta(a, b)`` at ``u``, given as ``log u`` and ``log(1 - u)``.

    Passing both tails keeps full relative precision at either end (``u`` as
    small as the float range allows, or ``1 - u`` likewise). Below the
    probability ``I_{1/2}(a, b)`` it solves ``log I_x(a, b) = log u`` for
    ``x <= 1/2`` by Newton's method in ``log x`` from the small-``x`` leading
    term ``x ~ (u a B(a, b))^(1/a)``; above it, the mirror problem for
    ``1 - x ~ Beta(b, a)``. Not differentiable (a sampler's inner step).
    ``a`` and ``b`` are static floats (one compilation per shape pair, shape
    and dtype).

    Examples:
        >>> import jax.numpy as jnp
        >>> u = jnp.asarray(0.3)
        >>> round(float(beta_quantile(1.0, 1.0, jnp.log(u), jnp.log1p(-u))), 4)
        0.3
    """
    log_u = jax.lax.stop_gradient(jnp.asarray(log_u))
    log_1mu = jax.lax.stop_gradient(jnp.asarray(log_1mu))
    if a == b == 1:  # uniform
        lower = log_u <= log_1mu
        return jnp.where(lower, jnp.exp(log_u), -jnp.expm1(log_1mu))
    log_half = jnp.log(jnp.asarray(0.5, log_u.dtype))
    log_mid = log_betainc_lower(a, b, jnp.asarray(0.5, log_u.dtype))  # log I_{1/2}(a, b)
    lower = log_u <= log_mid
    p = jnp.where(lower, a, b)  # solve log I_x(p, q) = log_p for x <= 1/2
    q = jnp.where(lower, b, a)
    log_p = jnp.where(lower, log_u, log_1mu)
    log_beta = betaln(p, q)
    y = jnp.minimum((log_p + jnp.log(p) + log_beta) / p, log_half)

    def newton(_, y):
        x = jnp.exp(y)
        log_cdf = log_betainc_lower(p, q, x)
        log_slope = p * y + (q - 1.0) * jnp.log1p(-x) - log_beta - log_cdf
        y_new = y - (log_cdf - log_p) / jnp.exp(log_slope)
        return jnp.clip(y_new, y - 4.0, log_half)

    x = jnp.exp(jax.lax.fori_loop(0, _NEWTON_STEPS, newton, y))
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

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> u = jax.random.uniform(jax.random.key(0), (4000, 2, 8))
        >>> g = jax.jit(jax.vmap(lambda v: gamma_large(v, 50.0)))(u)  # one compilation, not op by op
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
