"""The critical regime: the Poisson-process limit of the nearest keys.

Let ``P(gap <= u) = c u^a (1 + b u + ...)`` as ``u -> 0`` (uniform keys on
``S^{d-1}``: ``a = (d - 1)/2``, ``c = 2^{-a} / (a B(a, a))``; in general
``a = alpha / 2`` with ``alpha`` the local exponent). At
``beta = gamma n^{1/a}`` the rescaled gaps ``x_j = beta g_(j)`` of the nearest
keys converge, as ``n -> infinity``, to a Poisson process on ``(0, inf)`` with
mean measure ``Lambda(x) = lam x^a``, ``lam = c gamma^{-a}``
(``n P(g <= x / beta) -> c gamma^{-a} x^a``), and the attention weights to
``W_j = e^{-x_j} / sum_i e^{-x_i}``. So ``E[max weight]`` has a limit
``m(gamma)``, increasing from 0 to 1, and ``beta*_n / n^{1/a}`` converges to
the ``gamma`` where ``m(gamma) = level``: [`critical_constant`][lattn_jax.theory.critical_constant].

``m`` is computed without sampling, by the Mecke formula for the point
nearest zero and ``1 / (A + S) = int_0^inf e^{-t (A + S)} dt``:

    m = int_0^inf mu(dx) e^{-Lambda(x)} int_0^inf e^{-s}
        exp(-int_0^inf (1 - exp(-s e^{-v})) mu'(x + v) dv) ds dx,

over the nearest point's ``u = Lambda(x)`` (law ``e^{-u} du``), the Laplace
variable ``s`` and the competitors ``v`` by tanh–sinh rules, the last split
where the integrand's Gamma-shaped bump lies (``_quadrature``), so the
error stays below 1e-8 for every ``a`` and near 1e-13 around ``gamma*``
(against an independent adaptive quadrature with an exact Gamma-function tail
for d = 16 … 128, and under more nodes: ``tests/test_theory_critical.py``).
[`critical_constant`][lattn_jax.theory.critical_constant] solves ``m = level`` with a bracket that grows until
it holds the root, and raises if it cannot. The laws of the ordered weights
and of the entropy come from sampling the process ([`sample_limit_weights`][lattn_jax.theory.sample_limit_weights],
[`sample_limit_entropy`][lattn_jax.theory.sample_limit_entropy]): ``x_j = (Gamma_j / lam)^{1/a}`` with ``Gamma_j``
the arrival times of a unit-rate Poisson process, the points past the
``num_points``-th folded in by their conditional mean (Gauss–Legendre).
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._laws import AbstractLaw
from .._numerics._quadrature import competitors, nodes, solve_increasing
from .._observables import Atoms, entropy, tail_atoms
from .._validation import ArgumentValueError, check_int, check_key, check_open_unit, check_sizes, default_float
from ._args import as_float_array, check_gamma, gap_law

_NODES = 64  # outer and middle tanh-sinh rules
_INNER_NODES = 64  # each of the two inner rules (96 agrees to 3e-10)
_U_MAX = 60.0  # the nearest point's u = Lambda(x) stops at 60 (e^{-60} of its law beyond)
_S_MAX = 50.0


def gap_expansion(d_or_law: "int | AbstractLaw") -> tuple[Float[Array, ""], Float[Array, ""], Float[Array, ""]]:
    """``(a, c, b)`` with ``P(gap <= u) = c u^a (1 + b u + O(u^2))`` for uniform
    keys on ``S^{d-1}`` (given ``d``) or for a law with a closed-form gap law.

    Examples:
        >>> a, c, b = gap_expansion(3)
        >>> float(a), round(float(c), 3), float(b)
        (1.0, 0.5, 0.0)
    """
    return tuple(as_float_array(v) for v in gap_law(d_or_law).small_gap_expansion())


def _process(d_or_law: "int | AbstractLaw", gamma: ArrayLike) -> tuple[Array, Array, Array]:
    """``(a, log c, gamma)``, checked, as arrays of the default float dtype: the
    limit process's mean measure is ``lam x^a`` with ``log lam = log c - a log gamma``."""
    gamma = check_gamma(gamma)
    a, c, _ = gap_law(d_or_law).small_gap_expansion()
    return as_float_array(a), as_float_array(math.log(c)), gamma


