"""Context laws: what a random context of keys is.

A law is an equinox Module that samples ``n`` keys on the sphere and names a
default query. Scalar observables of one query only need the *gaps*
``g = 1 - <q, k>`` (``= |q - k|^2 / 2`` on the sphere), so a law may also expose
the exact law of one gap; the estimators then skip the d-dimensional keys and,
at large ``n``, draw only the smallest gaps exactly (order statistics).

To add a law subclass :class:`AbstractLaw` and implement ``sample`` and
``query``; override ``sample_gaps`` when gaps are cheaper than keys, and set
``has_gap_law = True`` with ``gap_log_density``, ``gap_log_cdf_pair`` and
``gap_quantile`` when the gap law is known in closed form.
"""

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import betaln
from jaxtyping import Array, Float, PRNGKeyArray

from ._special import log_betainc_lower, symmetric_beta_quantile
from ._validation import check_int, check_key


def default_float():
    """The float dtype JAX uses now (float64 only when x64 is enabled)."""
    return jnp.result_type(float)


class AbstractLaw(eqx.Module):
    """A law of random contexts: ``n`` i.i.d. keys on ``S^{d-1}`` and a query."""

    has_gap_law: ClassVar[bool] = False
    """Whether the gap law is known (density, CDF, quantile)."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The ambient dimension ``d`` of the keys."""

    @abc.abstractmethod
    def query(self, dtype=None) -> Float[Array, " d"]:
        """The law's default query, a fixed unit vector."""

    @abc.abstractmethod
    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        """``n`` i.i.d. keys."""

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        """The ``n`` gaps ``|q - k|^2 / 2`` of sampled keys to the default query."""
        keys = self.sample(key, n, dtype)
        diff = keys - self.query(keys.dtype)
        return 0.5 * jnp.sum(diff * diff, axis=-1)

    @property
    def gap_max(self) -> float:
        """The largest possible gap (2 on the whole sphere)."""
        return 2.0

    def gap_log_density(self, g: Array) -> Array:
        """Log density of one gap."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gap law")

    def gap_log_cdf_pair(self, g: Array) -> tuple[Array, Array]:
        """``(log P(gap <= g), log P(gap > g))``, both accurate in their tails."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gap law")

    def gap_quantile(self, log_u: Array, log_1mu: Array) -> Array:
        """Gap quantile at ``u``, given ``log u`` and ``log(1 - u)``."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gap law")


class UniformSphere(AbstractLaw):
    """``n`` i.i.d. keys uniform on the unit sphere ``S^{d-1}`` in ``R^d``.

    The query is ``e_1``. The gap ``g = 1 - <q, k>`` satisfies
    ``g / 2 ~ Beta(a, a)`` with ``a = (d - 1) / 2``, so near zero
    ``P(g <= u) ~ (u/2)^a / (a B(a, a))``: the local exponent of the distance
    ``|k - q| = sqrt(2 g)`` is ``alpha = d - 1``.

    Example:
        >>> import jax
        >>> law = UniformSphere(3)
        >>> law.sample(jax.random.key(0), 5).shape
        (5, 3)
        >>> law.local_exponent
        2.0
    """

    d: int = eqx.field(static=True)
    has_gap_law: ClassVar[bool] = True

    def __check_init__(self):
        check_int("d", self.d, minimum=2)

    @property
    def dim(self) -> int:
        return self.d

    @property
    def local_exponent(self) -> float:
        """``alpha`` in ``P(|k - q| <= r) ~ c r^alpha`` as ``r -> 0``."""
        return float(self.d - 1)

    @property
    def _a(self) -> float:
        return (self.d - 1) / 2.0

    def query(self, dtype=None) -> Float[Array, " d"]:
        dtype = dtype or default_float()
        return jnp.zeros((self.d,), dtype).at[0].set(1.0)

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        check_key("key", key)
        n = check_int("n", n, minimum=1)
        x = jax.random.normal(key, (n, self.d), dtype or default_float())
        return x / jnp.linalg.norm(x, axis=-1, keepdims=True)

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        check_key("key", key)
        n = check_int("n", n, minimum=1)
        # 1 - x1/|x| without cancellation: r^2 / (|x| (|x| + x1)) when x1 > 0.
        x = jax.random.normal(key, (n, self.d), dtype or default_float())
        x1 = x[:, 0]
        r2 = jnp.sum(x[:, 1:] ** 2, axis=-1)
        norm = jnp.sqrt(x1 * x1 + r2)
        return jnp.where(x1 > 0, r2 / (norm * (norm + jnp.abs(x1))), (norm - x1) / norm)

    def gap_log_density(self, g: Array) -> Array:
        a = self._a
        half = g / 2.0
        inside = (g > 0) & (g < 2)
        half = jnp.where(inside, half, 0.5)
        log_f = (a - 1.0) * (jnp.log(half) + jnp.log1p(-half)) - betaln(a, a) - jnp.log(2.0)
        return jnp.where(inside, log_f, -jnp.inf)

    def gap_log_cdf_pair(self, g: Array) -> tuple[Array, Array]:
        a = self._a
        tiny = jnp.finfo(jnp.result_type(g)).tiny
        lower = g <= 1.0
        x = jnp.clip(jnp.where(lower, g, 2.0 - g) / 2.0, tiny, 0.5)
        log_near = log_betainc_lower(a, a, x)  # the tail on the near side
        log_far = jnp.log1p(-jnp.exp(log_near))
        return jnp.where(lower, log_near, log_far), jnp.where(lower, log_far, log_near)

    def gap_quantile(self, log_u: Array, log_1mu: Array) -> Array:
        return 2.0 * symmetric_beta_quantile(self._a, log_u, log_1mu)
