"""Exact finite-``n`` mean max weight by quadrature, with no sampling.

For ``n`` i.i.d. gaps with density ``f`` and CDF ``F`` (a law with a
closed-form gap law), the nearest key's weight is
``W = e^{-beta g_1} / (e^{-beta g_1} + sum_{j>1} e^{-beta g_j})``. Writing
``1 / (A + S) = int_0^inf e^{-t (A + S)} dt`` and using that the other
``n - 1`` gaps are i.i.d. and must exceed ``g_1``:

    E[max weight] = n int_0^gmax f(g) int_0^inf e^{-s}
        (1 - F(g) - J(g, s))^{n-1} ds dg,
    J(g, s) = int_g^gmax (1 - exp(-s e^{-beta (g' - g)})) f(g') dg',

valid for every ``n`` and ``beta`` (no asymptotics). Tanh–sinh quadratures
over ``u = n F(g)``, ``s`` and the competitors (``_quadrature``, which
follows their Gamma-shaped bump at any dimension) make it a deterministic
function of ``beta``, differentiable, so ``beta*_n`` follows by root-finding: an independent check of the Monte Carlo
search, and the exact finite-size curve that the ``n -> inf`` constant
([`critical_constant`][lattn_jax.theory.critical_constant]) and its first correction
approximate.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._laws import AbstractLaw
from .._numerics._quadrature import competitors, nodes, solve_increasing
from .._validation import ArgumentValueError, check_beta, check_open_unit, check_sizes, default_float
from ._args import as_float_array, gap_law

_NODES = 64  # outer and middle tanh-sinh rules
_INNER_NODES = 64  # each of the two inner rules (96 agrees to 3e-10)
_OUTER_MASS = 60.0  # the nearest gap stays below F^{-1}(60 / n): (1 - F)^{n-1} <= e^{-59} beyond
_S_MAX = 50.0


def _mean_max_weight(law: AbstractLaw, n: Array, log_beta: Array) -> Array:
    """The formula of the module docstring, with the nearest gap integrated over
    ``u = n F(g)`` (its law is ``du`` times the others' survival) and the
    competitors by ``competitors``."""
    dtype = log_beta.dtype
    t, one_minus_t, w = nodes(_NODES, dtype)
    beta = jnp.exp(log_beta)
    g_max = jnp.asarray(law.gap_max, dtype)
    a = law.small_gap_expansion()[0]
    u_max = jnp.minimum(_OUTER_MASS, n)
    u = u_max * t
    survival = ((n - u_max) + u_max * one_minus_t) / n  # 1 - F(g1), exact up to F = 1
    g1 = law.gap_quantile(jnp.log(u) - jnp.log(n), jnp.log(survival))
    s = _S_MAX * t

    def inner(g, s1):
        def log_rho(v):  # the other gaps' density in v = beta (g' - g)
            return law.gap_log_density(g + v / beta) - log_beta

        return competitors(log_rho, s1, beta * g, a, beta * (g_max - g), _INNER_NODES)

    j = jax.vmap(lambda g: jax.vmap(lambda s1: inner(g, s1))(s))(g1)  # (u, s)
    mass = (u / n)[:, None] + j  # F + J, kept apart from 1 - F - J: no rounding of a small mass
    rest = survival[:, None] - j
    ok = rest > 0.0
    small = mass < 0.5
    # (n - 1) log(1 - mass) without losing the small mass to rounding; a double where at rest <= 0.
    log_rest = jnp.where(small, jnp.log1p(-jnp.where(small, mass, 0.0)), jnp.log(jnp.where(ok & ~small, rest, 1.0)))
    log_power = jnp.where(ok, (n - 1.0) * log_rest, -jnp.inf)
    middle = _S_MAX * jnp.sum(w * jnp.exp(-s + log_power), axis=1)
    return u_max * jnp.sum(w * middle)


@eqx.filter_jit
def _exact_curve(law: AbstractLaw, n: Array, beta: Array) -> Array:
    """``E[max weight]`` at each ``beta`` (``1/n`` at ``beta = 0``), one compilation per law, shape and dtype."""
    positive = beta > 0
    log_beta = jnp.log(jnp.where(positive, beta, 1.0))
    value = jnp.vectorize(functools.partial(_mean_max_weight, law, n))(log_beta)
    return jnp.where(positive, value, 1.0 / n)


def exact_mean_max_weight(d_or_law: "int | AbstractLaw", n: int, beta: ArrayLike) -> Float[Array, "*beta"]:
    """``E[max weight]`` for ``n`` keys at inverse temperature ``beta``, exactly
    (to quadrature accuracy: about 1e-13 near ``beta*``, up to 2e-7 deep in the
    sub-critical regime, ``beta = 0.1 beta*``, for d from 2 to 512), for
    uniform keys on ``S^{d-1}`` (given ``d``) or any law with a closed-form gap
    law. Holds in every regime.

    Examples:
        >>> round(float(exact_mean_max_weight(3, 1000, 400.0)), 4)
        0.5006
    """
    law = gap_law(d_or_law)
    n = check_sizes("n", n, minimum=1, integer=True)
    beta = jnp.asarray(check_beta("beta", beta), default_float())
    return _exact_curve(law, jnp.asarray(float(n), beta.dtype), beta)


def _excess(log_beta: Array, law: AbstractLaw, n: Array, level: Array) -> Array:
    return _mean_max_weight(law, n, log_beta) - level


def _exact_critical_beta(law: AbstractLaw, n: int, level: float) -> float:
    from ._poisson import _critical_constant

    a = law.small_gap_expansion()[0]
    guess = math.log(_critical_constant(law, level)) + math.log(n) / a  # the n -> inf value
    name = f"exact_critical_beta(n = {n})"
    return math.exp(solve_increasing(_excess, (law, n, level), guess, 0.5, name=name, dtype=default_float()))


def _check_level(level, n: int) -> float:
    level = check_open_unit("level", level)
    if level <= 1.0 / n:
        raise ArgumentValueError(f"level must exceed 1/n = {1.0 / n:.3g} (the max weight at beta = 0), got {level}")
    return level


def exact_critical_beta(d_or_law: "int | AbstractLaw", n: int, level: float = 0.5) -> Float[Array, ""]:
    """``beta*_n`` with ``E[max weight] = level`` for ``n`` keys, exactly (the
    root of [`exact_mean_max_weight`][lattn_jax.theory.exact_mean_max_weight]; no Monte Carlo, no asymptotics).

    Examples:
        >>> round(float(exact_critical_beta(3, 1000)), 1)
        399.2
    """
    law = gap_law(d_or_law)
    n = check_sizes("n", n, minimum=2, integer=True)
    return as_float_array(_exact_critical_beta(law, n, _check_level(level, n)))


def finite_size_factors(d_or_law: "int | AbstractLaw", ns, level: float = 0.5) -> Float[Array, " ns"]:
    """``beta*_n / (gamma* n^{1/a})`` for each ``n``: the exact finite-size
    factor (``-> 1`` as ``n -> inf``; ``1 + kappa n^{-1/a} + ...``), which a
    corrected power-law fit divides out.

    Examples:
        >>> [round(float(f), 3) for f in finite_size_factors(6, [100, 10000])]
        [0.897, 0.985]
    """
    from ._poisson import _critical_constant

    ns = check_sizes("ns", ns, minimum=2, sequence=True)
    law = gap_law(d_or_law)
    level = check_open_unit("level", level)
    for n in ns:
        _check_level(level, n)
    a = law.small_gap_expansion()[0]
    gamma = _critical_constant(law, level)
    return as_float_array([_exact_critical_beta(law, n, level) / (gamma * float(n) ** (1.0 / a)) for n in ns])