def _log_intensity(a: Array, log_c: Array, gamma: Array) -> Array:
    """``log lam = log c - a log gamma``: in logs because ``lam`` underflows
    float32 at head dimensions (``~ a^{-a}``)."""
    return log_c - a * jnp.log(gamma)


@jax.jit
def _intensity(a: Array, log_c: Array, gamma: Array) -> Array:
    return jnp.exp(_log_intensity(a, log_c, gamma))


def limit_intensity(d_or_law: "int | AbstractLaw", gamma: ArrayLike) -> Array:
    """``lam = c gamma^{-a}``: the limit process has mean measure ``lam x^a``.

    Examples:
        >>> round(float(limit_intensity(3, 2.0)), 3)
        0.25
    """
    return _intensity(*_process(d_or_law, gamma))


def _mean_max_weight(a: ArrayLike, log_lam: Array, eps: ArrayLike, num_nodes: int, num_inner: int) -> Array:
    """``m`` for the mean measure ``Lambda(x) = lam x^a (1 + eps x)`` (``eps``
    carries the first finite-size correction). The nearest point is integrated
    over ``u = lam x^a`` (its law is ``e^{-u} du`` at ``eps = 0``, whatever
    ``a``) on ``num_nodes`` nodes, the competitors by ``competitors`` on
    ``num_inner`` nodes per rule."""
    dtype = log_lam.dtype
    t, _, w = nodes(num_nodes, dtype)
    u = _U_MAX * t
    x = jnp.exp((jnp.log(u) - log_lam) / a)
    s = _S_MAX * t

    def inner(x1, s1):
        def log_rho(v):  # log Lambda'(x1 + v)
            y = x1 + v
            return log_lam + (a - 1.0) * jnp.log(y) + jnp.log(a + eps * (a + 1.0) * y)

        return competitors(log_rho, s1, x1, a, jnp.asarray(jnp.inf, dtype), num_inner)

    exponent = jax.vmap(lambda x1: jax.vmap(lambda s1: inner(x1, s1))(s))(x)  # (u, s)
    middle = _S_MAX * jnp.sum(w * jnp.exp(-s - exponent), axis=1)
    jacobian = 1.0 + eps * x * (a + 1.0) / a  # Lambda'(x) dx / du
    return _U_MAX * jnp.sum(w * jacobian * jnp.exp(-u * (1.0 + eps * x)) * middle)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _limit_curve(a: Array, log_c: Array, gamma: Array, num_nodes: int, num_inner: int) -> Array:
    def curve(log_lam):
        return _mean_max_weight(a, log_lam, jnp.zeros_like(log_lam), num_nodes, num_inner)

    return jnp.vectorize(curve)(_log_intensity(a, log_c, gamma))


def limit_mean_max_weight(d_or_law: "int | AbstractLaw", gamma: ArrayLike) -> Float[Array, "*gamma"]:
    """``m(gamma) = lim E[max weight]`` at ``beta = gamma n^{1/a}`` (``1/a = 2/(d-1)``
    for uniform keys): the critical regime's scaling function, increasing from
    0 (``gamma -> 0``, sub-critical) to 1 (``gamma -> inf``, super-critical).
    Deterministic (quadrature, see the module docstring), differentiable in ``gamma``.

    Examples:
        >>> round(float(limit_mean_max_weight(3, 0.4)), 4)
        0.5007
    """
    # The node counts are read here, at call time, so that a change of them takes effect.
    return _limit_curve(*_process(d_or_law, gamma), _NODES, _INNER_NODES)


def _excess(z: Array, a: Array, level: Array) -> Array:
    """``m - level`` at ``log lam = -a z`` (``e^z`` is the scale of the nearest
    gaps, so ``m`` increases in ``z`` and its root sits near ``log a``)."""
    return _mean_max_weight(a, -a * z, jnp.zeros_like(z), _NODES, _INNER_NODES) - level


@functools.lru_cache(maxsize=256)
def _log_lam_at(a: float, level: float, dtype: str) -> float:
    z = solve_increasing(
        _excess, (a, level), math.log(max(a, 1.0)), 0.5, name=f"critical constant (a = {a:g})", dtype=jnp.dtype(dtype)
    )
    return -a * z


_gradient = jax.jit(jax.grad(_mean_max_weight, argnums=(1, 2)), static_argnums=(3, 4))


