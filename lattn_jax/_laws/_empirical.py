"""Real keys: a context law that resamples a user's array of keys, and an
estimator of the local exponent ``alpha`` of their distance-to-query law.

The theory only needs the law of the distance ``r = |k - q|`` near zero:
``P(r <= x) ~ c x^alpha`` gives ``beta*_n ~ n^{2/alpha}``. For keys dumped
from a model that exponent is unknown; [`estimate_local_exponent`][lattn_jax.estimate_local_exponent]
measures it from the keys nearest the query.
"""

import functools
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_bool,
    check_dtype,
    check_int,
    default_float,
)
from ._abstract import AbstractLaw, check_sample

_LAGUERRE_NODES = 96


def check_keys(keys, name: str = "keys") -> np.ndarray:
    """``keys`` as a float64 ``(N, d)`` NumPy array, or a clear error: the array
    must be 2-D with ``N >= 2`` keys of dimension ``d >= 2``, of a float dtype,
    finite, and without zero vectors (a zero key has no direction)."""
    arr = np.asarray(keys)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ArgumentTypeError(f"{name} must be a float array, got dtype {arr.dtype}", argument="keys")
    if arr.ndim != 2:
        raise ArgumentValueError(
            f"{name} must be a 2-D array of shape (N keys, d), got shape {arr.shape}", argument="keys"
        )
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        raise ArgumentValueError(
            f"{name} must hold N >= 2 keys of dimension d >= 2, got shape {arr.shape}", argument="keys"
        )
    arr = arr.astype(np.float64)
    bad = ~np.all(np.isfinite(arr), axis=1)
    if bad.any():
        raise ArgumentValueError(
            f"{name} has NaN or inf in {int(bad.sum())} rows (first: row {int(np.argmax(bad))})", argument="keys"
        )
    zero = ~np.any(arr != 0, axis=1)
    if zero.any():
        first = int(np.argmax(zero))
        raise ArgumentValueError(
            f"{name} has {int(zero.sum())} zero vectors (first: row {first}); a zero key has no direction",
            argument="keys",
        )
    return arr


