"""Regime map: where a temperature schedule puts attention along ``n``,
relative to the critical inverse temperature ``beta*(n)``."""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._critical import critical_scan
from .._estimators import mc_estimates
from .._laws import AbstractLaw, check_law
from .._observables import entropy, max_weight
from .._sampling._contexts import DEFAULT_HEAD, METHODS, Method
from .._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_array,
    check_choice,
    check_int,
    check_key,
    check_real,
    check_sizes,
)
from ._schedule import AbstractSchedule

REGIMES = ("sub-critical", "critical", "super-critical")
DEFAULT_BAND = 2.0


class RegimeMap(eqx.Module):
    """A schedule's regime along ``n``; arrays are over ``ns``.

    Attributes:
        ns: context sizes.
        beta: the schedule's ``beta(n)``.
        beta_star: the critical ``beta*(n)`` (``E[max weight] = 1/2``).
        beta_star_stderr: its standard error (0 when given as a curve).
        ratio: ``beta(n) / beta*(n)``.
        max_weight: ``E[max_i w_i]`` at ``beta(n)``.
        max_weight_stderr: its standard error.
        entropy: ``E[H]`` (nats) at ``beta(n)``.
        entropy_stderr: its standard error.
        regime: ``-1`` sub-critical, ``0`` critical, ``+1`` super-critical
            (see [`regime_map`][lattn_jax.regime_map] for the thresholds).
        band: the factor that defines the critical band.

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> import jax.numpy as jnp
        >>> ratio = jnp.array([0.1, 1.0, 5.0])  # usually from regime_map; built by hand here
        >>> ones = jnp.ones(3)
        >>> m = RegimeMap(ns=jnp.array([1e2, 1e3, 1e4]), beta=ratio * 10.0, beta_star=10.0 * ones,
        ...               beta_star_stderr=0 * ones, ratio=ratio, max_weight=ones, max_weight_stderr=0 * ones,
        ...               entropy=ones, entropy_stderr=0 * ones, regime=classify(ratio), band=2.0)
        >>> m.labels
        ['sub-critical', 'critical', 'super-critical']
    """

    ns: Float[Array, " m"]
    beta: Float[Array, " m"]
    beta_star: Float[Array, " m"]
    beta_star_stderr: Float[Array, " m"]
    ratio: Float[Array, " m"]
    max_weight: Float[Array, " m"]
    max_weight_stderr: Float[Array, " m"]
    entropy: Float[Array, " m"]
    entropy_stderr: Float[Array, " m"]
    regime: Int[Array, " m"]
    band: float = eqx.field(static=True)

    @property
    def labels(self) -> list[str]:
        """The regimes as words: ``"sub-critical"``, ``"critical"``, ``"super-critical"``."""
        return [REGIMES[int(r) + 1] for r in np.asarray(self.regime)]


def classify(ratio, band: float = DEFAULT_BAND) -> Array:
    """``-1`` where ``ratio < 1/band`` (sub-critical), ``+1`` where ``ratio > band``
    (super-critical), ``0`` in between (critical).

    Examples:
        >>> classify(jnp.array([0.1, 1.0, 3.0])).tolist()
        [-1, 0, 1]
    """
    ratio = jnp.asarray(ratio)
    return jnp.where(ratio < 1.0 / band, -1, jnp.where(ratio > band, 1, 0))


def _context_sizes(ns) -> list[int]:
    return check_sizes("ns", ns, minimum=2, sequence=True)


def _check_callback(callback) -> None:
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(f"callback must be a function callback(n) or None, got {type(callback).__name__}")


def critical_betas(
    law: AbstractLaw,
    ns: Sequence[int],
    key: PRNGKeyArray,
    *,
    num_contexts: int = 1024,
    method: Method = "auto",
    head: int = DEFAULT_HEAD,
    dtype=None,
    callback: Callable[[int], None] | None = None,
) -> tuple[Array, Array]:
    """``beta*(n)`` (``E[max weight] = 1/2``) and its standard error for each ``n``,
    by [`find_critical_beta`][lattn_jax.find_critical_beta] on independent contexts per ``n``
    (``jax.random.fold_in(key, i)``). ``callback(n)`` is called as each ``n``
    finishes (for progress displays).

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> betas, stderrs = lj.critical_betas(lj.UniformSphere(3), [100, 1000], jax.random.key(0), num_contexts=64)
        >>> betas.shape, bool(betas[1] > betas[0])  # beta* grows like n^{2/(d-1)} = n
        ((2,), True)
    """
    ns = _context_sizes(ns)
    check_key("key", key)
    check_law("law", law)
    _check_callback(callback)
    each = None if callback is None else lambda n, _: callback(n)
    scan = critical_scan(law, ns, key, num_contexts=num_contexts, method=method, head=head, dtype=dtype, callback=each)
    return scan.beta, scan.stderr


