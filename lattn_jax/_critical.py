"""Critical-beta search: root-finding in ``log beta`` on Monte Carlo curves with
JAX derivatives, on contexts sampled once (common random numbers)."""

import abc
from collections.abc import Callable, Sequence
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._estimators import context_values
from ._laws import AbstractLaw, as_law
from ._observables import entropy, max_weight
from ._sampling._contexts import DEFAULT_HEAD, METHODS, Method, batch_size, make_sampler
from ._sampling._sharding import context_mesh, over_contexts, pad_keys, padded_count
from ._sampling._streaming import DEFAULT_CHUNK
from ._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_choice,
    check_dtype,
    check_int,
    check_key,
    check_open_unit,
    check_sizes,
)

Criterion = Literal["max_weight", "entropy_curvature"]
_STEP_LISTENERS: list[Callable[[int, float, float], None]] = []  # innermost search last
_PRESAMPLE_ELEMENTS = 2**26
_SAMPLE_ELEMENTS = 2**18  # gaps per sampling chunk: the quantile's loops stay in cache


class CriticalBeta(eqx.Module):
    """A critical inverse temperature and how it was found.

    Attributes:
        beta: the root ``beta*``.
        stderr: its Monte Carlo standard error (delta method: the standard error
            of the criterion at ``beta*`` over the criterion's slope there).
        value: the criterion's Monte Carlo mean at ``beta*`` (``level`` for
            max weight, ``0`` for the curvature criterion, up to tolerance).
        slope: the criterion's derivative in ``log beta`` at ``beta*``.
        iterations: safeguarded-Newton steps taken.
        converged: whether the step fell below the tolerance inside a bracket.
        n: keys per context.

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> crit = lj.find_critical_beta(lj.UniformSphere(3), 1000, jax.random.key(0), num_contexts=512)
        >>> bool(crit.converged), bool(abs(float(crit.value) - 0.5) < 1e-3), int(crit.n)
        (True, True, 1000)
    """

    beta: Float[Array, "*scan"]
    stderr: Float[Array, "*scan"]
    value: Float[Array, "*scan"]
    slope: Float[Array, "*scan"]
    iterations: Array
    converged: Array
    n: Float[Array, "*scan"]


class _AbstractCriterion(eqx.Module):
    """A per-context criterion ``c(value_at, t, level)`` at ``t = log beta``,
    increasing through its root; ``value_at(observable, beta)`` evaluates an
    observable on the context. ``level`` is traced: a new level needs no new
    compilation. ``target(level)`` is the mean value at the root."""

    @abc.abstractmethod
    def __call__(self, value_at: Callable, t: Array, level: Array) -> Array: ...

    @abc.abstractmethod
    def target(self, level: float) -> float: ...

    def check(self, level: float, n: int) -> None:
        """``level`` usable at ``n`` (``ValueError`` otherwise)."""


class _MaxWeightLevel(_AbstractCriterion):
    """``E[max weight](beta) - level``."""

    def __call__(self, value_at, t, level):
        return value_at(max_weight, jnp.exp(t)) - level

    def target(self, level):
        return level

    def check(self, level, n):
        if level <= 1.0 / n:
            raise ArgumentValueError(
                f"level must exceed 1/n = {1.0 / n:.3g} (the max weight at beta = 0), got {level}", argument="level"
            )


class _EntropyCurvaturePeak(_AbstractCriterion):
    """``-d^3 E[H] / d(log beta)^3``: increasing through the peak of the curvature."""

    def __call__(self, value_at, t, level):
        def h(t_):
            return value_at(entropy, jnp.exp(t_))

        def derivative(f):
            return lambda t_: jax.jvp(f, (t_,), (jnp.ones_like(t_),))[1]

        return -derivative(derivative(derivative(h)))(t)

    def target(self, level):
        return 0.0


CRITERIA: dict[str, _AbstractCriterion] = {
    "max_weight": _MaxWeightLevel(),
    "entropy_curvature": _EntropyCurvaturePeak(),
}


class _SearchState(eqx.Module):
    """The safeguarded-Newton loop's carry: the last evaluation (at ``t``) with its
    per-context values and slopes, the next point, the bracket, the step and the
    iteration count."""

    t: Array
    t_next: Array
    values: Array
    slopes: Array
    lo: Array
    hi: Array
    step: Array
    it: Array


def _notify_step(iteration, beta, value) -> None:
    """Host side of the search's per-step callback: tell the innermost listener."""
    if _STEP_LISTENERS:
        _STEP_LISTENERS[-1](int(iteration), float(beta), float(value))