@functools.lru_cache(maxsize=256)
def _sensitivities(a: float, log_lam: float, dtype: str) -> tuple[float, float]:
    """``(dm/dlog lam, dm/deps)`` at ``eps = 0``."""
    args = jnp.asarray(a, dtype), jnp.asarray(log_lam, dtype), jnp.zeros((), dtype)
    dm_dloglam, dm_deps = _gradient(*args, _NODES, _INNER_NODES)
    return float(dm_dloglam), float(dm_deps)


def _critical_constant(law: AbstractLaw, level: float) -> float:
    a, c, _ = law.small_gap_expansion()
    return math.exp((math.log(c) - _log_lam_at(a, level, default_float().name)) / a)


def critical_constant(d_or_law: "int | AbstractLaw", level: float = 0.5) -> Float[Array, ""]:
    """``gamma* = lim beta*_n / n^{1/a}``, where ``beta*_n`` solves
    ``E[max weight] = level`` for ``n`` keys: the root of
    [`limit_mean_max_weight`][lattn_jax.theory.limit_mean_max_weight] ``= level``.

    Examples:
        >>> round(float(critical_constant(3)), 3)
        0.399
    """
    level = check_open_unit("level", level)
    return as_float_array(_critical_constant(gap_law(d_or_law), level))


def _finite_size_coefficient(law: AbstractLaw, level: float) -> float:
    a, c, b = law.small_gap_expansion()
    if b == 0.0:
        return 0.0
    log_lam = _log_lam_at(a, level, default_float().name)
    dm_dloglam, dm_deps = _sensitivities(a, log_lam, default_float().name)
    delta = b * dm_deps / (a * dm_dloglam)
    gamma = math.exp((math.log(c) - log_lam) / a)
    return delta / gamma


def finite_size_coefficient(d_or_law: "int | AbstractLaw", level: float = 0.5) -> Float[Array, ""]:
    """``kappa`` in ``beta*_n = gamma* n^{1/a} (1 + kappa n^{-1/a} + ...)``.

    At ``beta = gamma n^{1/a}`` the exact mean measure of the rescaled gaps is
    ``n P(g <= x / beta) = lam x^a (1 + eps x + ...)`` with ``eps = b / beta``,
    ``b`` the next coefficient of the gap law ([`gap_expansion`][lattn_jax.theory.gap_expansion]; for uniform
    keys ``b = a (1 - a) / (2 (a + 1))``, zero at ``d = 3``). To first order
    ``m(lam, eps) = level`` moves ``lam`` by ``-(dm/deps) / (dm/dlam) eps``, so
    ``beta*_n`` shifts by the constant
    ``delta = b (dm/deps) / (a lam dm/dlam)`` and ``kappa = delta / gamma*``.
    The next terms are ``O(n^{-2/a})`` and ``O(1/n)`` (binomial against Poisson).

    Examples:
        >>> float(finite_size_coefficient(3))
        0.0
        >>> round(float(finite_size_coefficient(6)), 3)
        -0.601
    """
    level = check_open_unit("level", level)
    return as_float_array(_finite_size_coefficient(gap_law(d_or_law), level))


def critical_beta(
    d_or_law: "int | AbstractLaw", n: ArrayLike, level: float = 0.5, *, finite_size: bool = False
) -> Float[Array, "*n"]:
    """The theory's ``beta*_n = gamma* n^{1/a}`` (``n^{2/(d-1)}`` for uniform keys),
    with the first finite-size correction ``(1 + kappa n^{-1/a})`` when
    ``finite_size=True`` (see [`finite_size_coefficient`][lattn_jax.theory.finite_size_coefficient]). Asymptotic:
    exact as ``n -> inf``.

    Examples:
        >>> round(float(critical_beta(3, 1e4)), 1)
        3989.6
    """
    law = gap_law(d_or_law)
    level = check_open_unit("level", level)
    check_sizes("n", n, minimum=2)
    a = law.small_gap_expansion()[0]
    n = np.asarray(n, dtype=np.float64)
    beta = _critical_constant(law, level) * n ** (1.0 / a)
    if finite_size:
        beta = beta * (1.0 + _finite_size_coefficient(law, level) * n ** (-1.0 / a))
    return as_float_array(beta)


