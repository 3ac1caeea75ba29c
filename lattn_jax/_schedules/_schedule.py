"""Temperature schedules: how an inverse temperature ``beta`` is chosen as a
function of the context size ``n``.

A schedule is an equinox Module called as ``schedule(n) -> beta``; its float
fields are pytree leaves, so ``jax.grad`` with respect to a schedule (through
``eqx.filter_grad``) differentiates in its parameters. ``n`` may be an array.

The published practical schedules are written as a factor on a *base*
``beta``: the inverse temperature the model uses at its training length. On
the unit sphere that is ``|q| |k| / sqrt(d_head)`` for the query/key norms of
the head (``sqrt(d_head)`` for ``q``, ``k`` with unit-variance coordinates); it
is a user value here (default 1, so that ``schedule(n)`` is the bare factor).
Where a method counts the query *position* ``p`` (0-based) instead of the
context size, a query at position ``p`` sees ``n = p + 1`` keys (causal
attention), and that is how ``n`` is converted.
"""

import abc
import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import ArgumentTypeError, ArgumentValueError, check_sizes, concrete


def _log(x: ArrayLike) -> Array:
    return jnp.log(_sizes(x))


def _sizes(n: ArrayLike) -> Array:
    """Context sizes ``n >= 1`` (checked when concrete) as a float array."""
    check_sizes("n", n)
    return jnp.asarray(n, jnp.result_type(float))


