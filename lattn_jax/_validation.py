"""Eager argument checks: concrete Python values are validated at call time with
messages that name the argument and the allowed range; traced values pass
through (the caller is inside ``jit``/``grad``/``vmap``)."""

import math
import numbers

import jax
import numpy as np


class ArgumentValueError(ValueError):
    """A bad argument value, found at call time; the message names the argument
    and the allowed range. The CLI shows it as a usage error (exit 2)."""


class ArgumentTypeError(TypeError):
    """An argument of the wrong type, found at call time; the message names the
    argument. The CLI shows it as a usage error (exit 2)."""


def default_float():
    """The float dtype JAX uses now (float64 only when x64 is enabled)."""
    return jax.numpy.result_type(float)


def concrete(x):
    """``x`` as a NumPy array when it is concrete, ``None`` when it is traced."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def check_int(name: str, value, *, minimum: int) -> int:
    """``value`` as an ``int >= minimum``; integral floats like ``1e5`` are accepted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray):
        raise ArgumentTypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, np.ndarray) and value.ndim != 0:
        raise ArgumentTypeError(f"{name} must be a scalar integer, got an array of shape {value.shape}")
    as_float = float(value)
    if not math.isfinite(as_float) or as_float != int(as_float):
        raise ArgumentTypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if as_float < minimum:
        raise ArgumentValueError(f"{name} must be an integer >= {minimum}, got {int(as_float)}")
    return int(as_float)


def check_real(name: str, value) -> float:
    """A finite real number (a Python or NumPy scalar)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a finite real number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ArgumentValueError(f"{name} must be finite, got {value}")
    return float(value)


def check_beta(name: str, beta) -> None:
    """``beta`` must be finite and ``>= 0`` (checked elementwise when concrete)."""
    value = concrete(beta)
    if value is None:
        return
    if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
        raise ArgumentTypeError(f"{name} must be a real number, got dtype {value.dtype}")
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise ArgumentValueError(f"{name} must be finite and >= 0, got {value}")


def check_open_unit(name: str, value) -> float:
    """A float in the open interval (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a float in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise ArgumentValueError(f"{name} must be in the open interval (0, 1), got {value}")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ArgumentValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_key(name: str, key) -> None:
    """A typed or raw PRNG key (a single one, not a batch)."""
    if isinstance(key, jax.core.Tracer):
        return
    if not isinstance(key, jax.Array):
        raise ArgumentTypeError(f"{name} must be a PRNG key from jax.random.key(seed), got {type(key).__name__}")
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ArgumentValueError(f"{name} must be a single PRNG key, got a batch of shape {key.shape}")
    elif key.shape != (2,) or key.dtype != np.uint32:
        raise ArgumentTypeError(
            f"{name} must be a PRNG key from jax.random.key(seed), got an array {key.dtype}{list(key.shape)}"
        )


def check_array(name: str, x, *, ndim: int | None = None, shape: str = ""):
    """``x`` as a JAX array of real numbers; when concrete, also finite and (with
    ``ndim``) of that rank. ``shape`` names the expected shape in messages."""
    if isinstance(x, jax.core.Tracer):
        return x
    try:
        value = np.asarray(x)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be an array of real numbers{shape}, got {type(x).__name__}") from None
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name} must be an array of real numbers{shape}, got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ArgumentValueError(f"{name} must be a {ndim}-D array{shape}, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ArgumentValueError(f"{name} must be finite (no NaN or inf){shape}")
    return x if isinstance(x, jax.Array) else jax.numpy.asarray(value)


def check_dtype(name: str, dtype):
    """``None`` (JAX's default float) or a floating dtype."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise ArgumentTypeError(
            f"{name} must be a float dtype such as jnp.float32 or jnp.float64, got {dtype!r}"
        ) from None
    if not jax.numpy.issubdtype(resolved, jax.numpy.floating):
        raise ArgumentTypeError(f"{name} must be a float dtype such as jnp.float32 or jnp.float64, got {resolved}")
    return dtype


def check_bool(name: str, value) -> bool:
    """A Python or NumPy boolean."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_in_range(name: str, x, lo: float, hi: float) -> None:
    """Real values (elementwise, when concrete) in ``[lo, hi]``; NaN is rejected."""
    value = concrete(x)
    if value is None:
        return
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name} must be real numbers in [{lo}, {hi}], got dtype {value.dtype}")
    if np.any(np.isnan(value)) or np.any(value < lo) or np.any(value > hi):
        raise ArgumentValueError(f"{name} must be in [{lo}, {hi}], got {value}")


def check_sizes(name: str, n, *, minimum: float = 1.0) -> None:
    """Context sizes (a real scalar or array, elementwise when concrete): finite and ``>= minimum``."""
    value = concrete(n)
    if value is None:
        return
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name} must be real numbers >= {minimum:g}, got dtype {value.dtype}")
    if not np.all(np.isfinite(value)) or np.any(value < minimum):
        raise ArgumentValueError(f"{name} must be finite and >= {minimum:g}, got {value}")
