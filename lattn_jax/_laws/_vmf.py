"""Non-uniform context laws: von Mises–Fisher keys and mixtures of them.

The vMF law ``vMF(mu, kappa)`` on ``S^{d-1}`` has density
``rho(x) = e^{kappa <mu, x>} / M_d(kappa)`` with respect to the uniform
probability measure (``M_d(kappa) = E_unif[e^{kappa <mu, x>}]``, see
[`lattn_jax.theory.log_partition`][lattn_jax.theory.log_partition]). Sampling is exact, by Wood's (1994)
rejection algorithm for ``w = <mu, x>`` (envelope ``Beta((d-1)/2, (d-1)/2)``,
drawn from ``d`` normals rather than with the slow ``jax.random.beta``;
8 proposals per key at once, repeated until all are accepted: the acceptance
rate exceeds 1/2 for every ``kappa``), written in
terms of ``1 - w`` so that concentrated laws (``kappa`` up to ~1e8 in float32)
keep their small gaps. These laws have no closed-form gap law: estimators use
the dense method.
"""

import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp, ndtri
from jaxtyping import Array, Float, PRNGKeyArray

from .._numerics._bessel import bessel_ratio_parts
from .._validation import ArgumentValueError, default_float
from ._abstract import AbstractLaw, check_sample


def _log_partition(d: int, kappa: Array) -> Array:
    """``log M_d(kappa)`` (the vMF normalizer relative to the uniform law)."""
    return bessel_ratio_parts(d / 2.0 - 1.0, kappa)[2]


def _unit(x: Array) -> Array:
    return x / jnp.linalg.norm(x, axis=-1, keepdims=True)


_TRIES = 8  # proposals per key per round; each key fails a round with probability < 0.5**8


def _wood_one_minus_w(key: PRNGKeyArray, kappa: Float[Array, " n"], d: int, dtype) -> Float[Array, " n"]:
    """``1 - <mu, x>`` for ``x ~ vMF(mu, kappa_i)`` on ``S^{d-1}``, one per entry
    of ``kappa`` (Wood 1994). Each round makes ``_TRIES`` proposals per key and
    keeps the first accepted; rounds repeat until every key has one (exact)."""
    m1 = d - 1.0
    b = (m1 / (2.0 * kappa + jnp.sqrt(4.0 * kappa * kappa + m1 * m1)))[:, None]
    one_minus_x0 = 2.0 * b / (1.0 + b)  # x0 = (1 - b) / (1 + b)
    x0 = 1.0 - one_minus_x0
    log_c_part = jnp.log(one_minus_x0) + jnp.log1p(x0)  # log(1 - x0^2)
    kappa = kappa[:, None]
    n = kappa.shape[0]

    def propose(key):
        # One draw of uniforms for all the random bits (each threefry call costs compile time).
        bits = jax.random.uniform(key, (n, _TRIES, d + 1), dtype, minval=jnp.finfo(dtype).tiny)
        x = ndtri(bits[..., :d])
        norm = jnp.linalg.norm(x, axis=-1)
        s = x[..., 0] / norm
        # Z = (1 + s)/2 ~ Beta((d-1)/2, (d-1)/2); 1 - Z = (1 - s)/2 without cancellation.
        r2 = jnp.sum(x[..., 1:] ** 2, axis=-1)
        one_minus_s = jnp.where(x[..., 0] > 0, r2 / (norm * (norm + jnp.abs(x[..., 0]))), 1.0 - s)
        z = 0.5 * (1.0 + s)
        denom = 0.5 * one_minus_s + b * z  # 1 - (1 - b) Z
        one_minus_w = 2.0 * b * z / denom
        # accept when kappa (W - x0) + (d-1) log((1 - x0 W) / (1 - x0^2)) >= log U
        log_ratio = kappa * (one_minus_x0 - one_minus_w) + m1 * (jnp.log(one_minus_x0 + x0 * one_minus_w) - log_c_part)
        accept = log_ratio >= jnp.log(bits[..., d])
        first = jnp.argmax(accept, axis=1)
        return jnp.take_along_axis(one_minus_w, first[:, None], axis=1)[:, 0], jnp.any(accept, axis=1)

    def cond(state):
        return ~jnp.all(state[2])

    def body(state):
        key, value, done = state
        key, sub = jax.random.split(key)
        new, accepted = propose(sub)
        return key, jnp.where(done, value, new), done | accepted

    init = (key, jnp.zeros((n,), dtype), jnp.zeros((n,), bool))
    return jax.lax.while_loop(cond, body, init)[1]


def _sample_vmf(key: PRNGKeyArray, means: Float[Array, "n d"], kappas: Float[Array, " n"], dtype) -> Array:
    """Key ``i`` from ``vMF(means[i], kappas[i])``: ``w mu + sqrt(1 - w^2) v``, ``v``
    uniform on the unit sphere orthogonal to ``mu``."""
    k_w, k_v = jax.random.split(key)
    one_minus_w = _wood_one_minus_w(k_w, kappas, means.shape[1], dtype)[:, None]
    y = ndtri(jax.random.uniform(k_v, means.shape, dtype, minval=jnp.finfo(dtype).tiny))
    v = _unit(y - jnp.sum(y * means, axis=1, keepdims=True) * means)
    return (1.0 - one_minus_w) * means + jnp.sqrt(one_minus_w * (2.0 - one_minus_w)) * v