@eqx.filter_jit
def _search(sampler, key, num_contexts, criterion, level, n, tol, max_steps, mesh=None, report=False) -> CriticalBeta:
    keys = jax.random.split(key, num_contexts)
    total = padded_count(num_contexts, mesh)
    presample = sampler.presample and total * sampler.row_size <= _PRESAMPLE_ELEMENTS
    local = total // (1 if mesh is None else mesh.size)
    chunk = batch_size(local, sampler.row_size, _SAMPLE_ELEMENTS)
    rows = None
    if presample:

        def sample(local_keys, _):
            return jax.lax.map(sampler.sample, local_keys, batch_size=chunk)

        rows = over_contexts(sample, mesh, pad_keys(keys, total), gather=False)

    def values_and_slopes(t):
        def one(row, t_):
            def value_at(observable, beta):
                return sampler.evaluate(row, observable, beta)

            return jax.jvp(lambda s: criterion(value_at, s, level), (t_,), (jnp.ones_like(t_),))

        return context_values(one, sampler, keys, t, rows, mesh)

    # Start at the scale where the two nearest keys compete: beta ~ 1 / (g_(2) - g_(1)).
    t0 = sampler.start_log_beta(rows[:64] if rows is not None else jax.vmap(sampler.sample)(keys[:64]))
    inf = jnp.asarray(jnp.inf, t0.dtype)

    def cond(state):
        return (jnp.abs(state.step) > tol) & (state.it < max_steps)

    def body(state):
        # Evaluate at t, then propose the next t. The loop carries the last
        # evaluation, so the per-context values at the root come out of it
        # (one copy of the expensive body in the compiled program).
        t, lo, hi = state.t_next, state.lo, state.hi
        values, slopes = values_and_slopes(t)
        f, df = jnp.mean(values), jnp.mean(slopes)
        if report:  # static: without a listener the program has no callback
            jax.debug.callback(_notify_step, state.it + 1, jnp.exp(t), f)
        lo = jnp.where(f < 0, t, lo)
        hi = jnp.where(f < 0, hi, t)
        newton = t - f / jnp.where(df > 0, df, jnp.nan)
        bracketed = jnp.isfinite(lo) & jnp.isfinite(hi)
        inside = (newton >= lo) & (newton <= hi)
        # Outside a bracket, move at most a factor e^2 in beta per step.
        up = jnp.clip(jnp.nan_to_num(newton, nan=t + 2.0), t + 1e-3, t + 2.0)
        down = jnp.clip(jnp.nan_to_num(newton, nan=t - 2.0), t - 2.0, t - 1e-3)
        t_next = jnp.where(bracketed, jnp.where(inside, newton, 0.5 * (lo + hi)), jnp.where(f < 0, up, down))
        step = jnp.where(bracketed | (jnp.abs(f) < tol * jnp.abs(df)), t_next - t, inf)
        return _SearchState(t, t_next, values, slopes, lo, hi, step, state.it + 1)

    zeros = jnp.zeros((num_contexts,), t0.dtype)
    state = jax.lax.while_loop(cond, body, _SearchState(t0, t0, zeros, zeros, -inf, inf, inf, jnp.asarray(0)))
    slope = jnp.mean(state.slopes)
    se_value = jnp.std(state.values, ddof=1) / jnp.sqrt(num_contexts)
    beta = jnp.exp(state.t)
    stderr = beta * se_value / jnp.abs(slope)
    value = jnp.mean(state.values) + level  # the criterion's mean, not its offset from its target
    converged = jnp.abs(state.step) <= tol
    return CriticalBeta(beta, stderr, value, slope, state.it, converged, jnp.asarray(n, beta.dtype))


