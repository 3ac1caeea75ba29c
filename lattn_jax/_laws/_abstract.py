"""Context laws: what a random context of keys is.

A law is an equinox Module that samples ``n`` keys on the sphere and names a
default query. Scalar observables of one query only need the *gaps*
``g = 1 - <q, k>`` (``= |q - k|^2 / 2`` on the sphere), so a law may also expose
the exact law of one gap; the estimators then skip the d-dimensional keys and,
at large ``n``, draw only the smallest gaps exactly (order statistics).

To add a law subclass [`AbstractLaw`][lattn_jax.AbstractLaw] and implement ``dim``, ``sample``
and ``query``; override ``sample_gaps`` when gaps are cheaper than keys. When
the gap law is known in closed form, subclass
[`AbstractGapLaw`][lattn_jax.AbstractGapLaw] instead: its density, CDF,
quantile and small-gap expansion give order statistics and the theory.
"""

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._validation import ArgumentTypeError, check_key, check_sizes


def check_sample(key, n, minimum: int = 1) -> int:
    """Eager checks of a sampler's ``key`` and ``n >= minimum`` (``ValueError``/``TypeError``
    naming them); returns ``n`` as an int."""
    check_key("key", key)
    return check_sizes("n", n, minimum=minimum, integer=True)


class AbstractLaw(eqx.Module):
    """A law of random contexts: ``n`` i.i.d. keys on ``S^{d-1}`` and a query.

    Subclass it with ``dim``, ``query`` and ``sample`` (see the tutorial "Define
    your own context law"); every estimator then accepts the new law.

    Examples:
        >>> import jax
        >>> import jax.numpy as jnp
        >>> class NorthPole(AbstractLaw):  # every key at the query: a degenerate law
        ...     @property
        ...     def dim(self):
        ...         return 2
        ...     def query(self, dtype=None):
        ...         return jnp.array([1.0, 0.0], dtype)
        ...     def sample(self, key, n, dtype=None):
        ...         return jnp.tile(self.query(dtype), (n, 1))
        >>> NorthPole().sample_gaps(jax.random.key(0), 3).tolist()
        [0.0, 0.0, 0.0]
    """

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

    @property
    def local_exponent(self) -> float | None:
        """``alpha`` in ``P(|k - q| <= r) ~ c r^alpha`` as ``r -> 0``, or ``None``
        when unknown (then [`estimate_local_exponent`][lattn_jax.estimate_local_exponent]
        measures it from keys). Override it when you know it."""
        return None


def check_law(name: str, law) -> None:
    """A context law (an ``AbstractLaw`` instance), else ``TypeError`` naming ``name``."""
    if not isinstance(law, AbstractLaw):
        raise ArgumentTypeError(
            f"{name} must be a context law such as UniformSphere(d), got {type(law).__name__}", argument=name
        )


class AbstractGapLaw(AbstractLaw):
    """A law whose gap ``g = 1 - <q, k>`` to its query has a known law: the
    estimators then draw only the smallest gaps exactly (order statistics, any
    ``n`` at O(head) cost) and the theory (``critical_constant``, ``exact_*``,
    ``limit_*``) applies. Subclass it with the four gap methods besides
    ``dim``, ``query`` and ``sample``; ``local_exponent`` follows from
    ``small_gap_expansion``. The tutorial "Define your own context law" builds one.

    Examples:
        >>> import lattn_jax as lj
        >>> law = lj.UniformSphere(4)  # gap / 2 ~ Beta(3/2, 3/2)
        >>> isinstance(law, lj.AbstractGapLaw), law.local_exponent, law.small_gap_expansion()[0]
        (True, 3.0, 1.5)
    """

    @property
    def local_exponent(self) -> float:
        """``alpha = 2 a`` from ``small_gap_expansion`` (``P(gap <= u) ~ c u^a``, ``|k - q| = sqrt(2 gap)``)."""
        return 2.0 * self.small_gap_expansion()[0]

    @abc.abstractmethod
    def gap_log_density(self, g: Array) -> Array:
        """Log density of one gap."""

    @abc.abstractmethod
    def gap_log_cdf_pair(self, g: Array) -> tuple[Array, Array]:
        """``(log P(gap <= g), log P(gap > g))``, both accurate in their tails."""

    @abc.abstractmethod
    def gap_quantile(self, log_u: Array, log_1mu: Array) -> Array:
        """Gap quantile at ``u``, given ``log u`` and ``log(1 - u)``."""

    @abc.abstractmethod
    def small_gap_expansion(self) -> tuple[float, float, float]:
        """``(a, c, b)`` with ``P(gap <= u) = c u^a (1 + b u + O(u^2))`` as ``u -> 0``.

        ``a = alpha / 2`` (``alpha`` the local exponent of the distance
        ``|k - q| = sqrt(2 gap)``) sets the critical exponent ``1 / a``; ``c``
        sets the critical constant and ``b`` the leading finite-size correction.
        """
