"""Learned critical schedules: fit ``beta(n) = c n^p`` so that attention sits at
the critical point for every ``n`` at once, by gradient descent through the
Monte Carlo estimator of the mean max weight."""

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PRNGKeyArray

from .._laws import AbstractLaw, check_law
from .._observables import max_weight
from .._sampling._contexts import METHODS, Method, make_sampler
from .._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_choice,
    check_dtype,
    check_int,
    check_key,
    check_open_unit,
    check_sizes,
)
from ._schedule import PowerLaw

DEFAULT_FIT_HEAD = 256


class ScheduleFit(eqx.Module):
    """A learned critical schedule.

    Attributes:
        schedule: the fitted [`PowerLaw`][lattn_jax.PowerLaw].
        loss_history: the loss before each optimizer step (``steps`` values).
        loss: the loss at the fitted parameters.
        max_weight: ``E[max weight](beta(n))`` per ``n`` at the fit, on the
            fitting contexts.
        max_weight_stderr: its standard error per ``n``.
        ns: the context sizes.

    Examples:
        >>> import jax.numpy as jnp
        >>> import lattn_jax as lj
        >>> fit = ScheduleFit(  # usually from fit_schedule; built by hand here
        ...     schedule=lj.PowerLaw(2.0, 1.0), loss_history=jnp.array([1.0, 0.1]), loss=jnp.array(0.01),
        ...     max_weight=jnp.array([0.5, 0.5]), max_weight_stderr=jnp.array([0.01, 0.01]), ns=jnp.array([1e2, 1e3]))
        >>> [round(float(b), 1) for b in fit.schedule(fit.ns)]  # beta(n) = 2 n
        [200.0, 2000.0]
    """

    schedule: PowerLaw
    loss_history: Float[Array, " steps"]
    loss: Float[Array, ""]
    max_weight: Float[Array, " ns"]
    max_weight_stderr: Float[Array, " ns"]
    ns: Float[Array, " ns"]


def _logit(p):
    return jnp.log(p) - jnp.log1p(-p)


class CosineAdam(eqx.Module):
    """Adam with a cosine-decayed learning rate, from ``learning_rate`` to 1% of
    it over ``steps``: an optax-style optimizer (``init``, ``update``) whose
    configuration is static, so equal settings hash alike and the jitted fit is
    reused (no object identity involved)."""

    learning_rate: float = eqx.field(static=True)
    steps: int = eqx.field(static=True)

    def _rate(self, count):
        frac = jnp.minimum(count.astype(jnp.result_type(float)), self.steps) / self.steps
        return self.learning_rate * (0.01 + 0.99 * 0.5 * (1.0 + jnp.cos(jnp.pi * frac)))

    def init(self, params):
        return optax.adam(self._rate).init(params)

    def update(self, updates, state, params=None):
        return optax.adam(self._rate).update(updates, state, params)


def cosine_adam(learning_rate: float, steps: int) -> CosineAdam:
    """Adam with a cosine-decayed learning rate, from ``learning_rate`` to 1% of
    it over ``steps`` (the default optimizer of [`fit_schedule`][lattn_jax.fit_schedule], with 0.1).

    Examples:
        >>> import jax.numpy as jnp
        >>> opt = cosine_adam(0.1, 100)
        >>> state = opt.init(jnp.zeros(2))
        >>> updates, _ = opt.update(jnp.ones(2), state)
        >>> [round(float(u), 4) for u in updates]  # the first Adam step is -lr * sign(grad)
        [-0.1, -0.1]
        >>> cosine_adam(0.1, 100) == opt  # equal settings, equal optimizers (one jit cache entry)
        True
    """
    return CosineAdam(float(learning_rate), int(steps))