def _param(value):
    """A float parameter as a JAX array (a pytree leaf that ``eqx.filter_grad`` sees)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return jnp.asarray(value, jnp.result_type(float))
    return value


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be a finite number > 0, got {value!r}", argument=name)
    value = concrete(value)
    if value is None or value.ndim != 0:
        return  # traced (inside jit/grad) or a batch of parameters
    if not np.issubdtype(value.dtype, np.number):
        raise ArgumentTypeError(f"{name} must be a finite number > 0, got dtype {value.dtype}", argument=name)
    if not (np.isfinite(value) and value > 0):
        raise ArgumentValueError(f"{name} must be finite and > 0, got {value}", argument=name)


def _check_finite(name: str, value) -> None:
    if isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be a finite real number, got {value!r}", argument=name)
    value = concrete(value)
    if value is None or value.ndim != 0:
        return  # traced (inside jit/grad) or a batch of parameters
    if not np.issubdtype(value.dtype, np.number) or np.iscomplexobj(value):
        raise ArgumentTypeError(f"{name} must be a finite real number, got dtype {value.dtype}", argument=name)
    if not np.isfinite(value):
        raise ArgumentValueError(f"{name} must be a finite real number, got {value}", argument=name)


class AbstractSchedule(eqx.Module):
    """``beta = schedule(n)``: an inverse temperature for each context size ``n``.

    Subclasses implement ``__call__``; ``n`` may be an array (``>= 1``).

    Examples:
        >>> import jax.numpy as jnp
        >>> class Sqrt(AbstractSchedule):
        ...     def __call__(self, n):
        ...         return jnp.sqrt(jnp.asarray(n, float))
        >>> [round(float(b), 4) for b in Sqrt()(jnp.array([4.0, 100.0]))]
        [2.0, 10.0]
    """

    @abc.abstractmethod
    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        raise NotImplementedError


class PowerLaw(AbstractSchedule):
    """``beta(n) = c n^p``, stored as ``log c`` and ``p`` so it can be learned in
    log space (see [`fit_schedule`][lattn_jax.fit_schedule]). The theory's critical schedule is a
    power law with ``p = 2 / alpha`` (``2 / (d - 1)`` for uniform keys).

    Examples:
        >>> s = PowerLaw(2.0, 0.5)
        >>> round(float(s(100.0)), 4), round(float(s.prefactor), 4)
        (20.0, 2.0)
    """

    log_prefactor: Float[ArrayLike, ""]
    exponent: Float[ArrayLike, ""]

    def __init__(self, prefactor, exponent, *, log_prefactor=None):
        if log_prefactor is None:
            _check_positive("prefactor", prefactor)
            log_prefactor = jnp.log(jnp.asarray(prefactor, jnp.result_type(float)))
        else:
            _check_finite("log_prefactor", log_prefactor)
        _check_finite("exponent", exponent)
        self.log_prefactor = _param(log_prefactor)
        self.exponent = _param(exponent)

    @property
    def prefactor(self) -> Array:
        """``c = exp(log c)``."""
        return jnp.exp(self.log_prefactor)

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        return jnp.exp(self.log_prefactor + self.exponent * _log(n))


class Constant(AbstractSchedule):
    """``beta(n) = beta`` for every ``n``: no length scaling.

    Examples:
        >>> float(Constant(8.0)(1e6))
        8.0
    """

    beta: Float[ArrayLike, ""] = eqx.field(converter=_param)

    def __check_init__(self):
        _check_positive("beta", self.beta)

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        return self.beta * jnp.ones_like(_log(n))


class QwenLogN(AbstractSchedule):
    """Qwen-1 "log-n attention": ``beta(n) = base * max(1, ln n / ln L)``.

    Source: Qwen Technical Report (Bai et al., arXiv 2309.16609, section 2.3)
    and ``modeling_qwen.py`` (``logn_list = [log(i, seq_length) if i >
    seq_length else 1 for i in range(1, 32768)]``, indexed by key count, applied
    to the query only, so the logits get the factor once). ``n`` is the number
    of keys the query sees (query position + 1); ``L`` the training length
    (``seq_length`` in the model's config; default 8192 here, set yours).

    Examples:
        >>> round(float(QwenLogN(train_length=8192)(8192.0**2)), 4)
        2.0
    """

    base: Float[ArrayLike, ""] = eqx.field(converter=_param, default=1.0)
    train_length: float = eqx.field(static=True, default=8192.0)

    def __check_init__(self):
        _check_positive("base", self.base)
        _check_positive("train_length", self.train_length)
        if self.train_length <= 1:
            raise ArgumentValueError(f"train_length must be > 1, got {self.train_length}", argument="train_length")

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        return self.base * jnp.maximum(1.0, _log(n) / math.log(self.train_length))


def _scale(n: ArrayLike, train_length: float, scale: float | None) -> Array:
    """``s = L'/L`` (static, when ``scale`` is given) or ``n / L`` (dynamic), at least 1."""
    n = _sizes(n)
    s = n / train_length if scale is None else jnp.full_like(n, scale)
    return jnp.maximum(s, 1.0)


class _ContextScaling(AbstractSchedule):
    """A context-extension factor of ``s``: the static ``scale`` when given, else
    the dynamic ``n / train_length`` (at least 1), times ``base``."""

    base: Float[ArrayLike, ""] = eqx.field(converter=_param, default=1.0)
    train_length: float = eqx.field(static=True, default=4096.0)
    scale: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        _check_positive("base", self.base)
        _check_positive("train_length", self.train_length)
        if self.scale is not None:
            _check_positive("scale", self.scale)


class YaRN(_ContextScaling):
    """YaRN's attention temperature: ``beta = base * (0.1 ln s + 1)^2`` for
    ``s > 1`` (``base`` for ``s <= 1``).

    Source: Peng et al., "YaRN: Efficient Context Window Extension of Large
    Language Models" (arXiv 2309.00071, eq. 22: ``sqrt(1/t) = 0.1 ln s + 1``),
    and ``get_mscale`` in its code, which multiplies both ``q`` and ``k`` by
    ``0.1 ln s + 1``, so the logits get the square. ``s = L'/L``: static with
    ``scale = L'/L`` given (the extended over the training length), dynamic
    (``s = n / L``, "Dynamic-YaRN") when ``scale`` is ``None``. ``n`` is the
    number of keys; ``L`` the original training length (default 4096, Llama 2).

    Examples:
        >>> round(float(YaRN(scale=16.0)(1e5)), 4)  # (0.1 ln 16 + 1)^2
        1.6314
    """

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        s = _scale(n, self.train_length, self.scale)
        return self.base * (0.1 * jnp.log(s) + 1.0) ** 2


class LongRoPE(_ContextScaling):
    """LongRoPE / Phi-3 attention factor: ``beta = base * (1 + ln s / ln L)`` for
    ``s > 1`` (``base`` for ``s <= 1``).

    Source: Ding et al., "LongRoPE" (arXiv 2402.13753), as shipped in Phi-3
    (``Phi3LongRoPEScaledRotaryEmbedding``: ``scaling_factor = sqrt(1 + log(scale)
    / log(original_max_position_embeddings))`` multiplies both cos and sin, so
    both ``q`` and ``k``, hence the logits by ``1 + ln s / ln L``). Phi-3 uses
    the static ``s = L'/L`` (``scale``; 131072/4096 = 32 for Phi-3-mini-128k);
    with ``scale=None`` it is dynamic, ``s = n / L``. ``n`` is the number of keys,
    ``L`` the original training length (default 4096, Phi-3).

    Examples:
        >>> round(float(LongRoPE(scale=32.0)(1e5)), 4)  # 1 + ln 32 / ln 4096
        1.4167
    """

    def __check_init__(self):  # runs before _ContextScaling's: the positivity check first, then > 1
        _check_positive("train_length", self.train_length)
        if self.train_length <= 1:
            raise ArgumentValueError(f"train_length must be > 1, got {self.train_length}", argument="train_length")

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        s = _scale(n, self.train_length, self.scale)
        return self.base * (1.0 + jnp.log(s) / math.log(self.train_length))


class ScalableSoftmax(AbstractSchedule):
    """Scalable-Softmax (SSMax): ``beta = base * s ln n`` with a learnable ``s``.

    Source: Nakanishi, "Scalable-Softmax Is Superior for Attention" (arXiv
    2501.19399): ``SSMax(z)_i = n^{s z_i} / sum_j n^{s z_j}``, i.e. the logits
    times ``s ln n``; ``n`` is the number of keys the query sees. Default
    ``s = 0.43`` (the value the paper's figure reports after training). With
    ``base = 1`` this is the ``beta = gamma ln n`` family of
    [`Simplex`][lattn_jax.Simplex] with ``gamma = s``.

    Examples:
        >>> round(float(ScalableSoftmax()(1e4)), 4)  # 0.43 ln 1e4
        3.9604
    """

    base: Float[ArrayLike, ""] = eqx.field(converter=_param, default=1.0)
    s: Float[ArrayLike, ""] = eqx.field(converter=_param, default=0.43)

    def __check_init__(self):
        _check_positive("base", self.base)
        _check_positive("s", self.s)

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        return self.base * self.s * _log(n)


class Llama4(AbstractSchedule):
    """Llama 4 attention temperature tuning:
    ``beta = base * (1 + attn_scale * ln(1 + floor((p + 1) / floor_scale)))``.

    Source: Meta's Llama 4 reference code (``llama_models/llama4/model.py``,
    ``attn_temperature_tuning`` in the NoPE layers; also
    ``Llama4TextAttention`` in transformers), applied to the query only.
    ``p`` is the 0-based query position, so with ``n = p + 1`` keys the
    factor is ``1 + attn_scale ln(1 + floor(n / floor_scale))``. Defaults
    ``attn_scale = 0.1``, ``floor_scale = 8192`` (Llama 4's config).

    Examples:
        >>> round(float(Llama4()(3 * 8192.0)), 4)  # 1 + 0.1 ln 4
        1.1386
    """

    base: Float[ArrayLike, ""] = eqx.field(converter=_param, default=1.0)
    attn_scale: Float[ArrayLike, ""] = eqx.field(converter=_param, default=0.1)
    floor_scale: float = eqx.field(static=True, default=8192.0)

    def __check_init__(self):
        _check_positive("base", self.base)
        _check_positive("attn_scale", self.attn_scale)
        _check_positive("floor_scale", self.floor_scale)

    def __call__(self, n: ArrayLike) -> Float[Array, "*n"]:
        p = _sizes(n) - 1.0
        return self.base * (1.0 + self.attn_scale * jnp.log1p(jnp.floor((p + 1.0) / self.floor_scale)))


SCHEDULE_NAMES = ("qwen", "yarn", "longrope", "ssmax", "llama4", "constant", "power")


def _numbers(name: str, text: str, count: tuple[int, ...]) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")] if text else []
    except ValueError:
        raise ArgumentValueError(
            f"schedule {name!r}: expected finite comma-separated numbers after ':', got {text!r}", argument="spec"
        ) from None
    if len(values) not in count or not all(math.isfinite(v) for v in values):
        allowed = " or ".join(str(c) for c in count)
        raise ArgumentValueError(
            f"schedule {name!r}: expected {allowed} finite number(s) after ':', got {text!r}", argument="spec"
        )
    return values


def schedule_from_name(spec: str, base: float = 1.0) -> AbstractSchedule:
    """A schedule from a short name (for the command line):

    ``qwen[:L]``, ``yarn[:L]``, ``longrope[:L]`` (dynamic ``s = n / L``),
    ``ssmax[:s]``, ``llama4[:attn_scale,floor_scale]`` (each a factor on
    ``base``), ``constant:BETA`` (``beta = BETA * base``) and ``power:C,P``
    (``beta = C n^P``, ``base`` ignored).

    Examples:
        >>> round(float(schedule_from_name("power:2,0.5")(100.0)), 4)
        20.0
        >>> round(float(schedule_from_name("qwen:1024", base=8.0)(2.0**20)), 4)
        16.0
    """
    if not isinstance(spec, str):
        raise ArgumentTypeError(f"schedule must be a name such as 'qwen', got {type(spec).__name__}", argument="spec")
    _check_positive("base", base)
    name, _, text = spec.strip().partition(":")
    name = name.lower()
    if name == "qwen":
        (L,) = _numbers(name, text, (0, 1)) or [8192.0]
        return QwenLogN(base, L)
    if name == "yarn":
        (L,) = _numbers(name, text, (0, 1)) or [4096.0]
        return YaRN(base, L)
    if name == "longrope":
        (L,) = _numbers(name, text, (0, 1)) or [4096.0]
        return LongRoPE(base, L)
    if name == "ssmax":
        (s,) = _numbers(name, text, (0, 1)) or [0.43]
        return ScalableSoftmax(base, s)
    if name == "llama4":
        attn_scale, floor_scale = _numbers(name, text, (0, 2)) or [0.1, 8192.0]
        return Llama4(base, attn_scale, floor_scale)
    if name == "constant":
        (beta,) = _numbers(name, text, (1,))
        return Constant(beta * base)
    if name == "power":
        c, p = _numbers(name, text, (2,))
        return PowerLaw(c, p)
    raise ArgumentValueError(
        f"unknown schedule {spec!r}; known: {', '.join(SCHEDULE_NAMES)} (e.g. 'qwen', 'power:2,0.5')", argument="spec"
    )
