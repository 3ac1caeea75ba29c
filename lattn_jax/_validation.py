"""Eager argument checks: concrete Python values are validated at call time with
messages that name the argument and the allowed range; traced values pass
through (the caller is inside ``jit``/``grad``/``vmap``)."""

import math
import numbers
import re
from collections.abc import Sequence

import equinox as eqx
import jax
import numpy as np


class ArgumentValueError(ValueError):
    """A bad argument value, found at call time; the message names the argument
    and the allowed range, and ``argument`` is the argument's name (``None``
    where no single argument is at fault). The CLI shows it as a usage error
    (exit 2), naming the flag that set the argument.

    Examples:
        >>> import jax
        >>> import lattn_jax as lj
        >>> try:
        ...     lj.mc_estimate(lj.max_weight, lj.UniformSphere(3), 1, 1.0, jax.random.key(0))
        ... except lj.ArgumentValueError as err:
        ...     print(err.argument, "|", err)
        n | n must be an integer >= 2 (a context size), got 1
    """

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


class ArgumentTypeError(TypeError):
    """An argument of the wrong type, found at call time; the message names the
    argument and what is allowed, and ``argument`` is the argument's name
    (``None`` where no single argument is at fault). The CLI shows it as a
    usage error (exit 2).

    Examples:
        >>> import lattn_jax as lj
        >>> try:
        ...     lj.UniformSphere("3")
        ... except lj.ArgumentTypeError as err:
        ...     print(err.argument, "|", err)
        d | d must be an integer >= 2, got '3'
    """

    def __init__(self, message: str, *, argument: str | None = None):
        super().__init__(message)
        self.argument = argument


def _argument(name: str) -> str:
    """The argument a check's ``name`` is about: ``"ns[i]"`` and ``"critical[0] (beta_star)"`` name ``ns`` and
    ``critical``."""
    match = re.match(r"[A-Za-z_]\w*", name)
    return match.group(0) if match else name


def _value_error(name: str, message: str) -> ArgumentValueError:
    return ArgumentValueError(message, argument=_argument(name))


def _type_error(name: str, message: str) -> ArgumentTypeError:
    return ArgumentTypeError(message, argument=_argument(name))


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
    """``value`` as an ``int >= minimum``; integral floats like ``1e5`` are accepted
    (Python and NumPy scalars: a JAX array is refused, as before ``_size`` served here)."""
    if isinstance(value, jax.Array):
        raise _type_error(name, f"{name} must be an integer >= {minimum}, got {value!r}")
    return _size(name, value, minimum, f"{name} must be an integer >= {minimum}")


