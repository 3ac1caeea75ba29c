"""Monte Carlo estimates of observables over random contexts: the mean over
contexts, its standard error and, on request, its derivative in ``beta``."""

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray, PyTree

from ._laws import AbstractLaw, check_law
from ._observables import AbstractObservable, as_observable, stack
from ._sampling._contexts import (
    DEFAULT_HEAD,
    METHODS,
    AbstractSampler,
    Method,
    auto_fallback,
    batch_size,
    make_sampler,
)
from ._sampling._sharding import context_mesh, over_contexts, pad_keys, padded_count
from ._sampling._streaming import DEFAULT_CHUNK
from ._validation import (
    ArgumentTypeError,
    check_beta,
    check_bool,
    check_choice,
    check_dtype,
    check_int,
    check_key,
    check_sizes,
    concrete,
    default_float,
)


class Estimate(eqx.Module):
    """A Monte Carlo estimate: the sample mean over contexts and its standard
    error; with ``derivative=True`` also ``d mean / d beta`` and its standard error
    (same contexts, forward mode). Arrays have the shape of ``beta``.

    ``truncation_error`` (order statistics only, else ``None``) is the mean over
    the contexts of ``|1/2 sum_j c_j d^2 f / dc_j^2|``, the second-order change of the
    observable when the far keys' random sum is replaced by its conditional mean
    (see ``OrderStatisticsSampler.truncation_error``): a bound on the method's bias
    of ``mean`` to be read against ``stderr`` (a diagnostic: ``jax.grad`` treats it
    as a constant).

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> est = lj.mc_estimate(lj.entropy, lj.UniformSphere(3), 100, [0.0, 1e4], jax.random.key(0), 64)
        >>> est.mean.shape, round(float(est.mean[0]), 3), est.derivative is None
        ((2,), 4.605, True)
    """

    mean: Float[Array, "*beta"]
    stderr: Float[Array, "*beta"]
    derivative: Float[Array, "*beta"] | None = None
    derivative_stderr: Float[Array, "*beta"] | None = None
    truncation_error: Float[Array, "*beta"] | None = None


def _mean_and_stderr(values: Array) -> tuple[Array, Array]:
    num = values.shape[0]
    return jnp.mean(values, axis=0), jnp.std(values, axis=0, ddof=1) / jnp.sqrt(num)