def _limit_atoms(key: PRNGKeyArray, a: Array, log_lam: Array, num_points: int) -> Atoms:
    """One realisation of the limit process as atoms at ``beta = 1``: the first
    ``num_points`` points exactly, the rest by their conditional mean. In logs:
    at head dimensions ``lam`` underflows float32 (``log lam ~ -a log a``)."""
    dtype = log_lam.dtype
    arrivals = jnp.cumsum(jax.random.exponential(key, (num_points,), dtype))
    x = jnp.exp((jnp.log(arrivals) - log_lam) / a)
    tail, log_counts = tail_atoms(x[-1], 1.0, jnp.inf, lambda v: log_lam + jnp.log(a) + (a - 1.0) * jnp.log(v), dtype)
    return Atoms(jnp.concatenate([x, tail]), jnp.concatenate([jnp.zeros((num_points,), dtype), log_counts]), num_points)


def _sample(observable, key: PRNGKeyArray, a: Array, log_c: Array, gamma: Array, num_samples: int, num_points: int):
    """``observable(atoms)`` on ``num_samples`` realisations of the limit process."""
    log_lam = _log_intensity(a, log_c, gamma)
    keys = jax.random.split(key, num_samples)
    return jax.vmap(lambda key_: observable(_limit_atoms(key_, a, log_lam, num_points)))(keys)


def _sampler_args(key, d_or_law, gamma, num_samples, num_points) -> tuple[PRNGKeyArray, Array, Array, Array, int, int]:
    check_key("key", key)
    num_samples = check_int("num_samples", num_samples, minimum=1)
    num_points = check_int("num_points", num_points, minimum=2)
    if np.ndim(gamma) != 0:
        raise ArgumentValueError(f"gamma must be a scalar, got shape {np.shape(gamma)}", argument="gamma")
    return key, *_process(d_or_law, gamma), num_samples, num_points


@functools.partial(jax.jit, static_argnums=(4, 5, 6))
def _limit_weights(key, a, log_c, gamma, num_samples: int, num_points: int, k: int) -> Array:
    def top(atoms: Atoms) -> Array:
        log_w, _ = atoms.log_weights(1.0)
        return jnp.exp(log_w[:k])

    return _sample(top, key, a, log_c, gamma, num_samples, num_points)


def sample_limit_weights(
    key: PRNGKeyArray, d_or_law: "int | AbstractLaw", gamma: float, num_samples: int, k: int = 3, num_points: int = 1024
) -> Float[Array, "num_samples k"]:
    """Samples of the ``k`` largest limit weights ``W_(1) >= ... >= W_(k)`` at
    ``beta = gamma n^{1/a}``, ``n -> inf``: the law the ordered weights of ``n``
    keys converge to.

    Examples:
        >>> import jax
        >>> w = sample_limit_weights(jax.random.key(0), 3, 1.5, 1000)
        >>> w.shape, bool((w[:, 0] >= w[:, 1]).all())
        ((1000, 3), True)
    """
    key, a, log_c, gamma, num_samples, num_points = _sampler_args(key, d_or_law, gamma, num_samples, num_points)
    k = check_int("k", k, minimum=1)
    if k > num_points:
        raise ArgumentValueError(f"k must be <= num_points = {num_points}, got {k}", argument="k")
    return _limit_weights(key, a, log_c, gamma, num_samples, num_points, k)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _limit_entropy(key, a, log_c, gamma, num_samples: int, num_points: int) -> Array:
    return _sample(lambda atoms: entropy.on_atoms(atoms, 1.0), key, a, log_c, gamma, num_samples, num_points)


def sample_limit_entropy(
    key: PRNGKeyArray, d_or_law: "int | AbstractLaw", gamma: float, num_samples: int, num_points: int = 1024
) -> Float[Array, " num_samples"]:
    """Samples of the limit entropy ``H = -sum_j W_j log W_j`` at
    ``beta = gamma n^{1/a}``, ``n -> inf`` (finite: the limit process's weights
    are summable).

    Examples:
        >>> import jax
        >>> h = sample_limit_entropy(jax.random.key(0), 3, 1.5, 1000)
        >>> h.shape, bool((h > 0).all())
        ((1000,), True)
    """
    return _limit_entropy(*_sampler_args(key, d_or_law, gamma, num_samples, num_points))
