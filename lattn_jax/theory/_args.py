"""The argument and return conventions of the public theory, in one place.

Every function about a law takes ``d_or_law``: a law, or an int ``d`` as
shorthand for ``UniformSphere(d)``. A formula that needs a closed-form gap law
takes any [`AbstractGapLaw`][lattn_jax.AbstractGapLaw]; a closed form that
holds for uniform keys only (the Bessel functions of the mean field, the score
law) takes ``UniformSphere(d)`` and rejects every other law. Functions of the
``n -> inf`` limit take the scaling variable ``gamma = beta / n^{1/a}``.
Every value comes back as a JAX array of the default float dtype (a 0-d array
for a scalar; ``float(x)`` turns it into a Python float).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._laws import AbstractGapLaw, UniformSphere, as_law
from .._validation import ArgumentValueError, check_array, default_float


def gap_law(d_or_law, *, minimum_d: int = 2) -> AbstractGapLaw:
    """``d_or_law`` as a law with a closed-form gap law (an int ``d >= minimum_d``
    is ``UniformSphere(d)``), else ``ArgumentValueError`` naming ``d_or_law``."""
    if not isinstance(d_or_law, AbstractGapLaw):
        law = as_law("d", d_or_law)  # an int d, checked and named "d"
        if not isinstance(law, AbstractGapLaw):
            raise ArgumentValueError(
                f"d_or_law must be an int d or a law with a closed-form gap law (UniformSphere, Subsphere, "
                f"PowerDensity); {type(law).__name__} has no closed-form gap law"
            )
        d_or_law = law
    if isinstance(d_or_law, UniformSphere) and d_or_law.d < minimum_d:
        raise ArgumentValueError(f"d must be an integer >= {minimum_d}, got {d_or_law.d}")
    return d_or_law


def uniform_dim(d_or_law, what: str) -> int:
    """The dimension ``d`` of ``d_or_law``, an int ``d >= 2`` or ``UniformSphere(d)``;
    any other law raises ``ArgumentValueError``: ``what`` holds for uniform keys only."""
    law = as_law("d", d_or_law)
    if type(law) is not UniformSphere:
        raise ArgumentValueError(
            f"d_or_law must be an int d or UniformSphere(d): {what} is a closed form for uniform keys on "
            f"S^(d-1) only, got {type(law).__name__}"
        )
    return law.d


def check_gamma(gamma) -> Array:
    """``gamma`` finite and ``> 0`` when concrete (a traced value passes), as an
    array of the default float dtype."""
    if not isinstance(gamma, jax.core.Tracer):
        value = np.asarray(check_array("gamma", gamma))
        if not np.all(np.isfinite(value)) or np.any(value <= 0):
            raise ArgumentValueError(f"gamma must be finite and > 0, got {gamma}")
    return as_float_array(gamma)


def as_float_array(value: ArrayLike) -> Array:
    """``value`` as a JAX array of the default float dtype: the return convention."""
    return jnp.asarray(value, default_float())
