"""Laws on the sphere whose gap ``g / 2`` is Beta-distributed: uniform keys on
``S^{d-1}``, on a great subsphere, and with a power density in the gap."""

import abc
import math
import numbers

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import betaln
from jaxtyping import Array, Float, PRNGKeyArray, UInt32

from .._numerics._special import beta_quantile, log_betainc_lower
from .._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_int,
    check_real,
    default_float,
)
from ._abstract import AbstractGapLaw, AbstractLaw, check_sample


class _BetaGapLaw(AbstractGapLaw):
    """A law whose gap satisfies ``gap / 2 ~ Beta(p, q)`` (exact gap law, all of
    it from the incomplete beta function)."""

    @property
    @abc.abstractmethod
    def _shapes(self) -> tuple[float, float]:
        """``(p, q)``."""

    def gap_log_density(self, g: Array) -> Array:
        p, q = self._shapes
        half = g / 2.0
        inside = (g > 0) & (g < 2)
        half = jnp.where(inside, half, 0.5)
        log_f = (p - 1.0) * jnp.log(half) + (q - 1.0) * jnp.log1p(-half) - betaln(p, q) - jnp.log(2.0)
        return jnp.where(inside, log_f, -jnp.inf)

    def gap_log_cdf_pair(self, g: Array) -> tuple[Array, Array]:
        p, q = self._shapes
        tiny = jnp.finfo(jnp.result_type(g)).tiny
        lower = g <= 1.0
        x = jnp.clip(jnp.where(lower, g, 2.0 - g) / 2.0, tiny, 0.5)
        # The tail on the near side, by the series; the other side by its complement.
        log_near = jnp.where(lower, log_betainc_lower(p, q, x), log_betainc_lower(q, p, x))
        log_far = jnp.log1p(-jnp.exp(log_near))
        return jnp.where(lower, log_near, log_far), jnp.where(lower, log_far, log_near)

    def gap_quantile(self, log_u: Array, log_1mu: Array) -> Array:
        p, q = self._shapes
        return 2.0 * beta_quantile(p, q, log_u, log_1mu)

    def small_gap_expansion(self) -> tuple[float, float, float]:
        # I_x(p, q) = x^p / (p B(p, q)) (1 + p (1 - q) / (p + 1) x + ...), x = u / 2.
        p, q = self._shapes
        log_beta = math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)  # in float64, whatever JAX's default
        log_c = -p * math.log(2.0) - math.log(p) - log_beta
        return p, math.exp(log_c), p * (1.0 - q) / (2.0 * (p + 1.0))

    def query(self, dtype=None) -> Float[Array, " d"]:
        dtype = dtype or default_float()
        return jnp.zeros((self.dim,), dtype).at[0].set(1.0)


def _unit_normals(key: PRNGKeyArray, n: int, d: int, dtype) -> Float[Array, "n d"]:
    x = jax.random.normal(key, (n, d), dtype or default_float())
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


def _keys_from_gaps(key: PRNGKeyArray, gaps: Float[Array, " n"], d: int) -> Float[Array, "n d"]:
    """Keys ``k = (1 - g) e_1 + sqrt(g (2 - g)) u`` at the given gaps to ``e_1``,
    with ``u`` uniform on the unit sphere orthogonal to ``e_1`` (drawn from
    ``fold_in(key, 1)``). Built from ``sample_gaps(key)``, they make
    ``sample(key)`` the same context as ``sample_gaps(key)``, so a user
    observable on keys and a built-in one on gaps see the same contexts."""
    direction = _unit_normals(jax.random.fold_in(key, 1), gaps.shape[0], d - 1, gaps.dtype)
    radius = jnp.sqrt(gaps * (2.0 - gaps))
    return jnp.concatenate([(1.0 - gaps)[:, None], radius[:, None] * direction], axis=1)


