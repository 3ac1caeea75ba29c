"""Power-law fits ``beta* = c n^p`` by (weighted) least squares in log–log."""

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._validation import ArgumentTypeError, ArgumentValueError


class PowerLawFit(eqx.Module):
    """``beta = prefactor * n^exponent`` fitted in log–log.

    Attributes:
        exponent: the slope ``p``.
        exponent_stderr: its standard error.
        prefactor: ``c``.
        prefactor_stderr: its standard error (delta method from ``log c``).
        chi2: the weighted residual sum of squares (``None`` without stderrs).
        dof: degrees of freedom, ``len(ns) - 2``.

    Examples:
        >>> fit = fit_power_law([1e2, 1e3, 1e4], [40.0, 400.0, 4000.0], [0.4, 4.0, 40.0])
        >>> round(float(fit.exponent), 3), round(float(fit.prefactor), 3), fit.dof
        (1.0, 0.4, 1)
    """

    exponent: Float[Array, ""]
    exponent_stderr: Float[Array, ""]
    prefactor: Float[Array, ""]
    prefactor_stderr: Float[Array, ""]
    chi2: Float[Array, ""] | None
    dof: int = eqx.field(static=True)


def _floats(name: str, values, expected: str = "a 1-D sequence of real numbers", shape=None) -> np.ndarray:
    """``values`` as float64, real numbers only (Python, NumPy or JAX): strings,
    booleans and other objects are an ``ArgumentTypeError`` naming ``name``
    (``np.asarray(..., float64)`` alone reads ``"12"`` as 12 and ``True`` as 1)."""
    try:
        array = np.asarray(values)
    except (TypeError, ValueError):  # ragged
        array = None
    booleans = isinstance(values, list | tuple) and any(isinstance(v, bool | np.bool_) for v in values)
    if array is None or array.dtype.kind not in "iuf" or booleans or (shape is not None and array.shape != shape):
        raise ArgumentTypeError(f"{name} must be {expected}, got {values!r}")
    return array.astype(np.float64)


def fit_power_law(
    ns: Sequence[float | int] | ArrayLike,
    betas: Sequence[float | int] | ArrayLike,
    stderrs: Sequence[float | int] | ArrayLike | None = None,
    *,
    finite_size: tuple[float, float] | None = None,
    factors: Sequence[float] | ArrayLike | None = None,
) -> PowerLawFit:
    """Fit ``log beta = log c + p log n``, or with a known finite-size correction:
    ``beta = c n^p (1 + kappa n^{-q})`` when ``finite_size=(kappa, q)``, or
    ``beta_i = c n_i^p F_i`` with per-point ``factors`` ``F_i``.

    With ``stderrs`` (of ``beta``) the fit is weighted by ``1 / sigma_i^2`` with
    ``sigma_i = stderr_i / beta_i`` (the standard error of ``log beta_i``) and the
    parameter errors are the usual ``(X^T W X)^{-1}`` from those known errors;
    ``chi2`` tells whether the power law describes the points within them
    (``chi2 ~ dof``). Without stderrs it is ordinary least squares with errors
    from the residual scatter (needs at least three points).

    A correction — ``kappa`` from [`lattn_jax.theory.finite_size_coefficient`][lattn_jax.theory.finite_size_coefficient]
    with ``q = 2 / alpha``, or the exact factors ``F_i = beta*_{n_i} / (gamma*
    n_i^{2/alpha})`` from [`lattn_jax.theory.finite_size_factors`][lattn_jax.theory.finite_size_factors] — is
    divided out of each ``beta`` before the fit, so ``p`` is the exponent of the
    leading term; a plain fit over small ``n`` instead absorbs the correction into ``p``.

    Examples:
        >>> fit = fit_power_law([1e2, 1e3, 1e4], [10.0, 46.4, 215.4])
        >>> round(float(fit.exponent), 3)
        0.667
    """
    x, y = _floats("ns", ns), _floats("betas", betas)
    if np.any(x <= 0):
        raise ArgumentValueError("ns and betas must be finite and > 0")
    x = np.log(x)
    if x.ndim != 1 or y.shape != x.shape:
        raise ArgumentValueError(f"ns and betas must be 1-D of equal length, got shapes {x.shape} and {y.shape}")
    if x.size < 2:
        raise ArgumentValueError(f"need at least two points to fit a power law, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ArgumentValueError("ns and betas must be finite and > 0")
    if np.ptp(x) == 0:
        raise ArgumentValueError("ns must hold at least two distinct values")
    y = np.log(y)
    if finite_size is not None:
        kappa, q = _floats("finite_size", finite_size, "a pair (kappa, q) of real numbers or None", shape=(2,))
        factor = 1.0 + kappa * np.exp(-q * x)
        if not np.all(factor > 0):
            raise ArgumentValueError(
                f"finite_size=({kappa}, {q}) makes 1 + kappa n^-q <= 0 for some n; it is for large n"
            )
        y = y - np.log(factor)
    if factors is not None:
        factors = _floats("factors", factors)
        if factors.shape != x.shape or not np.all(np.isfinite(factors)) or np.any(factors <= 0):
            raise ArgumentValueError(f"factors must be finite, > 0 and one per point, got {factors}")
        y = y - np.log(factors)
    design = np.stack([np.ones_like(x), x], axis=1)
    if stderrs is not None:
        rel = _floats("stderrs", stderrs) / _floats("betas", betas)
        if rel.shape != x.shape or not np.all(np.isfinite(rel)) or np.any(rel <= 0):
            raise ArgumentValueError("stderrs must be finite, > 0 and one per point")
        w = 1.0 / rel**2
    else:
        if x.size < 3:
            raise ArgumentValueError("an unweighted fit needs at least three points for an error estimate")
        w = np.ones_like(x)
    normal = design.T @ (w[:, None] * design)
    cov = np.linalg.inv(normal)
    params = cov @ (design.T @ (w * y))
    resid = y - design @ params
    dof = x.size - 2
    chi2 = float(np.sum(w * resid**2))
    if stderrs is None:
        cov = cov * chi2 / dof
    log_c, p = params
    c = float(np.exp(log_c))
    return PowerLawFit(
        exponent=jnp.asarray(p),
        exponent_stderr=jnp.asarray(np.sqrt(cov[1, 1])),
        prefactor=jnp.asarray(c),
        prefactor_stderr=jnp.asarray(c * np.sqrt(cov[0, 0])),
        chi2=None if stderrs is None else jnp.asarray(chi2),
        dof=dof,
    )