def find_critical_beta(
    law: "AbstractLaw | int",
    n: int,
    key: PRNGKeyArray,
    *,
    level: float = 0.5,
    num_contexts: int = 4096,
    criterion: Criterion = "max_weight",
    method: Method = "auto",
    head: int = DEFAULT_HEAD,
    chunk: int = DEFAULT_CHUNK,
    max_steps: int = 60,
    devices: int | str | Sequence | None = None,
    dtype=None,
    on_step: Callable[[int, float, float], None] | None = None,
) -> CriticalBeta:
    """The critical inverse temperature ``beta*`` of ``n``-key contexts.

    Criteria:

    - ``"max_weight"``: ``E[max_i w_i](beta*) = level``.
    - ``"entropy_curvature"``: the peak of ``d^2 E[H] / d(log beta)^2``, where
      the entropy susceptibility ``chi = -dE[H]/d log beta`` falls fastest,
      found as the root of the third derivative (``level`` is ignored). The
      peak of ``chi`` itself is not used: for large ``n`` it is a plateau at
      ``(d - 1) / 2`` (mean field: ``E[H] ~ log n - (d - 1)/2 log beta``) that
      ends at the critical scale, so its maximum is ill-defined.

    The ``num_contexts`` contexts are sampled once; the Monte Carlo curve is then
    a smooth deterministic function of ``log beta`` and is solved by a
    safeguarded Newton method (bracket by steps of at most ``e^2`` in ``beta``,
    then Newton with bisection fallback), using the exact derivative from JAX
    forward mode. The standard error uses the delta method.

    Args:
        law: the context law, e.g. ``UniformSphere(4)`` (an int ``d`` is short for ``UniformSphere(d)``).
        n: keys per context, ``>= 2``.
        key: a ``jax.random.key``.
        level: target mean max weight, in ``(1/n, 1)``.
        num_contexts: contexts, ``>= 2``. The default 4096 gives a relative
            standard error of about 1% for ``d = 3..6`` (a context's max weight
            spreads by ~0.3; the error shrinks like ``num_contexts**-0.5``).
        criterion: ``"max_weight"`` or ``"entropy_curvature"``.
        method: ``"auto"``, ``"dense"``, ``"streaming"`` or
            ``"order-statistics"`` (see [`mc_estimate`][lattn_jax.mc_estimate]). Auto takes order
            statistics where the law allows it (any ``d``): ``beta*`` is at the
            critical scale, where the far keys' truncation error is negligible
            (``tests/test_streaming.py`` checks it against streaming at
            ``n = 1e7``; see ``docs/tutorials/devices-and-hosts.md``);
            otherwise dense up to ``2**22`` keys and streaming above.
        head: exact smallest gaps per context for order statistics.
        chunk: keys per chunk for streaming.
        max_steps: Newton/bisection step limit.
        devices: where the contexts run (see [`mc_estimate`][lattn_jax.mc_estimate]); the result
            equals the one-device result.
        dtype: float dtype (default: JAX's default float).
        on_step: called on the host as ``on_step(iteration, beta, value)`` after
            each Newton/bisection step's evaluation (``value`` is the criterion's
            mean at ``beta``, minus ``level`` for max weight), for progress
            displays. It does not change the result; the search still compiles
            once (one program serves every listener).

    Returns:
        A [`CriticalBeta`][lattn_jax.CriticalBeta].

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> crit = lj.find_critical_beta(lj.UniformSphere(3), 1000, jax.random.key(0), num_contexts=512)
        >>> bool(crit.converged), bool(crit.stderr / crit.beta < 0.05)
        (True, True)
    """
    law = as_law("law", law)
    n = check_sizes("n", n, minimum=2, integer=True)
    num_contexts = check_int("num_contexts", num_contexts, minimum=2)
    head = check_int("head", head, minimum=2)
    chunk = check_int("chunk", chunk, minimum=1)
    mesh = context_mesh(devices)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    check_key("key", key)
    check_choice("criterion", criterion, tuple(CRITERIA))
    check_choice("method", method, METHODS)
    level = check_open_unit("level", level)
    dtype = check_dtype("dtype", dtype)
    CRITERIA[criterion].check(level, n)
    if on_step is not None and not callable(on_step):
        kind = type(on_step).__name__
        raise ArgumentTypeError(f"on_step must be a function on_step(iteration, beta, value) or None, got {kind}")
    sampler = make_sampler(law, n, method, head=head, chunk=chunk, dtype=dtype)
    tol = float(max(1e-9, 100 * jnp.finfo(sampler.dtype).eps))
    rule = CRITERIA[criterion]
    target = jnp.asarray(rule.target(level), sampler.dtype)  # traced: a new level needs no new compilation
    args = (sampler, key, num_contexts, rule, target, jnp.asarray(float(n), sampler.dtype), tol, max_steps, mesh)
    if on_step is None:
        return _search(*args)
    _STEP_LISTENERS.append(on_step)
    try:
        return jax.block_until_ready(_search(*args, report=True))
    finally:
        _STEP_LISTENERS.pop()


def critical_scan(
    law: AbstractLaw,
    ns: Sequence[int],
    key: PRNGKeyArray,
    *,
    callback: Callable[[int, CriticalBeta], None] | None = None,
    **kwargs,
) -> CriticalBeta:
    """[`find_critical_beta`][lattn_jax.find_critical_beta] over a grid of ``n`` (independent contexts per
    ``n``, from ``jax.random.fold_in(key, i)``). Returns one [`CriticalBeta`][lattn_jax.CriticalBeta]
    whose fields are arrays over ``ns``. ``callback(n, result)`` is called as
    each point finishes (for progress and incremental output).

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> scan = lj.critical_scan(lj.UniformSphere(3), [100, 1000], jax.random.key(0), num_contexts=256)
        >>> scan.beta.shape
        (2,)
    """
    if callback is not None and not callable(callback):
        raise ArgumentTypeError(
            f"callback must be a function callback(n, result) or None, got {type(callback).__name__}"
        )
    ns = check_sizes("ns", ns, minimum=2, sequence=True)
    results = []
    for i, n in enumerate(ns):
        result = find_critical_beta(law, n, jax.random.fold_in(key, i), **kwargs)
        jax.block_until_ready(result)
        if callback is not None:
            callback(n, result)
        results.append(result)
    return jax.tree.map(lambda *xs: jnp.stack(xs), *results)