def regime_map(
    law: AbstractLaw,
    schedule: AbstractSchedule | Sequence[AbstractSchedule],
    ns: Sequence[int],
    key: PRNGKeyArray,
    *,
    num_contexts: int = 1024,
    critical: "AbstractSchedule | tuple[Array, Array] | None" = None,
    band: float = DEFAULT_BAND,
    method: Method = "auto",
    head: int = DEFAULT_HEAD,
    dtype=None,
    callback: Callable[[int], None] | None = None,
) -> RegimeMap | list[RegimeMap]:
    """Where ``schedule`` puts attention over contexts from ``law``, for each ``n``.

    At ``beta = schedule(n)`` it estimates ``E[max_i w_i]`` and ``E[H]``
    (Monte Carlo, the same contexts for both), and compares ``beta`` with the
    critical ``beta*(n)`` at which ``E[max weight] = 1/2``. Each ``n`` is

    - sub-critical if ``beta / beta* < 1 / band``: the weight spreads over many
      keys (``E[H]`` grows with ``log n``);
    - super-critical if ``beta / beta* > band``: the nearest key takes most of
      the weight;
    - critical in between.

    The default ``band = 2`` is a convention: the transition is smooth at finite
    ``n``; the measured ``max_weight`` says how selective attention actually is.

    Args:
        law: the context law, e.g. ``UniformSphere(64)`` or ``EmpiricalKeys(...)``.
        schedule: the schedule, e.g. ``QwenLogN(base=8.0)``, or a list of
            schedules (evaluated on the same contexts in one pass per ``n``).
        ns: context sizes ``>= 2``.
        key: a ``jax.random.key``.
        num_contexts: contexts per ``n`` (for the estimates and for ``beta*``).
        critical: ``beta*(n)`` given instead of searched: a schedule (e.g. a
            fitted [`PowerLaw`][lattn_jax.PowerLaw], standard error taken as 0) or a pair of
            arrays ``(beta_star, stderr)`` over ``ns``, as from [`critical_betas`][lattn_jax.critical_betas].
        band: the factor ``> 1`` around ``beta*`` called critical.
        method, head, dtype: as in [`mc_estimate`][lattn_jax.mc_estimate].
        callback: called as ``callback(n)`` when ``n``'s estimates are done
            (and by the ``beta*`` search, when it runs, as each ``n`` finishes).

    Returns:
        A [`RegimeMap`][lattn_jax.RegimeMap] (a list of them for a list of schedules).

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> schedules = [lj.Constant(1.0), lj.Constant(1e6)]  # far below and far above beta*
        >>> maps = lj.regime_map(lj.UniformSphere(3), schedules, [100, 10_000], jax.random.key(0), num_contexts=64)
        >>> [m.labels for m in maps]
        [['sub-critical', 'sub-critical'], ['super-critical', 'super-critical']]
    """
    ns = _context_sizes(ns)
    num_contexts = check_int("num_contexts", num_contexts, minimum=2)
    check_key("key", key)
    check_choice("method", method, METHODS)
    check_law("law", law)
    _check_callback(callback)
    single = isinstance(schedule, AbstractSchedule)
    schedules = [schedule] if single else list(schedule) if isinstance(schedule, Sequence) else None
    if not schedules or not all(isinstance(sch, AbstractSchedule) for sch in schedules):
        raise ArgumentTypeError(f"schedule must be a schedule such as QwenLogN() or a list of them, got {schedule!r}")
    if check_real("band", band) <= 1:
        raise ArgumentValueError(f"band must be a finite number > 1, got {band!r}")
    k_crit, k_est = jax.random.split(key)
    if critical is None:
        beta_star, beta_star_se = critical_betas(
            law, ns, k_crit, num_contexts=num_contexts, method=method, head=head, dtype=dtype, callback=callback
        )
    elif isinstance(critical, AbstractSchedule):
        beta_star = jnp.stack([jnp.asarray(critical(float(n))) for n in ns])
        beta_star_se = jnp.zeros_like(beta_star)
    else:
        shape = f" of shape ({len(ns)},), one value per n"
        if not isinstance(critical, tuple | list) or len(critical) != 2:
            raise ArgumentTypeError(
                f"critical must be a schedule, a pair of arrays (beta_star, stderr){shape}, or None"
            )
        beta_star = check_array("critical[0] (beta_star)", critical[0], ndim=1, shape=shape)
        beta_star_se = check_array("critical[1] (stderr)", critical[1], ndim=1, shape=shape)
        if beta_star.shape != (len(ns),) or beta_star_se.shape != (len(ns),):
            raise ArgumentValueError(f"critical must be two arrays{shape}")
        if not (np.all(np.asarray(beta_star) > 0) and np.all(np.asarray(beta_star_se) >= 0)):
            raise ArgumentValueError("critical must hold beta_star > 0 and stderr >= 0")
    # One pass per n for all schedules: their betas share the contexts (and the compilation).
    beta = jnp.stack([jnp.stack([jnp.asarray(sch(float(n))) for n in ns]) for sch in schedules])
    rows = {"mw": [], "mw_se": [], "h": [], "h_se": []}
    for i, n in enumerate(ns):
        k = jax.random.fold_in(k_est, i)
        # Both observables in one pass over the same contexts.
        mw, h = mc_estimates(
            (max_weight, entropy), law, n, beta[:, i], k, num_contexts, method=method, head=head, dtype=dtype
        )
        for name, value in [("mw", mw.mean), ("mw_se", mw.stderr), ("h", h.mean), ("h_se", h.stderr)]:
            rows[name].append(value)
        if callback is not None:
            callback(n)
    cols = {name: jnp.stack(values, axis=1) for name, values in rows.items()}  # (schedules, ns)
    maps = []
    for j in range(len(schedules)):
        ratio = beta[j] / beta_star
        maps.append(
            RegimeMap(
                ns=jnp.asarray(ns, beta.dtype),
                beta=beta[j],
                beta_star=beta_star,
                beta_star_stderr=beta_star_se,
                ratio=ratio,
                max_weight=cols["mw"][j],
                max_weight_stderr=cols["mw_se"][j],
                entropy=cols["h"][j],
                entropy_stderr=cols["h_se"][j],
                regime=classify(ratio, band),
                band=float(band),
            )
        )
    return maps[0] if single else maps