def context_values(
    per_context: Callable[[Array, Array], PyTree[Array]],
    sampler: AbstractSampler,
    keys: Key[Array, " contexts"],
    beta: Array,
    rows: Array | None = None,
    mesh: Mesh | None = None,
) -> PyTree[Array]:
    """``per_context(row, beta)`` for every context, in vmapped chunks, stacked
    along a leading contexts axis. Contexts are drawn from ``keys``
    (deterministically) unless ``rows`` already holds them (then padded to
    ``padded_count`` contexts). With a ``mesh`` the contexts are split
    across its devices and the values gathered on all of them."""
    num = keys.shape[0]
    total = padded_count(num, mesh)
    size = batch_size(total // (1 if mesh is None else mesh.size), sampler.row_size)
    # One context per chunk: a plain scan. With batch_size=1, XLA's CPU backend
    # (jaxlib 0.10.2) miscomputes the dot e . 1 of a beta array over a size-1
    # contexts axis (E[max weight] of 1e6 at n = 3e5, d = 3; see
    # tests/test_estimators.py::test_memory_bounded_dense_chunks_beta_array).
    size = None if size == 1 else size

    def local(data, b):
        if rows is not None:
            return jax.lax.map(lambda row: per_context(row, b), data, batch_size=size)
        return jax.lax.map(lambda k: per_context(sampler.sample(k), b), data, batch_size=size)

    values = over_contexts(local, mesh, pad_keys(keys, total) if rows is None else rows, beta)
    return values if total == num else jax.tree.map(lambda x: x[:num], values)


@eqx.filter_jit
def _estimate(observable, sampler, key, beta, num_contexts, derivative, mesh=None):
    keys = jax.random.split(key, num_contexts)
    flat = jnp.ravel(beta)

    def one(row, b):
        # With order statistics' bias term, on the same rows (a 3 x 3 Hessian per context and beta).
        def f(b_):
            return jax.vmap(lambda bi: sampler.evaluate_with_error(row, observable, bi))(b_)

        if derivative:
            (values, bias), (tangents, _) = jax.jvp(f, (b,), (jnp.ones_like(b),))
        else:
            (values, bias), tangents = f(b), None
        return values, tangents, None if sampler.exact else jnp.abs(bias)

    values, tangents, bias = context_values(one, sampler, keys, flat, mesh=mesh)
    shape = beta.shape + values.shape[2:]  # values: (contexts, beta, *observables)
    mean, stderr = _mean_and_stderr(values)
    dmean = dstderr = trunc = None
    if derivative:
        dmean, dstderr = _mean_and_stderr(tangents)
        dmean, dstderr = dmean.reshape(shape), dstderr.reshape(shape)
    if bias is not None:
        trunc = jnp.mean(bias, axis=0).reshape(shape)
    return Estimate(mean.reshape(shape), stderr.reshape(shape), dmean, dstderr, trunc)


def mc_estimate(
    observable: "AbstractObservable | Callable",
    law: AbstractLaw,
    n: int,
    beta: ArrayLike,
    key: PRNGKeyArray,
    num_contexts: int = 256,
    *,
    method: Method = "auto",
    derivative: bool = False,
    head: int = DEFAULT_HEAD,
    chunk: int = DEFAULT_CHUNK,
    devices: int | str | Sequence | None = None,
    dtype=None,
) -> Estimate:
    """Monte Carlo estimate of ``E[observable(q, keys, beta)]`` over random contexts.

    Each of ``num_contexts`` contexts holds ``n`` keys from ``law`` and is scored
    against ``law.query()``. The contexts depend on ``key`` only, not on ``beta``:
    the same key gives common random numbers across ``beta`` values, so
    ``jax.grad`` of ``.mean`` with respect to ``beta`` is the pathwise derivative
    and a ``beta`` curve is smooth. ``beta`` may be an array: every value is
    evaluated on the same contexts (one pass) and the result has its shape.

    Observables ([`AbstractObservable`][lattn_jax.AbstractObservable] instances:
    ``entropy``, ``max_weight``, ``TopKMass(k)``, ``effective_size``,
    ``participation_ratio`` or a subclass of one's own) run on gaps with the
    chosen ``method`` (see ``lattn_jax._sampling._contexts``); a plain function
    ``f(q, keys, beta)`` runs on sampled keys (dense only). For several
    observables on the same contexts in one pass use
    [`mc_estimates`][lattn_jax.mc_estimates].

    Methods: ``"dense"`` (all gaps in memory), ``"streaming"`` (all keys in
    chunks of ``chunk``, memory O(chunk), for any ``n``), ``"order-statistics"``
    (the ``head`` smallest gaps exactly and the far keys by their conditional
    mean, cost O(head) whatever ``n``; reports ``truncation_error``). ``"auto"``
    takes order statistics where the law allows it (any ``d``); if the reported
    truncation error exceeds a tenth of the standard error anywhere (deep in
    the sub-critical regime, where the far keys carry the mass), the estimate
    is redone exactly, dense up to ``2**22`` keys and streaming above (under a
    JAX transformation, where the check cannot run, order statistics stays).
    Without a gap law, auto is dense or streaming by the same size rule.
    Streaming takes the summary observables (the built-ins, and subclasses of
    [`AbstractSummaryObservable`][lattn_jax.AbstractSummaryObservable]).

    Args:
        observable: an observable such as ``lj.entropy`` or ``lj.TopKMass(3)``,
            or a scalar function ``f(q, keys, beta)``.
        law: the context law, e.g. ``UniformSphere(4)``.
        n: keys per context, ``>= 2``.
        beta: inverse temperature(s), finite and ``>= 0``.
        key: a ``jax.random.key``.
        num_contexts: number of independent contexts, ``>= 2``.
        method: ``"auto"``, ``"dense"``, ``"streaming"`` or ``"order-statistics"``.
        derivative: also return ``d mean / d beta`` and its standard error.
        head: ``K``, the number of exact smallest gaps for order statistics.
        chunk: keys per chunk for streaming (memory per context ~ ``chunk * d``).
        devices: where the contexts run: ``None`` (the default device),
            ``"all"`` (``jax.devices()``: every device of every process after
            ``jax.distributed.initialize``), a count, or a list of devices.
            The result equals the one-device result.
        dtype: float dtype of the computation (default: JAX's default float).

    Returns:
        An [`Estimate`][lattn_jax.Estimate].

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> est = lj.mc_estimate(lj.max_weight, lj.UniformSphere(3), 1000, 400.0, jax.random.key(0), 512)
        >>> bool(0.4 < est.mean < 0.7), bool(est.stderr < 0.02)
        (True, True)
        >>> top3 = lj.mc_estimate(lj.TopKMass(3), lj.UniformSphere(3), 1000, 400.0, jax.random.key(0), 512)
        >>> bool(top3.mean > est.mean)
        True
    """
    if isinstance(observable, tuple | list):
        raise ArgumentTypeError(
            "observable must be one observable such as lj.entropy or a function f(q, keys, beta); for several "
            "on the same contexts use lj.mc_estimates((lj.entropy, lj.max_weight), ...)"
        )
    obs = as_observable("observable", observable)
    args = (law, n, beta, key, num_contexts, method, derivative, head, chunk, devices, dtype)
    return _run(observable if obs is None else obs, obs is None, *args)


def mc_estimates(
    observables: "tuple[AbstractObservable, ...]",
    law: AbstractLaw,
    n: int,
    beta: ArrayLike,
    key: PRNGKeyArray,
    num_contexts: int = 256,
    *,
    method: Method = "auto",
    derivative: bool = False,
    head: int = DEFAULT_HEAD,
    chunk: int = DEFAULT_CHUNK,
    devices: int | str | Sequence | None = None,
    dtype=None,
) -> tuple[Estimate, ...]:
    """[`mc_estimate`][lattn_jax.mc_estimate] of several observables on the same
    contexts, in one pass (each context drawn once; the summary observables
    share one pass over the keys): one [`Estimate`][lattn_jax.Estimate] per
    observable, equal to separate calls with the same key. The arguments are
    those of ``mc_estimate``; ``observables`` is a non-empty tuple of
    observables (``AbstractObservable`` instances; not plain functions). With
    ``method="auto"`` the exact redo happens for all of them together.

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> law, key = lj.UniformSphere(3), jax.random.key(0)
        >>> h, w = lj.mc_estimates((lj.entropy, lj.max_weight), law, 1000, 400.0, key, 512)
        >>> bool(abs(w.mean - lj.mc_estimate(lj.max_weight, law, 1000, 400.0, key, 512).mean) < 1e-6)
        True
    """
    if not isinstance(observables, tuple | list) or not observables:
        raise ArgumentTypeError(
            "observables must be a non-empty tuple of built-in observables such as (lj.entropy, lj.max_weight) "
            f"or AbstractObservable instances, got {observables!r}"
        )
    if not all(isinstance(o, AbstractObservable) for o in observables):
        bad = next(o for o in observables if not isinstance(o, AbstractObservable))
        raise ArgumentTypeError(
            "observables must hold built-in observables such as lj.entropy or lj.TopKMass(3) (or AbstractObservable "
            f"instances), not plain functions or functools.partial objects, got {bad!r}"
        )
    args = (law, n, beta, key, num_contexts, method, derivative, head, chunk, devices, dtype)
    out = _run(stack(tuple(observables)), False, *args)
    return tuple(jax.tree.map(lambda x, i=i: x[..., i], out) for i in range(len(observables)))


def _run(observable, keys, law, n, beta, key, num_contexts, method, derivative, head, chunk, devices, dtype):
    """Validate, choose the sampler once, estimate (and redo exactly where auto must)."""
    n = check_sizes("n", n, minimum=2, integer=True)
    num_contexts = check_int("num_contexts", num_contexts, minimum=2)
    head = check_int("head", head, minimum=2)
    chunk = check_int("chunk", chunk, minimum=1)
    mesh = context_mesh(devices)
    beta = check_beta("beta", beta)
    check_key("key", key)
    check_choice("method", method, METHODS)
    derivative = check_bool("derivative", derivative)
    dtype = check_dtype("dtype", dtype)
    check_law("law", law)
    dtype = jnp.dtype(dtype or default_float())
    beta = jnp.asarray(beta, dtype)
    sampler = make_sampler(law, n, method, head=head, chunk=chunk, dtype=dtype, keys=keys)
    sampler.check(observable)
    out = _estimate(observable, sampler, key, beta, num_contexts, derivative, mesh)
    fallback = auto_fallback(law, n, method, sampler, chunk=chunk, dtype=dtype)
    if fallback is not None and _too_coarse(out):
        out = _estimate(observable, fallback, key, beta, num_contexts, derivative, mesh)
    return out


AUTO_TOLERANCE = 0.1


def _too_coarse(est: Estimate) -> bool:
    """Whether order statistics' truncation error exceeds ``AUTO_TOLERANCE``
    standard errors anywhere (``False`` when the values are traced)."""
    bias, stderr = concrete(est.truncation_error), concrete(est.stderr)
    if bias is None or stderr is None:
        return False
    return bool(np.any(bias > AUTO_TOLERANCE * stderr))