def check_real(name: str, value) -> float:
    """A finite real number (a Python or NumPy scalar)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(name, f"{name} must be a finite real number, got {value!r}")
    if not math.isfinite(float(value)):
        raise _value_error(name, f"{name} must be finite, got {value}")
    return float(value)


def check_beta(name: str, beta):
    """``beta`` must be finite and ``>= 0``: checked elementwise when concrete;
    a traced ``beta`` (inside ``jit``, ``vmap``, ``grad``) comes back wrapped by
    ``eqx.error_if``, so a negative, NaN or infinite value raises when the
    computation runs instead of passing silently. Returns ``beta`` (use the
    returned value)."""
    value = concrete(beta)
    if value is None:
        if not jax.numpy.issubdtype(beta.dtype, jax.numpy.number) or jax.numpy.iscomplexobj(beta):
            return beta
        bad = ~(jax.numpy.isfinite(beta) & (beta >= 0))
        return eqx.error_if(beta, bad, f"{name} must be finite and >= 0 (a traced value was not)")
    if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
        raise _type_error(name, f"{name} must be a real number, got dtype {value.dtype}")
    if not np.all(np.isfinite(value)) or np.any(value < 0):
        raise _value_error(name, f"{name} must be finite and >= 0, got {value}")
    return beta


def check_open_unit(name: str, value) -> float:
    """A float in the open interval (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(name, f"{name} must be a float in (0, 1), got {value!r}")
    if not 0.0 < float(value) < 1.0:
        raise _value_error(name, f"{name} must be in the open interval (0, 1), got {value}")
    return float(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise _value_error(name, f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_key(name: str, key) -> None:
    """A typed or raw PRNG key (a single one, not a batch)."""
    if isinstance(key, jax.core.Tracer):
        return
    if not isinstance(key, jax.Array):
        raise _type_error(name, f"{name} must be a PRNG key from jax.random.key(seed), got {type(key).__name__}")
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise _value_error(name, f"{name} must be a single PRNG key, got a batch of shape {key.shape}")
    elif key.shape != (2,) or key.dtype != np.uint32:
        raise _type_error(
            name, f"{name} must be a PRNG key from jax.random.key(seed), got an array {key.dtype}{list(key.shape)}"
        )


def check_array(name: str, x, *, ndim: int | None = None, shape: str = ""):
    """``x`` as a JAX array of real numbers; when concrete, also finite and (with
    ``ndim``) of that rank. ``shape`` names the expected shape in messages."""
    if isinstance(x, jax.core.Tracer):
        return x
    try:
        value = np.asarray(x)
    except (TypeError, ValueError):
        raise _type_error(name, f"{name} must be an array of real numbers{shape}, got {type(x).__name__}") from None
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise _type_error(name, f"{name} must be an array of real numbers{shape}, got dtype {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise _value_error(name, f"{name} must be a {ndim}-D array{shape}, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise _value_error(name, f"{name} must be finite (no NaN or inf){shape}")
    return x if isinstance(x, jax.Array) else jax.numpy.asarray(value)


def check_dtype(name: str, dtype):
    """``None`` (JAX's default float) or a floating dtype."""
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise _type_error(
            name, f"{name} must be a float dtype such as jnp.float32 or jnp.float64, got {dtype!r}"
        ) from None
    if not jax.numpy.issubdtype(resolved, jax.numpy.floating):
        raise _type_error(name, f"{name} must be a float dtype such as jnp.float32 or jnp.float64, got {resolved}")
    return dtype


def check_bool(name: str, value) -> bool:
    """A Python or NumPy boolean."""
    if not isinstance(value, bool | np.bool_):
        raise _type_error(name, f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_in_range(name: str, x, lo: float, hi: float) -> None:
    """Real values (elementwise, when concrete) in ``[lo, hi]``; NaN is rejected."""
    value = concrete(x)
    if value is None:
        return
    if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise _type_error(name, f"{name} must be real numbers in [{lo}, {hi}], got dtype {value.dtype}")
    if np.any(np.isnan(value)) or np.any(value < lo) or np.any(value > hi):
        raise _value_error(name, f"{name} must be in [{lo}, {hi}], got {value}")


_COUNTS = {1: "one", 2: "two"}


def check_sizes(
    name: str, n, *, minimum: int | float = 1, integer: bool = False, sequence: bool = False, distinct: int = 1
):
    """Context sizes: the one check of ``n`` and ``ns`` across the package, with one wording.

    - default: real sizes (a scalar or an array, as a schedule or a limit
      formula takes), finite and ``>= minimum`` elementwise when concrete;
      traced values pass; returns ``n`` unchanged.
    - ``integer=True``: one size, an integer ``>= minimum`` (integral floats
      such as ``1e5`` are accepted); returns it as an ``int``.
    - ``sequence=True``: a sequence (list, tuple, 1-D array) of integer sizes
      ``>= minimum`` holding at least ``distinct`` distinct values; returns
      them as a list of ``int``, in the given order.
    """
    if not (integer or sequence):
        value = concrete(n)
        if value is None:
            return n
        need = f"{name} must be finite and >= {minimum:g} (context sizes)"
        if value.dtype == object or not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
            raise _type_error(name, f"{need}, got dtype {value.dtype}")
        if not np.all(np.isfinite(value)) or np.any(value < minimum):
            raise _value_error(name, f"{need}, got {value}")
        return n
    if not sequence:
        return _size(name, n, minimum, f"{name} must be an integer >= {minimum:g} (a context size)")
    if isinstance(n, str | bytes) or not isinstance(n, Sequence | np.ndarray | jax.Array):
        raise _type_error(
            name, f"{name} must be a sequence of context sizes, integers >= {minimum:g}, such as [100, 1000], got {n!r}"
        )
    if isinstance(n, np.ndarray | jax.Array) and n.ndim != 1:
        raise _type_error(name, f"{name} must be a 1-D sequence of context sizes, got an array of shape {n.shape}")
    need = f"{name} must be an integer >= {minimum:g} at each entry (context sizes)"
    sizes = [_size(name, item, minimum, need, f" at entry {i}") for i, item in enumerate(n)]
    if len(set(sizes)) < distinct:
        how_many = _COUNTS.get(distinct, str(distinct)) + (" distinct" if distinct > 1 else "")
        raise _value_error(
            name, f"{name} must hold at least {how_many} context size{'s' * (distinct > 1)}, got {sizes}"
        )
    return sizes


def _size(name: str, n, minimum: int | float, need: str, where: str = "") -> int:
    """``n`` as an ``int >= minimum`` (a concrete scalar, integral floats accepted), else an error saying ``need``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Real | np.ndarray | jax.Array):
        raise _type_error(name, f"{need}, got {n!r}{where}")
    if isinstance(n, jax.core.Tracer):
        raise _type_error(name, f"{need}, got a traced value{where} (sizes are static)")
    if np.ndim(n) != 0:
        raise _type_error(name, f"{need}, got an array of shape {np.shape(n)}{where}")
    as_float = float(n)
    if not math.isfinite(as_float) or as_float != int(as_float):
        raise _type_error(name, f"{need}, got {n!r}{where}")
    if as_float < minimum:
        raise _value_error(name, f"{need}, got {int(as_float)}{where}")
    return int(as_float)