def _exponentials(words: UInt32[Array, "*shape w"], dtype) -> Float[Array, "*shape"]:
    """Exp(1) variates, accurate in both tails, from ``w`` random 32-bit words each.

    ``E = -log U``: the top bit of the first word picks the half of ``U`` and the
    other bits (plus the further words) give ``v`` in ``(0, 1/2)``, with relative
    resolution ``2^-24`` down to ``2^-(32 w)``, so that ``E = -log v`` (large ``E``)
    and ``E = -log1p(-v)`` (small ``E``) both keep full float precision. Each
    outcome is the midpoint of its cell, so no ``E`` is exactly 0 or infinite.
    """
    low = words[..., 0] & jnp.uint32(0x7FFFFFFF)
    v = low.astype(dtype)
    for j in range(1, words.shape[-1]):  # finer bits, seen only when the coarser ones are small
        v = v + words[..., j].astype(dtype) * (2.0**-32) ** j
    v = (v + 0.5 * (2.0**-32) ** (words.shape[-1] - 1)) * 2.0**-32
    return jnp.where(words[..., 0] >> 31 == 1, -jnp.log(v), -jnp.log1p(-v))


def _uniform_gaps(key: PRNGKeyArray, n: int, m: int, dtype) -> Float[Array, " n"]:
    """Gaps ``1 - x_1 / |x|`` of ``n`` keys uniform on ``S^{m-1}``, without drawing
    ``x``: ``x_1`` is normal and ``r^2 = |x_2..x_m|^2 ~ chi^2_{m-1}`` is
    ``2 (E_1 + ... + E_j)`` (``j = (m - 1) // 2`` exponentials) plus one squared
    normal when ``m - 1`` is odd: about ``m / 2 + 1`` random words per key instead
    of ``m``. ``r^2`` keeps full relative precision near 0 (``_exponentials``;
    two words per exponential when it alone makes ``r^2``, at ``m = 3``), which
    is where the smallest gaps come from. Exact in law.
    """
    dtype = dtype or default_float()
    k = m - 1
    k_normal, k_bits = jax.random.split(key)
    z = jax.random.normal(k_normal, (1 + k % 2, n), dtype)
    x1 = z[0]
    r2 = z[1] * z[1] if k % 2 else jnp.zeros((n,), dtype)
    if k >= 2:
        words = 2 if k == 2 else 1
        bits = jax.random.bits(k_bits, (k // 2, n, words), jnp.uint32)
        r2 = r2 + 2.0 * jnp.sum(_exponentials(bits, dtype), axis=0)
    norm = jnp.sqrt(x1 * x1 + r2)
    # 1 - x_1 / |x| = r^2 / (|x| (|x| + x_1)) when x_1 > 0: no cancellation.
    return jnp.where(x1 > 0, r2 / (norm * (norm + jnp.abs(x1))), (norm - x1) / norm)


class UniformSphere(_BetaGapLaw):
    """``n`` i.i.d. keys uniform on the unit sphere ``S^{d-1}`` in ``R^d``.

    The query is ``e_1``. The gap ``g = 1 - <q, k>`` satisfies
    ``g / 2 ~ Beta(a, a)`` with ``a = (d - 1) / 2``, so near zero
    ``P(g <= u) ~ (u/2)^a / (a B(a, a))``: the local exponent of the distance
    ``|k - q| = sqrt(2 g)`` is ``alpha = d - 1``. Gaps are drawn directly (about
    ``d / 2 + 1`` random words per key, full float precision near 0); keys are
    built from the same gaps, so ``sample(key)`` and ``sample_gaps(key)`` are
    one context.

    Examples:
        >>> import jax
        >>> law = UniformSphere(3)
        >>> law.sample(jax.random.key(0), 5).shape
        (5, 3)
        >>> law.local_exponent
        2.0
    """

    d: int = eqx.field(static=True)

    def __check_init__(self):
        check_int("d", self.d, minimum=2)

    @property
    def dim(self) -> int:
        return self.d

    @property
    def _shapes(self) -> tuple[float, float]:
        a = (self.d - 1) / 2.0
        return a, a

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        return _keys_from_gaps(key, self.sample_gaps(key, n, dtype), self.d)

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        n = check_sample(key, n)
        return _uniform_gaps(key, n, self.d, dtype)


class Subsphere(_BetaGapLaw):
    """Keys uniform on a great ``(m-1)``-sphere through the query: the unit
    sphere of ``span(e_1, ..., e_m)`` inside ``R^d``, ``2 <= m <= d``.

    A model of keys that fill only an ``m``-dimensional subspace of the head
    dimension. The gap law is that of ``UniformSphere(m)``:
    ``g / 2 ~ Beta((m - 1)/2, (m - 1)/2)``, so the local exponent is
    ``alpha = m - 1`` and ``beta*_n ~ n^{2/(m-1)}`` whatever ``d`` is.

    Examples:
        >>> import jax
        >>> law = Subsphere(8, 3)
        >>> law.sample(jax.random.key(0), 4).shape, law.local_exponent
        ((4, 8), 2.0)
    """

    d: int = eqx.field(static=True)
    m: int = eqx.field(static=True)

    def __check_init__(self):
        check_int("d", self.d, minimum=2)
        check_int("m", self.m, minimum=2)
        if self.m > self.d:
            raise ArgumentValueError(f"m must be in [2, d] = [2, {self.d}], got {self.m}")

    @property
    def dim(self) -> int:
        return self.d

    @property
    def _shapes(self) -> tuple[float, float]:
        a = (self.m - 1) / 2.0
        return a, a

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        keys = _keys_from_gaps(key, self.sample_gaps(key, n, dtype), self.m)
        return jnp.pad(keys, ((0, 0), (0, self.d - self.m)))

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        n = check_sample(key, n)
        return _uniform_gaps(key, n, self.m, dtype)


class PowerDensity(_BetaGapLaw):
    """Keys on ``S^{d-1}`` with density proportional to ``|k - q|^s`` (relative
    to the uniform measure), ``s > -(d - 1)``.

    ``s > 0`` thins the keys near the query, ``s < 0`` piles them up. Since the
    uniform gap density is ``∝ (g (2 - g))^{a - 1}`` with ``a = (d - 1)/2`` and
    ``|k - q|^s = (2 g)^{s/2}``, the gap law is ``g / 2 ~ Beta(a + s/2, a)``:
    the local exponent is ``alpha = d - 1 + s`` and ``beta*_n ~ n^{2/alpha}``.
    Keys are drawn as ``k = (1 - g) q + sqrt(g (2 - g)) u`` with the gap from
    its quantile and ``u`` uniform on the unit sphere orthogonal to ``q``.

    Examples:
        >>> import jax
        >>> law = PowerDensity(4, 1.0)
        >>> law.sample(jax.random.key(0), 3).shape, law.local_exponent
        ((3, 4), 4.0)
    """

    d: int = eqx.field(static=True)
    s: float = eqx.field(static=True)

    def __check_init__(self):
        check_int("d", self.d, minimum=2)
        check_real("s", self.s)
        if not self.s > -(self.d - 1):
            raise ArgumentValueError(f"s must be > -(d - 1) = {-(self.d - 1)}, got {self.s}")

    @property
    def dim(self) -> int:
        return self.d

    @property
    def _shapes(self) -> tuple[float, float]:
        a = (self.d - 1) / 2.0
        return a + self.s / 2.0, a

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        n = check_sample(key, n)
        u = jax.random.uniform(key, (n,), dtype or default_float(), minval=jnp.finfo(dtype or default_float()).tiny)
        return self.gap_quantile(jnp.log(u), jnp.log1p(-u))

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        return _keys_from_gaps(key, self.sample_gaps(key, n, dtype), self.d)


def as_law(name: str, d_or_law) -> AbstractLaw:
    """A law, or ``UniformSphere(d)`` for an int ``d >= 2`` (the shorthand every
    function about a law accepts)."""
    if isinstance(d_or_law, AbstractLaw):
        return d_or_law
    if not isinstance(d_or_law, numbers.Real | np.ndarray):
        kind = type(d_or_law).__name__
        message = f"{name} must be a context law such as UniformSphere(d) or an integer d >= 2, got {kind}"
        raise ArgumentTypeError(message)
    return UniformSphere(check_int(name, d_or_law, minimum=2))