def fit_schedule(
    law: AbstractLaw,
    ns: Sequence[int],
    key: PRNGKeyArray,
    *,
    level: float = 0.5,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 300,
    num_contexts: int = 512,
    method: Method = "auto",
    head: int = DEFAULT_FIT_HEAD,
    init: PowerLaw | None = None,
    dtype=None,
) -> ScheduleFit:
    """Learn ``beta(n) = c n^p`` with ``E[max_i w_i](beta(n)) = level`` for all
    ``n`` in ``ns`` at once.

    The contexts are sampled once per ``n`` (common random numbers), so the
    Monte Carlo means ``m_n(log c, p)`` are smooth deterministic functions of
    the parameters and the loss

        ``L = mean_n (logit m_n - logit level)^2``

    is minimised by ``optimizer`` on ``(log c + p mean(log n), p)`` (the centred
    intercept decouples the two parameters) with exact gradients from JAX. The
    logit keeps the gradient alive when a mean max weight sits near 0 or 1. For
    a law with local exponent ``alpha`` the fitted ``p`` estimates the critical
    exponent ``2 / alpha`` (for large ``n``; finite-``n`` corrections bend
    ``beta*(n)`` at small ``n``). Works under ``jax.jit`` (``ns`` and the
    settings static, ``key`` traced).

    Args:
        law: the context law, e.g. ``UniformSphere(4)``.
        ns: context sizes, each ``>= 2``, at least two distinct.
        key: a ``jax.random.key``.
        level: target mean max weight, in ``(1/min(ns), 1)``.
        optimizer: an optax optimizer (default: Adam, learning rate 0.1 with
            cosine decay to 0.001 over ``steps``).
        steps: optimizer steps.
        num_contexts: contexts per ``n``.
        method: ``"auto"``, ``"dense"`` or ``"order-statistics"`` (order
            statistics cost the same for every ``n``; see [`mc_estimate`][lattn_jax.mc_estimate]).
        head: exact smallest gaps per context for order statistics (the mean max
            weight near ``level`` needs few; default 256).
        init: the starting schedule (default: ``p = 0`` and ``c`` at the scale
            where the two nearest keys compete, ``1 / (g_(2) - g_(1))``, averaged
            over ``ns`` in log).
        dtype: float dtype (default: JAX's default float).

    Returns:
        A [`ScheduleFit`][lattn_jax.ScheduleFit].

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> fit = lj.fit_schedule(lj.UniformSphere(3), [1e3, 1e5], jax.random.key(0), steps=200, num_contexts=256)
        >>> round(float(fit.schedule.exponent), 1)  # 2 / (d - 1) = 1
        1.0
    """
    ns = check_sizes("ns", ns, minimum=2, sequence=True, distinct=2)
    check_key("key", key)
    level = check_open_unit("level", level)
    if level <= 1.0 / min(ns):
        raise ArgumentValueError(
            f"level must exceed 1/n = {1.0 / min(ns):.3g} for the smallest n, got {level}", argument="level"
        )
    steps = check_int("steps", steps, minimum=1)
    num_contexts = check_int("num_contexts", num_contexts, minimum=2)
    head = check_int("head", head, minimum=2)
    check_choice("method", method, METHODS)
    check_law("law", law)
    check_dtype("dtype", dtype)
    if optimizer is not None and not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise ArgumentTypeError(
            f"optimizer must be an optax optimizer such as optax.adam(0.1), got {type(optimizer).__name__}"
        )
    if init is not None and not isinstance(init, PowerLaw):
        raise ArgumentTypeError(f"init must be a PowerLaw such as PowerLaw(1.0, 0.5), got {type(init).__name__}")
    optimizer = cosine_adam(0.1, steps) if optimizer is None else optimizer
    samplers = [make_sampler(law, n, method, head=head, dtype=dtype) for n in ns]
    init_params = None if init is None else (init.log_prefactor, init.exponent)
    return _fit(samplers, key, level, optimizer, steps, num_contexts, init_params)


def _per_context_max_weight(sampler, row, beta):
    return sampler.evaluate(row, max_weight, beta)


@eqx.filter_jit
def _fit(samplers, key, level, optimizer, steps, num_contexts, init_params):
    dtype = samplers[0].dtype
    log_n = jnp.log(jnp.stack([jnp.asarray(s.n, dtype) for s in samplers]))
    center = jnp.mean(log_n)
    keys = jax.vmap(lambda k: jax.random.split(k, num_contexts))(jax.random.split(key, len(samplers)))
    per_row = jax.vmap(_per_context_max_weight, in_axes=(None, 0, None))
    if len({jax.tree.structure(s) for s in samplers}) == 1:
        # The samplers differ in arrays only (n is traced, as in order statistics):
        # one stacked sampler, one copy of the context code for all n.
        stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *samplers)
        rows = jax.vmap(lambda s, k: jax.vmap(s.sample)(k))(stacked, keys)

        def per_n(params):
            beta = jnp.exp(params[0] + params[1] * (log_n - center))
            return jax.vmap(per_row)(stacked, rows, beta)

        start = jax.vmap(lambda s, r: s.start_log_beta(r[:64]))(stacked, rows)
    else:
        rows = [jax.vmap(s.sample)(k) for s, k in zip(samplers, keys, strict=True)]

        def per_n(params):
            beta = jnp.exp(params[0] + params[1] * (log_n - center))
            return jnp.stack([per_row(s, row, b) for s, row, b in zip(samplers, rows, beta, strict=True)])

        start = jnp.stack([s.start_log_beta(row[:64]) for s, row in zip(samplers, rows, strict=True)])

    def loss_fn(params):
        values = per_n(params)
        means = jnp.mean(values, axis=1)
        return jnp.mean((_logit(means) - _logit(jnp.asarray(level, dtype))) ** 2), values

    if init_params is None:
        # The scale where the two nearest keys compete, 1 / (g_(2) - g_(1)), as in find_critical_beta.
        params = jnp.stack([jnp.mean(start), jnp.zeros((), dtype)])
    else:
        p = jnp.asarray(init_params[1], dtype)
        params = jnp.stack([jnp.asarray(init_params[0], dtype) + p * center, p])

    def step(carry, _):
        # Evaluate at the current parameters, then update. The carry keeps the
        # last evaluation, so one extra step yields the values at the fitted
        # parameters without a second copy of the expensive body.
        params, state, _, _ = carry
        (loss, values), grad = jax.value_and_grad(loss_fn, has_aux=True)(params)
        with jax.numpy_dtype_promotion("standard"):  # optax mixes its int32 step count with floats
            updates, state = optimizer.update(grad, state, params)
        return (optax.apply_updates(params, updates), state, params, values), loss

    values = jnp.zeros((len(samplers), num_contexts), dtype)
    carry = (params, optimizer.init(params), params, values)
    (_, _, params, values), losses = jax.lax.scan(step, carry, None, length=steps + 1)
    means = jnp.mean(values, axis=1)
    stderrs = jnp.std(values, axis=1, ddof=1) / jnp.sqrt(num_contexts)
    schedule = PowerLaw(None, params[1], log_prefactor=params[0] - params[1] * center)
    return ScheduleFit(schedule, losses[:steps], losses[steps], means, stderrs, jnp.exp(log_n))
