"""Monte Carlo estimates of observables over random contexts."""

import functools
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Key, PRNGKeyArray, PyTree

from ._contexts import DEFAULT_HEAD, METHODS, ContextSampler, batch_size
from ._laws import AbstractLaw, default_float
from ._observables import atoms_kernel
from ._validation import check_beta, check_bool, check_choice, check_dtype, check_int, check_key


class Estimate(eqx.Module):
    """A Monte Carlo estimate: the sample mean over contexts and its standard
    error; with ``derivative=True`` also ``d mean / d beta`` and its standard error
    (same contexts, forward mode). Arrays have the shape of ``beta``.

    Example:
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


def _mean_and_stderr(values: Array) -> tuple[Array, Array]:
    num = values.shape[0]
    return jnp.mean(values, axis=0), jnp.std(values, axis=0, ddof=1) / jnp.sqrt(num)


class _KeyContexts(eqx.Module):
    """Samples whole key contexts, for user observables ``f(q, keys, beta)``."""

    law: AbstractLaw
    n: int = eqx.field(static=True)
    dtype: jnp.dtype = eqx.field(static=True)

    @property
    def row_size(self) -> int:
        return self.n * self.law.dim

    def sample(self, key):
        return self.law.sample(key, self.n, self.dtype)


def context_values(
    per_context: Callable[[Array, Array], PyTree[Array]],
    sampler: ContextSampler | _KeyContexts,
    keys: Key[Array, " contexts"],
    beta: Array,
    rows: Array | None = None,
) -> PyTree[Array]:
    """``per_context(row, beta)`` for every context, in vmapped chunks, stacked
    along a leading contexts axis. Contexts are drawn from ``keys``
    (deterministically) unless ``rows`` already holds them."""
    size = batch_size(keys.shape[0], sampler.row_size)
    if rows is not None:
        return jax.lax.map(lambda row: per_context(row, beta), rows, batch_size=size)
    return jax.lax.map(lambda k: per_context(sampler.sample(k), beta), keys, batch_size=size)


@functools.cache
def _gap_function(kernel: Callable) -> Callable:
    def per_context(sampler, row, beta):
        return kernel(sampler.atoms(row, beta), beta)

    return per_context


@eqx.filter_jit
def _estimate(per_context, sampler, key, beta, num_contexts, derivative):
    keys = jax.random.split(key, num_contexts)
    flat = jnp.ravel(beta)

    def one(row, b):
        def f(b_):
            return jax.vmap(lambda bi: per_context(sampler, row, bi))(b_)

        if derivative:
            return jax.jvp(f, (b,), (jnp.ones_like(b),))
        return f(b), None

    values, tangents = context_values(one, sampler, keys, flat)
    shape = beta.shape + values.shape[2:]  # values: (contexts, beta, *observables)
    mean, stderr = _mean_and_stderr(values)
    out = Estimate(mean.reshape(shape), stderr.reshape(shape))
    if derivative:
        dmean, dstderr = _mean_and_stderr(tangents)
        out = Estimate(out.mean, out.stderr, dmean.reshape(shape), dstderr.reshape(shape))
    return out


@functools.cache
def _stacked(kernels: tuple[Callable, ...]) -> Callable:
    # One function object per tuple of kernels, so jit caches keyed on it hit.
    def kernel(atoms, beta):
        return jnp.stack([k(atoms, beta) for k in kernels])

    return kernel


@functools.cache
def _key_function(observable: Callable) -> Callable:
    def per_context(sampler, keys, beta):
        return observable(sampler.law.query(keys.dtype), keys, beta)

    return per_context


def mc_estimate(
    observable: Callable | tuple[Callable, ...],
    law: AbstractLaw,
    n: int,
    beta: ArrayLike,
    key: PRNGKeyArray,
    num_contexts: int = 256,
    *,
    method: str = "auto",
    derivative: bool = False,
    head: int = DEFAULT_HEAD,
    dtype=None,
) -> Estimate | tuple[Estimate, ...]:
    """Monte Carlo estimate of ``E[observable(q, keys, beta)]`` over random contexts.

    Each of ``num_contexts`` contexts holds ``n`` keys from ``law`` and is scored
    against ``law.query()``. The contexts depend on ``key`` only, not on ``beta``:
    the same key gives common random numbers across ``beta`` values, so
    ``jax.grad`` of ``.mean`` with respect to ``beta`` is the pathwise derivative
    and a ``beta`` curve is smooth. ``beta`` may be an array: every value is
    evaluated on the same contexts (one pass) and the result has its shape.

    Built-in observables (``entropy``, ``max_weight``, ``top_k_mass`` via
    ``functools.partial``, ``effective_size``, ``participation_ratio``) run on
    gaps with the chosen ``method`` (see :mod:`lattn_jax._contexts`); any other
    ``f(q, keys, beta)`` runs on sampled keys. A tuple of built-in observables
    is evaluated on the same contexts in one pass (each context drawn once) and
    gives a tuple of estimates, equal to separate calls with the same key.

    Args:
        observable: a scalar function ``f(q, keys, beta)``, or a tuple of
            built-in observables.
        law: the context law, e.g. ``UniformSphere(4)``.
        n: keys per context, ``>= 2``.
        beta: inverse temperature(s), finite and ``>= 0``.
        key: a ``jax.random.key``.
        num_contexts: number of independent contexts, ``>= 2``.
        method: ``"auto"``, ``"dense"`` or ``"order-statistics"``.
        derivative: also return ``d mean / d beta`` and its standard error.
        head: ``K``, the number of exact smallest gaps for order statistics.
        dtype: float dtype of the computation (default: JAX's default float).

    Returns:
        An :class:`Estimate`, or a tuple of them for a tuple of observables.

    Example:
        >>> import jax
        >>> import lattn_jax as lj
        >>> est = lj.mc_estimate(lj.max_weight, lj.UniformSphere(3), 1000, 400.0, jax.random.key(0), 512)
        >>> bool(0.4 < est.mean < 0.7), bool(est.stderr < 0.02)
        (True, True)
        >>> h, w = lj.mc_estimate((lj.entropy, lj.max_weight), lj.UniformSphere(3), 1000, 400.0, jax.random.key(0), 512)
        >>> bool(abs(w.mean - est.mean) < 1e-6)
        True
    """
    n = check_int("n", n, minimum=2)
    num_contexts = check_int("num_contexts", num_contexts, minimum=2)
    head = check_int("head", head, minimum=2)
    check_beta("beta", beta)
    check_key("key", key)
    check_choice("method", method, METHODS)
    derivative = check_bool("derivative", derivative)
    dtype = check_dtype("dtype", dtype)
    if not isinstance(law, AbstractLaw):
        raise TypeError(f"law must be a context law such as UniformSphere(d), got {type(law).__name__}")
    observables = observable if isinstance(observable, tuple) else None
    if observables is not None:
        kernels = tuple(atoms_kernel(o) if callable(o) else None for o in observables)
        if not kernels or None in kernels:
            raise TypeError("a tuple of observables must hold built-in observables only (entropy, max_weight, ...)")
        kernel = _stacked(kernels)
    elif not callable(observable):
        raise TypeError(f"observable must be a function f(q, keys, beta), got {type(observable).__name__}")
    else:
        kernel = atoms_kernel(observable)
    dtype = jnp.dtype(dtype or default_float())
    beta = jnp.asarray(beta, dtype)
    if kernel is None:
        if method == "order-statistics":
            raise ValueError("method='order-statistics' works for the built-in observables only")
        sampler, per_context = _KeyContexts(law, n, dtype), _key_function(observable)
    else:
        sampler = ContextSampler.make(law, n, method, head, dtype)
        per_context = _gap_function(kernel)
    out = _estimate(per_context, sampler, key, beta, num_contexts, derivative)
    if observables is None:
        return out
    return tuple(jax.tree.map(lambda x, i=i: x[..., i], out) for i in range(len(observables)))