def load_keys(path: str | Path) -> np.ndarray:
    """Keys from a ``.npy`` file: a float ``(N, d)`` array, finite, no zero rows
    (see ``check_keys``); errors name the file and the problem.

    Examples:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "keys.npy")
        >>> np.save(path, np.eye(3))
        >>> load_keys(path).shape
        (3, 3)
    """
    if not isinstance(path, str | Path):
        raise ArgumentTypeError(f"path must be a str or pathlib.Path such as 'keys.npy', got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise ArgumentValueError(f"keys file {str(path)!r} does not exist")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ArgumentValueError(f"{str(path)!r} is not a plain .npy array ({err})") from None
    except (OSError, EOFError) as err:
        raise ArgumentValueError(f"cannot read {str(path)!r} as .npy ({err})") from None
    if not isinstance(arr, np.ndarray):
        raise ArgumentValueError(
            f"{str(path)!r} holds an archive of several arrays; save one (N, d) array with np.save"
        )
    return check_keys(arr, f"keys in {str(path)!r}")


def _unit_query(query, d: int, keys: np.ndarray) -> np.ndarray:
    if query is None:
        mean = keys.mean(axis=0)
        norm = np.linalg.norm(mean)
        if not norm > 0:
            raise ArgumentValueError("the keys average to zero; pass a query")
        return mean / norm
    q = np.asarray(query)
    if not np.issubdtype(q.dtype, np.number) or np.issubdtype(q.dtype, np.complexfloating):
        raise ArgumentTypeError(f"query must be a real vector, got dtype {q.dtype}", argument="query")
    if q.shape != (d,):
        raise ArgumentValueError(f"query must have shape ({d},) like a key, got {q.shape}", argument="query")
    q = q.astype(np.float64)
    norm = np.linalg.norm(q)
    if not (np.all(np.isfinite(q)) and norm > 0):
        raise ArgumentValueError("query must be finite and nonzero", argument="query")
    return q / norm


def _unit_gaps(keys, query) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit keys, unit query and the gaps ``|q - k|^2 / 2``, all in float64."""
    arr = check_keys(keys)
    unit = arr / np.linalg.norm(arr, axis=1, keepdims=True)
    q = _unit_query(query, arr.shape[1], unit)
    diff = unit - q
    return unit, q, 0.5 * np.einsum("ij,ij->i", diff, diff)


class EmpiricalKeys(AbstractLaw):
    """Contexts resampled from a user's keys: ``n`` distinct rows of ``keys``
    drawn uniformly (without replacement, so ``n <= N``; with ``replace=True``
    with replacement, any ``n``), e.g. keys dumped from one attention head,
    scored against ``query``.

    Keys and query are projected onto the unit sphere (only directions matter
    here; the norms of real keys and queries belong in ``beta``). The default
    query is the normalised mean key. With replacement a context repeats a key
    with probability about ``n^2 / (2N)``, and a repeated nearest key halves
    the max weight (on the bundled example keys, ``N = 8000``, ``beta*`` at
    ``n = 800`` is 57.8 with replacement and 56.9 without:
    ``docs/tutorials/real_keys.py`` with and without ``replace=True``). Either
    way a fixed population of ``N`` keys is not the continuous law it was drawn
    from once ``n`` is a sizeable fraction of ``N``: keep
    ``n`` well below ``N`` when the keys stand for a continuous law. Sampling
    without replacement costs O(N) per context (a random permutation). There
    is no closed-form gap law, so estimators use the dense method.

    Examples:
        >>> import jax
        >>> import numpy as np
        >>> keys = np.random.default_rng(0).normal(size=(1000, 4))
        >>> law = EmpiricalKeys(keys, query=np.array([1.0, 0.0, 0.0, 0.0]))
        >>> law.sample(jax.random.key(0), 5).shape, law.dim
        ((5, 4), 4)
    """

    keys: Float[Array, "N d"]
    q: Float[Array, " d"]
    gaps: Float[Array, " N"]
    replace: bool = eqx.field(static=True)

    def __init__(self, keys: ArrayLike, query: ArrayLike | None = None, replace: bool = False):
        unit, q, gaps = _unit_gaps(keys, query)
        if not isinstance(replace, bool):
            raise ArgumentTypeError(f"replace must be True or False, got {replace!r}")
        self.replace = replace
        dtype = default_float()
        self.keys = jnp.asarray(unit.astype(dtype))
        self.q = jnp.asarray(q.astype(dtype))
        self.gaps = jnp.asarray(gaps.astype(dtype))

    @property
    def dim(self) -> int:
        return self.keys.shape[1]

    @property
    def size(self) -> int:
        """``N``, the number of stored keys."""
        return self.keys.shape[0]

    def query(self, dtype=None) -> Float[Array, " d"]:
        return self.q.astype(dtype or default_float())

    def _indices(self, key: PRNGKeyArray, n: int, dtype) -> Array:
        n = check_sample(key, n)
        check_dtype("dtype", dtype)
        if self.replace:
            return jax.random.randint(key, (n,), 0, self.size)
        if n > self.size:
            raise ArgumentValueError(f"n = {n} exceeds the N = {self.size} keys; use EmpiricalKeys(..., replace=True)")
        return jax.random.choice(key, self.size, (n,), replace=False)

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        return self.keys[self._indices(key, n, dtype)].astype(dtype or default_float())

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        return self.gaps[self._indices(key, n, dtype)].astype(dtype or default_float())


class LocalExponent(eqx.Module):
    """An estimate of the local exponent ``alpha`` of the distance-to-query law.

    Attributes:
        alpha: the estimate.
        stderr: its standard error (inverse Fisher information of the fitted model).
        k: keys used (the ``k`` nearest to the query).
        radius: distance ``|k - q|`` of the ``(k+1)``-th nearest key: the scale
            below which the estimate holds.
        curvature: whether the sphere's curvature was modelled.

    Examples:
        >>> est = LocalExponent(alpha=4.0, stderr=0.1, k=100, radius=0.2, curvature=True)
        >>> est.critical_exponent, round(est.critical_exponent_stderr, 4)  # 2 / alpha, 2 stderr / alpha^2
        (0.5, 0.0125)
    """

    alpha: float
    stderr: float
    k: int
    radius: float
    curvature: bool

    @property
    def critical_exponent(self) -> float:
        """The predicted exponent ``2 / alpha`` of ``beta*_n ~ n^{2/alpha}``."""
        return 2.0 / self.alpha

    @property
    def critical_exponent_stderr(self) -> float:
        """Its standard error ``2 stderr / alpha^2`` (delta method)."""
        return 2.0 * self.stderr / self.alpha**2


@functools.cache
def _laguerre(num: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.laguerre.laggauss(num)


def _truncated_beta_moments(a: float, x: float) -> tuple[float, float]:
    """Mean and variance of ``t(u) = log u + log(1 - u)`` for ``u`` with density
    ``∝ u^{a-1} (1 - u)^{a-1}`` on ``(0, x)``, ``x < 1``. With ``u = x e^{-y/a}``
    the weight is ``e^{-y} (1 - x e^{-y/a})^{a-1} dy`` on ``(0, inf)``: a smooth
    factor on Gauss–Laguerre's weight."""
    y, w = _laguerre(_LAGUERRE_NODES)
    v = x * np.exp(-y / a)
    log_1mv = np.log1p(-v)
    weights = w * np.exp((a - 1.0) * log_1mv)
    weights /= weights.sum()
    t = np.log(x) - y / a + log_1mv
    mean = float(np.sum(weights * t))
    return mean, float(np.sum(weights * (t - mean) ** 2))


def estimate_local_exponent(
    keys: "ArrayLike | EmpiricalKeys",
    query: ArrayLike | None = None,
    *,
    k: int | None = None,
    curvature: bool = True,
) -> LocalExponent:
    """Maximum-likelihood estimate of ``alpha`` in ``P(|k - q| <= r) ~ c r^alpha``
    from the ``k`` keys nearest the query, with its standard error.

    Model: near the query the keys look like keys spread uniformly over an
    ``alpha``-dimensional great subsphere through ``q`` (``alpha = d - 1`` for
    uniform keys on ``S^{d-1}``). The half-gap ``u = |q - k|^2 / 4`` then has
    density ``∝ u^{a-1} (1 - u)^{a-1}``, ``a = alpha / 2`` (``u ~ Beta(a, a)``
    for uniform keys); the factor ``(1 - u)^{a-1}`` is the sphere's curvature.
    Given the ``(k+1)``-th smallest half-gap ``x``, the ``k`` smaller ones are
    i.i.d. from that density truncated to ``(0, x)``: an exponential family in
    ``a`` with statistic ``t = log u + log(1 - u)``, so the MLE matches
    ``E_a[t] = mean(t_i)`` (solved by Newton's method; the truncated moments by
    Gauss–Laguerre quadrature in float64) and ``stderr(alpha) = 2 / sqrt(k
    Var_a[t])``. The estimate is exact in law for uniform keys on a great
    subsphere (any ``k``); for other keys it assumes the density is flat over
    the ``k`` nearest keys, so keep ``k`` a small fraction of ``N``.

    With ``curvature=False`` the factor ``(1 - u)^{a-1}`` is dropped: the
    plain nearest-neighbour (Hill / Levina–Bickel at the query) estimator
    ``alpha = 2 k / sum_i log(x / u_i)``, biased low in high dimension unless
    ``k`` is tiny.

    Args:
        keys: an ``(N, d)`` float array (or an [`EmpiricalKeys`][lattn_jax.EmpiricalKeys], whose
            query is the default).
        query: the query vector ``(d,)`` (default: the normalised mean key).
        k: keys used, ``10 <= k < N`` (default ``min(2000, N // 10)``, at least 10).
        curvature: model the sphere's curvature (default) or not.

    Returns:
        A [`LocalExponent`][lattn_jax.LocalExponent]; ``.critical_exponent`` is ``2 / alpha``.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(50_000, 4))
        >>> est = estimate_local_exponent(x, np.array([1.0, 0.0, 0.0, 0.0]))  # alpha = 3
        >>> bool(abs(est.alpha - 3.0) < 4 * est.stderr), round(est.stderr, 2)
        (True, 0.07)
    """
    curvature = check_bool("curvature", curvature)
    if isinstance(keys, EmpiricalKeys):
        query = keys.q if query is None else query
        keys = keys.keys
    _, _, gaps = _unit_gaps(keys, query)
    size = gaps.shape[0]
    if k is None:
        k = max(10, min(2000, size // 10))
    k = check_int("k", k, minimum=10)
    if k >= size:
        raise ArgumentValueError(f"k must be below the number of keys N = {size}, got {k}")
    half = np.partition(gaps / 2.0, k)[: k + 1]
    half.sort()
    x, u = half[k], half[:k]
    if not u[0] > 0:
        raise ArgumentValueError("a key coincides with the query (zero distance); drop it or pick another query")
    if not x < 1:
        raise ArgumentValueError(f"the {k + 1} nearest keys reach the antipode of the query; use a smaller k")
    hill = k / np.sum(np.log(x / u))  # the MLE of a for density ∝ u^{a-1} on (0, x)
    if not curvature:
        a, se_a = hill, hill / np.sqrt(k)
    else:
        target = float(np.mean(np.log(u) + np.log1p(-u)))
        a = hill
        for _ in range(100):
            mean, var = _truncated_beta_moments(a, x)
            step = (target - mean) / var
            a_new = a + step if a + step > 0 else a / 2
            done = abs(a_new - a) <= 1e-12 * a
            a = a_new
            if done:
                break
        _, var = _truncated_beta_moments(a, x)
        se_a = 1.0 / np.sqrt(k * var)
    return LocalExponent(float(2 * a), float(2 * se_a), k, float(np.sqrt(4 * x)), curvature)