def _default_query(d: int, dtype) -> Array:
    return jnp.zeros((d,), dtype).at[0].set(1.0)


class VonMisesFisherMixture(AbstractLaw):
    """Keys from a mixture of von Mises–Fisher laws on ``S^{d-1}``:
    ``rho(x) = sum_j p_j e^{kappa_j <mu_j, x>} / M_d(kappa_j)`` (density with
    respect to the uniform probability measure).

    Args:
        means: ``(m, d)`` mean directions (normalized on construction).
        kappas: ``(m,)`` concentrations ``>= 0``.
        weights: ``(m,)`` mixture weights ``> 0`` (normalized on construction).
        query_point: the default query (normalized); ``e_1`` when omitted.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> law = VonMisesFisherMixture(jnp.eye(3)[:2], jnp.array([5.0, 5.0]), jnp.array([1.0, 1.0]))
        >>> law.sample(jax.random.key(0), 4).shape
        (4, 3)
    """

    means: Float[Array, "m d"]
    kappas: Float[Array, " m"]
    weights: Float[Array, " m"]
    query_point: Float[Array, " d"]

    def __init__(self, means, kappas, weights, query_point=None):
        means = jnp.asarray(means, default_float())
        if means.ndim != 2 or means.shape[1] < 2 or means.shape[0] < 1:
            raise ArgumentValueError(f"means must have shape (m, d) with m >= 1 and d >= 2, got {means.shape}")
        kappas = jnp.asarray(kappas, means.dtype)
        weights = jnp.asarray(weights, means.dtype)
        if kappas.shape != (means.shape[0],) or weights.shape != (means.shape[0],):
            raise ArgumentValueError(
                f"kappas and weights must have shape ({means.shape[0]},), got {kappas.shape} and {weights.shape}"
            )
        if not bool(jnp.all(jnp.isfinite(kappas)) & jnp.all(kappas >= 0)):
            raise ArgumentValueError(f"kappas must be finite and >= 0, got {kappas}")
        if not bool(jnp.all(jnp.isfinite(weights)) & jnp.all(weights > 0)):
            raise ArgumentValueError(f"weights must be finite and > 0, got {weights}")
        norms = jnp.linalg.norm(means, axis=1, keepdims=True)
        if not bool(jnp.all(norms > 0)):
            raise ArgumentValueError("means must be nonzero vectors")
        d = means.shape[1]
        query_point = _default_query(d, means.dtype) if query_point is None else jnp.asarray(query_point, means.dtype)
        if query_point.shape != (d,) or not float(jnp.linalg.norm(query_point)) > 0:
            raise ArgumentValueError(f"query_point must be a nonzero vector of shape ({d},), got {query_point.shape}")
        self.means = means / norms
        self.kappas = kappas
        self.weights = weights / jnp.sum(weights)
        self.query_point = _unit(query_point)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def query(self, dtype=None) -> Float[Array, " d"]:
        return self.query_point.astype(dtype or default_float())

    def log_density(self, x: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """``log rho(x)`` with respect to the uniform probability measure on
        ``S^{d-1}`` (0 for the uniform law); defined for any ``x`` in ``R^d`` by
        the same formula, so ``jax.grad`` projected on the tangent space is the
        spherical gradient."""
        dtype = x.dtype
        log_norm = _log_partition(self.dim, self.kappas.astype(dtype))
        terms = jnp.log(self.weights.astype(dtype)) + self.kappas.astype(dtype) * (x @ self.means.T.astype(dtype))
        return logsumexp(terms - log_norm, axis=-1)

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        n = check_sample(key, n)
        return _sample_mixture(self, key, n, dtype or default_float())


@functools.partial(jax.jit, static_argnums=(2, 3))
def _sample_mixture(law: VonMisesFisherMixture, key: PRNGKeyArray, n: int, dtype) -> Float[Array, "n d"]:
    """``n`` keys of ``law``, one compilation per number of components, ``d``,
    ``n`` and dtype (op by op, the rejection loop compiled again on every call)."""
    k_comp, k_keys = jax.random.split(key)
    comp = jax.random.categorical(k_comp, jnp.log(law.weights), shape=(n,))
    means = law.means.astype(dtype)[comp]
    kappas = law.kappas.astype(dtype)[comp]
    return _sample_vmf(k_keys, means, kappas, dtype)


class VonMisesFisher(VonMisesFisherMixture):
    """Keys from one von Mises–Fisher law ``vMF(mean, kappa)`` on ``S^{d-1}``:
    density ``e^{kappa <mean, x>} / M_d(kappa)`` with respect to the uniform
    probability measure; ``E[x] = A_d(kappa) mean``.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> law = VonMisesFisher(jnp.array([0.0, 1.0, 0.0]), 20.0)
        >>> x = law.sample(jax.random.key(0), 20000)
        >>> round(float(x[:, 1].mean()), 2)  # A_3(20) = coth(20) - 1/20
        0.95
    """

    def __init__(self, mean, kappa, query_point=None):
        mean = jnp.asarray(mean, default_float())
        if mean.ndim != 1:
            raise ArgumentValueError(f"mean must be a vector of shape (d,), got {mean.shape}")
        super().__init__(mean[None, :], jnp.reshape(jnp.asarray(kappa, mean.dtype), (1,)), jnp.ones((1,)), query_point)
