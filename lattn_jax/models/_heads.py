"""Per-head analysis of real attention: where each head of a model sits against
the critical scale, from the query and key pools of [`gather_pools`][lattn_jax.models.gather_pools].

For a head with query pool ``Q`` and key pool ``K`` (raw projections), the
scores are ``s_i = <q, k_i> / sqrt(d_h)`` and the logits ``t s_i``: ``t = 1``
is the model's own scale. A random context is one query drawn from the pool
attending to ``n`` keys drawn i.i.d. (with replacement) from the pool. With
``m(q)`` the query's largest score over the pool, the gaps ``g_i = m(q) - s_i``
give logits ``-t g_i`` up to a constant, so ``t`` plays the role of ``beta``
and the library's estimators and critical search apply unchanged
([`HeadScores`][lattn_jax.models.HeadScores] is that context law).

Per head, [`analyze_heads`][lattn_jax.models.analyze_heads] measures ``t*(n)`` (``E[max weight] = level``),
the selectivity horizon ``n_h`` (where ``t = 1`` stops being selective), fits
three scaling laws to ``t*(n)``, estimates the local exponent ``alpha`` of the
top of the score law, places the published temperature schedules against
``t*(n)``, and compares the model's own attention at its real lengths with
the i.i.d. prediction. The result is a [`HeadReport`][lattn_jax.models.HeadReport].
"""

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

from .._critical import find_critical_beta
from .._estimators import mc_estimate, mc_estimates
from .._fit import fit_power_law
from .._laws import AbstractLaw
from .._laws._empirical import LocalExponent
from .._observables import entropy, max_weight
from .._schedules._regime import DEFAULT_BAND, classify
from .._schedules._schedule import AbstractSchedule, Llama4, LongRoPE, QwenLogN, ScalableSoftmax, YaRN
from .._validation import (
    ArgumentTypeError,
    ArgumentValueError,
    check_bool,
    check_int,
    check_key,
    check_open_unit,
    check_real,
    check_sizes,
    default_float,
)

if TYPE_CHECKING:
    from ._pools import HeadPools

LAWS = ("power", "sqrt-log", "log")
"""The scaling laws fitted to ``t*(n)``: ``C n^p``, ``C (log n)^{1/2}``, ``C log n``."""
LAW_FORMULAS = ("C n^p", "C (log n)^1/2", "C log n")
DEFAULT_NS = (100, 300, 1000, 3000, 10000)
SCHEDULE_NS = (1e3, 1e4, 1e5, 1e6)
TRAIN_LENGTH = 512
DEFAULT_NUM_CONTEXTS = 512
DEFAULT_NUM_QUERIES = 256
POOL_FRACTION = 10  # n at most (key pool size) / POOL_FRACTION
AIC_MARGIN = 2.0
HORIZON_MAX_LOG10 = 12.0
FLAGS = ("sink", "sharper", "flatter", "unconverged", "misfit")
"""Bits of ``HeadReport.flags``: ``1`` attention mass on [CLS]/[SEP] above 1/2;
``2``/``4`` the model's own max weight more than ``mismatch`` times above/below
the i.i.d. prediction (by more than 4 standard errors); ``8`` a ``t*`` search
that did not converge; ``16`` no law describes ``t*(n)``: even the preferred
one has ``chi2 > dof + 4 sqrt(2 dof)`` (4 standard deviations of chi2 above
its mean), or no fit was possible."""
_SCORE_ELEMENTS = 2**25  # float32 scores per head held at once (128 MiB)
_ALPHA_QUERIES = 64
_ENDPOINT_GRID = np.logspace(-7.0, 1.0, 161)


def published_schedules(train_length: float = TRAIN_LENGTH) -> dict[str, AbstractSchedule]:
    """The published length schedules as logit multipliers for a model trained at
    ``train_length`` keys: Qwen log-n, dynamic YaRN and LongRoPE (``s = n / L``),
    Scalable-Softmax normalised to 1 at ``L`` (the model was not trained with
    it, so ``s`` is the one that leaves its training length unchanged:
    ``ln n / ln L``) and Llama 4 with ``floor_scale = L`` (Llama 4 sets it to
    the length its layers attend over).

    Examples:
        >>> s = published_schedules(512)
        >>> [round(float(f(511.0)), 3) for f in s.values()]  # about 1 up to the training length
        [1.0, 1.0, 1.0, 1.0, 1.0]
        >>> round(float(s["qwen"](512.0**2)), 3)
        2.0
    """
    length = check_real("train_length", train_length)
    if not length > 1:
        raise ArgumentValueError(f"train_length must be > 1, got {train_length}")
    return {
        "qwen": QwenLogN(1.0, length),
        "yarn": YaRN(1.0, length),
        "longrope": LongRoPE(1.0, length),
        "ssmax": ScalableSoftmax(1.0 / (0.43 * math.log(length)), 0.43),
        "llama4": Llama4(1.0, 0.1, length),
    }


class HeadScores(AbstractLaw):
    """Contexts of one attention head: a query drawn uniformly from ``scores``'
    rows (one per query of the pool) and ``n`` keys drawn i.i.d. with
    replacement from its columns (the key pool; indices as 32-bit random
    words modulo ``N``, uniform up to ``N / 2^32``). Gaps are ``top - s``, the
    query's largest score over the pool minus the key's score, so
    ``beta`` is the multiplier ``t`` of the model's logits.

    There is no fixed query and no key vectors (only scores), so only the
    gap-based built-in observables work, with ``method="dense"``.

    Examples:
        >>> import jax
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> law = head_scores(rng.normal(size=(8, 4)), rng.normal(size=(1000, 4)), key=jax.random.key(0))
        >>> law.sample_gaps(jax.random.key(1), 5).shape, law.num_queries, law.num_keys
        ((5,), 8, 1000)
    """

    scores: Float[Array, "m N"]
    top: Float[Array, " m"]
    head_dim: int = eqx.field(static=True)

    @property
    def dim(self) -> int:
        return self.head_dim

    @property
    def num_queries(self) -> int:
        """Queries held (rows)."""
        return self.scores.shape[0]

    @property
    def num_keys(self) -> int:
        """``N``, the keys of the pool (columns)."""
        return self.scores.shape[1]

    def query(self, dtype=None) -> Float[Array, " d"]:
        raise NotImplementedError("HeadScores draws a random query per context; use the gap-based observables")

    def sample(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, "n d"]:
        raise NotImplementedError("HeadScores holds scores, not key vectors; use the gap-based observables")

    def sample_gaps(self, key: PRNGKeyArray, n: int, dtype=None) -> Float[Array, " n"]:
        check_key("key", key)
        n = check_sizes("n", n, minimum=1, integer=True)
        k_query, k_keys = jax.random.split(key)
        row = jax.random.randint(k_query, (), 0, self.num_queries)
        # Raw bits modulo N: 2.5x faster than randint (the cost of a context), bias below N / 2^32.
        idx = jax.random.bits(k_keys, (n,), jnp.uint32) % jnp.uint32(self.num_keys)
        return (self.top[row] - self.scores[row][idx]).astype(dtype or default_float())


@jax.jit
def _scores(queries, keys):
    s = (queries @ keys.T) / jnp.sqrt(jnp.asarray(keys.shape[-1], keys.dtype))
    return s, jnp.max(s, axis=1)


def head_scores(
    queries: Float[ArrayLike, "nq d"],
    keys: Float[ArrayLike, "N d"],
    *,
    num_queries: int | None = DEFAULT_NUM_QUERIES,
    key: PRNGKeyArray | None = None,
) -> HeadScores:
    """The [`HeadScores`][lattn_jax.models.HeadScores] law of one head: scores ``<q, k> / sqrt(d)`` of
    ``num_queries`` queries drawn without replacement from ``queries`` (all of
    them with ``None``, or when there are fewer) against every key, held in
    memory (``num_queries x N`` floats; capped at 2**25 floats).

    Examples:
        >>> import numpy as np
        >>> q, k = np.eye(2), np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> law = head_scores(q, k, num_queries=None)
        >>> [round(float(t), 4) for t in law.top]  # max_i <q, k_i> / sqrt(2)
        [1.4142, 0.7071]
    """
    q = _check_matrix("queries", queries)
    k = _check_matrix("keys", keys)
    if q.shape[1] != k.shape[1]:
        raise ArgumentValueError(
            f"queries and keys must have the same last axis (head_dim), got {q.shape} and {k.shape}"
        )
    if k.shape[0] < 2:
        raise ArgumentValueError(f"keys must hold at least 2 keys, got {k.shape[0]}")
    cap = max(1, _SCORE_ELEMENTS // k.shape[0])
    if num_queries is not None:
        num_queries = check_int("num_queries", num_queries, minimum=1)
    m = min(q.shape[0], cap, q.shape[0] if num_queries is None else num_queries)
    if m < q.shape[0]:
        if key is None:
            raise ArgumentValueError(
                "key is needed to draw a subset of the queries (num_queries < queries in the pool)"
            )
        check_key("key", key)
        q = q[jax.random.choice(key, q.shape[0], (m,), replace=False)]
    dtype = default_float()
    s, top = _scores(jnp.asarray(q, dtype), jnp.asarray(k, dtype))
    return HeadScores(s, top, int(k.shape[1]))


def _check_matrix(name: str, x) -> Array:
    arr = x if isinstance(x, jax.Array) else np.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise ArgumentTypeError(f"{name} must be a float array of shape (count, head_dim), got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ArgumentValueError(f"{name} must be a 2-D array of shape (count, head_dim), got shape {arr.shape}")
    return arr


def estimate_score_exponent(scores: Float[ArrayLike, "m N"], *, k: int | None = None) -> LocalExponent:
    """The local exponent ``alpha`` of the top of the score law, from the ``k``
    largest scores of each row (query) of ``scores``.

    The model is the sphere's: near its upper end ``e`` the score law has
    ``P(e - s <= x) ~ c x^a`` with ``a = alpha / 2`` (uniform keys on
    ``S^{d-1}`` and a fixed query: ``alpha = d - 1``), which gives
    ``t*(n) ~ n^{2/alpha}``. ``e`` is unknown: given the ``(k+1)``-th largest
    score ``s_thr`` the ``k`` larger ones are i.i.d. with density
    ``a (e - s)^{a-1} / (e - s_thr)^a``; for a fixed ``e`` the MLE of ``a`` is
    Hill's ``k / sum log((e - s_thr)/(e - s_i))``, and ``e >= max s`` is chosen by
    profile likelihood on a log grid of ``e - max s`` (up to 10 times the
    range of the ``k`` scores; at the grid's top the law looks exponential,
    ``a`` large). Taking ``e = max s`` instead biases ``a`` low (by 30% at
    ``a = 3.5``, ``k = 300``, ``N = 1e5``). Per-row estimates are averaged; the
    standard error is their spread over the rows (so it includes the queries'
    differences). Rows whose ``k + 1`` top scores are all equal (one key
    repeated, e.g. the identical [CLS] keys of layer 0) are skipped; with none
    left ``alpha`` is NaN. The default ``k = N / 300`` (between 20 and 2000) puts the
    threshold near the ``1/n`` quantile of a context of a few hundred keys.

    Args:
        scores: ``(m, N)`` scores, one row per query.
        k: top scores used per row, ``10 <= k < N - 1``.

    Returns:
        A [`LocalExponent`][lattn_jax.LocalExponent] (``radius`` is the mean range
            ``max s - s_thr`` of the ``k`` scores; ``curvature`` is ``False``).

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(16, 100_000, 4))  # uniform keys on S^3, fixed query: alpha = 3
        >>> s = x[..., 0] / np.linalg.norm(x, axis=-1)
        >>> est = estimate_score_exponent(s, k=300)
        >>> bool(abs(est.alpha - 3.0) < 4 * est.stderr + 0.15)
        True
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2:
        raise ArgumentValueError(f"scores must be a 2-D array (queries, keys), got shape {s.shape}")
    num = s.shape[1]
    if k is None:
        k = int(np.clip(num // 300, 20, 2000))
    k = check_int("k", k, minimum=10)
    if k >= num - 1:
        raise ArgumentValueError(f"k must be below the number of keys minus one, N - 1 = {num - 1}, got {k}")
    if not np.all(np.isfinite(s)):
        raise ArgumentValueError("scores must be finite")
    top = -np.sort(-np.partition(s, num - k - 1, axis=1)[:, num - k - 1 :], axis=1)  # descending, k + 1 scores
    big, thr, upper = top[:, :1], top[:, k:], top[:, :k]
    span = big - thr
    a = np.full(s.shape[0], np.nan)
    for row in np.nonzero(span[:, 0] > 0)[0]:  # (k, grid) per row: small
        e = big[row, 0] + span[row, 0] * _ENDPOINT_GRID
        log_range = np.log(e - thr[row, 0])
        sum_log = np.log(e[None, :] - upper[row, :, None]).sum(axis=0)
        hill = k / (k * log_range - sum_log)
        loglik = k * np.log(hill) + (hill - 1.0) * sum_log - k * hill * log_range
        a[row] = hill[np.argmax(loglik)]
    alpha = 2.0 * a[np.isfinite(a)]
    if alpha.size == 0:
        return LocalExponent(math.nan, math.nan, k, 0.0, False)
    stderr = float(np.std(alpha, ddof=1) / np.sqrt(alpha.size)) if alpha.size > 1 else math.nan
    return LocalExponent(float(np.mean(alpha)), stderr, k, float(np.mean(span[np.isfinite(a)])), False)


class ScalingFits(eqx.Module):
    """Weighted least-squares fits of ``t*(n)`` by the laws of ``LAWS``:
    ``C n^p`` (2 parameters, [`fit_power_law`][lattn_jax.fit_power_law] in log–log),
    ``C (log n)^{1/2}`` and ``C log n`` (1 parameter each, linear in ``C``),
    weighted by the ``t*`` standard errors. Arrays over the three laws.

    The data prefer the law of lowest ``chi2 + 2 k`` (``k`` its parameters:
    Akaike's criterion, which is "lowest chi2" among laws with equally many
    parameters and keeps the two-parameter power law from winning by its extra
    freedom alone); ``decided`` is ``False`` when the runner-up is within
    ``AIC_MARGIN`` = 2 of it (the conventional threshold below which both
    keep substantial support; for one-parameter laws a chi2 difference of 2).

    Examples:
        >>> ns = np.array([1e2, 1e3, 1e4, 1e5])
        >>> fits = fit_scaling_laws(ns, 2.0 * np.sqrt(np.log(ns)), 0.01 * np.ones(4))
        >>> LAWS[int(fits.best)], round(float(fits.coef[1]), 3), bool(fits.decided)
        ('sqrt-log', 2.0, True)
    """

    coef: Float[Array, " 3"]
    coef_stderr: Float[Array, " 3"]
    exponent: Float[Array, ""]
    exponent_stderr: Float[Array, ""]
    chi2: Float[Array, " 3"]
    dof: Int[Array, " 3"]
    best: Int[Array, ""]
    decided: Bool[Array, ""]


def fit_scaling_laws(
    ns: Float[ArrayLike, " m"], t_star: Float[ArrayLike, " m"], stderr: Float[ArrayLike, " m"]
) -> ScalingFits:
    """Fit ``t*(n)`` by the three laws of ``LAWS`` (see ``ScalingFits``).

    Args:
        ns: at least 3 distinct context sizes ``> 1``.
        t_star: ``t*`` at each, ``> 0``.
        stderr: their standard errors, ``> 0``.

    Examples:
        >>> fits = fit_scaling_laws([1e2, 1e3, 1e4], [1.0, 2.0, 4.0], [0.01, 0.02, 0.04])
        >>> LAWS[int(fits.best)], round(float(fits.exponent), 4)
        ('power', 0.301)
    """
    x = np.asarray(ns, np.float64)
    y = np.asarray(t_star, np.float64)
    se = np.asarray(stderr, np.float64)
    if x.ndim != 1 or y.shape != x.shape or se.shape != x.shape:
        raise ArgumentValueError(
            f"ns, t_star and stderr must be 1-D of equal length, got {x.shape}, {y.shape}, {se.shape}"
        )
    if np.unique(x).size < 3:
        raise ArgumentValueError(f"need at least 3 distinct ns to compare the laws, got {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(x > 1)):
        raise ArgumentValueError("ns must be finite and > 1")
    if not (np.all(np.isfinite(y)) and np.all(y > 0) and np.all(np.isfinite(se)) and np.all(se > 0)):
        raise ArgumentValueError("t_star and stderr must be finite and > 0")
    power = fit_power_law(x, y, se)
    w = 1.0 / se**2
    coef, coef_se, chi2 = [float(power.prefactor)], [float(power.prefactor_stderr)], [float(power.chi2)]
    for f in (np.sqrt(np.log(x)), np.log(x)):
        c = np.sum(w * y * f) / np.sum(w * f * f)
        coef.append(c)
        coef_se.append(1.0 / np.sqrt(np.sum(w * f * f)))
        chi2.append(float(np.sum(w * (y - c * f) ** 2)))
    params = np.array([2, 1, 1])
    aic = np.array(chi2) + 2 * params
    order = np.argsort(aic)
    return ScalingFits(
        coef=jnp.asarray(coef),
        coef_stderr=jnp.asarray(coef_se),
        exponent=jnp.asarray(power.exponent),
        exponent_stderr=jnp.asarray(power.exponent_stderr),
        chi2=jnp.asarray(chi2),
        dof=jnp.asarray(x.size - params),
        best=jnp.asarray(int(order[0])),
        decided=jnp.asarray(bool(aic[order[1]] - aic[order[0]] >= AIC_MARGIN)),
    )


def law_value(law: int, coef: ArrayLike, exponent: ArrayLike, n: ArrayLike) -> np.ndarray:
    """``t*(n)`` along law ``law`` (an index into ``LAWS``) with coefficient
    ``coef`` (and ``exponent`` for the power law).

    Examples:
        >>> float(law_value(2, 0.5, 0.0, np.e**4))
        2.0
    """
    n = np.asarray(n, np.float64)
    if law == 0:
        return float(coef) * n ** float(exponent)
    if law == 1:
        return float(coef) * np.sqrt(np.log(n))
    if law == 2:
        return float(coef) * np.log(n)
    raise ArgumentValueError(f"law must be an index into {LAWS} (0, 1 or 2), got {law!r}")


def law_log10_horizon(law: int, coef: float, exponent: float) -> float:
    """``log10 n`` where the law's ``t*(n) = 1`` (``inf`` if it never gets there,
    e.g. a non-positive coefficient or exponent).

    Examples:
        >>> round(law_log10_horizon(0, 0.1, 0.5), 6), round(law_log10_horizon(2, 1 / math.log(1e3), 0.0), 6)
        (2.0, 3.0)
    """
    coef, exponent = float(coef), float(exponent)
    if not coef > 0:
        return math.inf
    if law == 0:
        return -math.log10(coef) / exponent if exponent > 0 else (-math.inf if coef >= 1 else math.inf)
    log_n = 1.0 / coef**2 if law == 1 else 1.0 / coef
    return log_n / math.log(10.0)


def selectivity_horizon(
    ns: Sequence[float], mean: Sequence[float], stderr: Sequence[float], level: float = 0.5
) -> tuple[float, float, int]:
    """Where ``E[max weight]`` at ``t = 1`` falls below ``level`` along ``ns``:
    ``(log10 n_h, its standard error, censored)``, by linear interpolation in
    ``log n`` between the last grid point above the level and the first below
    (standard error by the delta method from the two points' errors).
    ``censored`` is ``0`` inside the grid, ``-1`` when already below at the
    smallest ``n`` (``n_h < n_min``; returns ``log10 n_min``) and ``+1`` when
    still above at the largest (``n_h > n_max``; returns ``log10 n_max``).

    Examples:
        >>> selectivity_horizon([1e2, 1e3, 1e4], [0.7, 0.6, 0.4], [0.0, 0.0, 0.0])
        (3.5, 0.0, 0)
    """
    x = np.log10(np.asarray(ns, np.float64))
    y = np.asarray(mean, np.float64)
    se = np.asarray(stderr, np.float64)
    below = np.nonzero(y < level)[0]
    if below.size == 0:
        return float(x[-1]), float("nan"), 1
    j = int(below[0])
    if j == 0:
        return float(x[0]), float("nan"), -1
    a, b = y[j - 1], y[j]
    frac = (a - level) / (a - b)
    d_a, d_b = (level - b) / (a - b) ** 2, (a - level) / (a - b) ** 2
    spread = x[j] - x[j - 1]
    return float(x[j - 1] + frac * spread), float(spread * math.hypot(d_a * se[j - 1], d_b * se[j])), 0


def schedule_horizon(
    multiplier: Callable[[np.ndarray], np.ndarray],
    t_star: Callable[[np.ndarray], np.ndarray],
    log10_min: float,
    log10_max: float = HORIZON_MAX_LOG10,
) -> tuple[float, int]:
    """The largest ``n`` in ``[10**log10_min, 10**log10_max]`` where the schedule
    keeps the head selective, ``multiplier(n) >= t_star(n)``: ``(log10 n,
    censored)`` with ``censored = +1`` if still selective at the top,
    ``-1`` if never selective (then ``log10_min``). Found on a log grid of 20
    points per decade, refined by linear interpolation of ``log(multiplier /
    t*)`` in ``log n``.

    Examples:
        >>> schedule_horizon(lambda n: np.ones_like(n), lambda n: 0.01 * n**0.5, 2.0)  # n^0.5 / 100 = 1 at 1e4
        (4.0, 0)
    """
    grid = np.linspace(log10_min, log10_max, int(round(20 * (log10_max - log10_min))) + 1)
    n = 10.0**grid
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.log(np.asarray(multiplier(n), np.float64)) - np.log(np.asarray(t_star(n), np.float64))
    ok = margin >= 0
    if ok[-1]:
        return float(log10_max), 1
    if not ok.any():
        return float(log10_min), -1
    j = int(np.nonzero(ok)[0][-1])
    frac = margin[j] / (margin[j] - margin[j + 1])
    return float(grid[j] + frac * (grid[j + 1] - grid[j])), 0


class HeadReport(eqx.Module):
    """Where each head of a model sits against the critical scale (from
    [`analyze_heads`][lattn_jax.models.analyze_heads]). Per-head arrays have leading ``(layers, heads)`` axes.

    Attributes:
        ns: the context sizes of the ``t*`` grid.
        t_star: ``t*(n)``, the logit multiplier with ``E[max weight] = level``.
        t_star_stderr: its standard error; ``t_star_converged``: search converged.
        max_weight_t1: ``E[max weight]`` at ``t = 1`` (same contexts), with
            ``max_weight_t1_stderr``.
        log10_horizon: ``log10 n_h`` where ``t = 1`` stops being selective,
            interpolated on the grid (``log10_horizon_stderr``); when
            ``horizon_censored`` is ``-1``/``+1`` it is below/above the grid and
            this holds the grid's end.
        log10_horizon_law: ``log10 n`` where the preferred law gives ``t* = 1``
            (an extrapolation when censored).
        law_coef, law_coef_stderr, law_chi2, law_dof: the fits of ``LAWS``
            (last axis), with ``power_exponent`` ± ``power_exponent_stderr``.
        best_law: index of the preferred law (lowest AIC); ``law_decided``:
            whether the runner-up is more than 2 behind (else "undecided").
        alpha, alpha_stderr: the local exponent of the top of the score law
            ([`estimate_score_exponent`][lattn_jax.models.estimate_score_exponent]); compare ``2 / alpha`` with ``p``.
        schedule_ns: where schedules are evaluated; ``schedule_extrapolated``:
            whether ``t*`` there comes from the preferred law (not measured).
        schedule_multiplier: ``(schedules, schedule_ns)`` logit multipliers.
        schedule_t_star: ``t*`` at ``schedule_ns``.
        schedule_ratio: ``multiplier / t*``; ``schedule_regime``: ``-1``/``0``/``+1``
            for sub-critical/critical/super-critical (``classify``, ``band``).
        schedule_log10_horizon: ``log10 n`` up to which each schedule keeps the
            head selective (along the preferred law), ``schedule_horizon_censored``
            as for ``schedule_horizon``.
        real_length: ``n`` of the real comparison (mean sequence length).
        real_max_weight, real_entropy: the model's own attention (mean over rows and sequences).
        iid_max_weight, iid_entropy: the i.i.d. prediction at ``t = 1``, ``n = real_length``
            (with ``*_stderr``); ``max_weight_ratio``, ``entropy_ratio``: real / i.i.d. (with ``*_stderr``).
        special_mass: mean attention mass on [CLS]/[SEP].
        flags: bits of ``FLAGS``.
        schedule_names, level, band, mismatch, corpus: the configuration.

    Examples:
        >>> import jax
        >>> report = analyze_heads(random_pools(0), jax.random.key(0), ns=(100, 200, 400), num_contexts=32)
        >>> report.shape, report.t_star.shape, report.schedule_ratio.shape  # 5 schedules at 4 sizes
        ((1, 2), (1, 2, 3), (1, 2, 5, 4))
    """

    ns: Float[Array, " m"]
    t_star: Float[Array, "L H m"]
    t_star_stderr: Float[Array, "L H m"]
    t_star_converged: Bool[Array, "L H m"]
    max_weight_t1: Float[Array, "L H m"]
    max_weight_t1_stderr: Float[Array, "L H m"]
    log10_horizon: Float[Array, "L H"]
    log10_horizon_stderr: Float[Array, "L H"]
    horizon_censored: Int[Array, "L H"]
    log10_horizon_law: Float[Array, "L H"]
    law_coef: Float[Array, "L H 3"]
    law_coef_stderr: Float[Array, "L H 3"]
    law_chi2: Float[Array, "L H 3"]
    law_dof: Int[Array, "L H 3"]
    power_exponent: Float[Array, "L H"]
    power_exponent_stderr: Float[Array, "L H"]
    best_law: Int[Array, "L H"]
    law_decided: Bool[Array, "L H"]
    alpha: Float[Array, "L H"]
    alpha_stderr: Float[Array, "L H"]
    schedule_ns: Float[Array, " e"]
    schedule_extrapolated: Bool[Array, " e"]
    schedule_multiplier: Float[Array, "S e"]
    schedule_t_star: Float[Array, "L H e"]
    schedule_ratio: Float[Array, "L H S e"]
    schedule_regime: Int[Array, "L H S e"]
    schedule_log10_horizon: Float[Array, "L H S"]
    schedule_horizon_censored: Int[Array, "L H S"]
    real_max_weight: Float[Array, "L H"]
    real_entropy: Float[Array, "L H"]
    iid_max_weight: Float[Array, "L H"]
    iid_max_weight_stderr: Float[Array, "L H"]
    iid_entropy: Float[Array, "L H"]
    iid_entropy_stderr: Float[Array, "L H"]
    max_weight_ratio: Float[Array, "L H"]
    max_weight_ratio_stderr: Float[Array, "L H"]
    entropy_ratio: Float[Array, "L H"]
    entropy_ratio_stderr: Float[Array, "L H"]
    special_mass: Float[Array, "L H"]
    flags: Int[Array, "L H"]
    real_length: int = eqx.field(static=True)
    schedule_names: tuple[str, ...] = eqx.field(static=True, default=())
    level: float = eqx.field(static=True, default=0.5)
    band: float = eqx.field(static=True, default=DEFAULT_BAND)
    mismatch: float = eqx.field(static=True, default=2.0)
    corpus: str = eqx.field(static=True, default="")

    @property
    def shape(self) -> tuple[int, int]:
        """``(layers, heads)``."""
        return tuple(self.alpha.shape)

    def labels(self) -> list[list[dict]]:
        """Per head (``[layer][head]``): the preferred law's name (or
        ``"undecided"``) and the names of the set flags.

        Examples:
            >>> import jax
            >>> report = analyze_heads(random_pools(0), jax.random.key(0), ns=(100, 200, 400), num_contexts=32)
            >>> sorted(report.labels()[0][1])
            ['flags', 'law']
        """
        out = []
        for i in range(self.shape[0]):
            row = []
            for j in range(self.shape[1]):
                law = LAWS[int(self.best_law[i, j])] if bool(self.law_decided[i, j]) else "undecided"
                bits = int(self.flags[i, j])
                row.append({"law": law, "flags": [f for b, f in enumerate(FLAGS) if bits >> b & 1]})
            out.append(row)
        return out


_META_FIELDS = ("ns", "schedule_ns", "schedule_extrapolated", "schedule_multiplier", "real_length")
_CONFIG_FIELDS = ("schedule_names", "level", "band", "mismatch", "corpus")
_HEAD_FIELDS = tuple(f for f in HeadReport.__dataclass_fields__ if f not in _META_FIELDS + _CONFIG_FIELDS)


def random_pools(
    seed: int = 0, *, layers: int = 1, heads: int = 2, num_queries: int = 16, num_keys: int = 5000, head_dim: int = 4
) -> "HeadPools":
    """Synthetic [`HeadPools`][lattn_jax.models.HeadPools] for examples and tests:
    Gaussian queries and keys (standard normal coordinates), sequences of
    length 100, real max weight 0.5, real entropy 1 and no [CLS]/[SEP] mass.

    Examples:
        >>> random_pools(0).keys.shape
        (1, 2, 5000, 4)
    """
    from ._pools import HeadPools

    rng = np.random.default_rng(seed)
    shape = (layers, heads)
    return HeadPools(
        queries=rng.normal(size=(*shape, num_queries, head_dim)).astype(np.float32),
        keys=rng.normal(size=(*shape, num_keys, head_dim)).astype(np.float32),
        seq_len=np.array([100]),
        real_max_weight=np.full((1, *shape), 0.5),
        real_entropy=np.full((1, *shape), 1.0),
        special_mass=np.zeros(shape),
        head_dim=head_dim,
        corpus="random",
    )


def _check_pools(pools) -> tuple[int, int, int, int]:
    q, k = np.shape(pools.queries), np.shape(pools.keys)
    if len(q) != 4 or len(k) != 4:
        raise ArgumentValueError(
            f"pools.queries and pools.keys must be 4-D (layers, heads, count, head_dim), got shapes {q} and {k}"
        )
    if q[:2] != k[:2] or q[3] != k[3]:
        raise ArgumentValueError(f"pools.queries {q} and pools.keys {k} must agree in layers, heads and head_dim")
    if q[2] < 1 or k[2] < 2:
        raise ArgumentValueError(f"pools need at least 1 query and 2 keys per head, got {q[2]} and {k[2]}")
    if int(pools.head_dim) != q[3]:
        raise ArgumentValueError(f"pools.head_dim = {pools.head_dim} does not match the vectors' last axis {q[3]}")
    lengths = np.asarray(pools.seq_len)
    if lengths.ndim != 1 or lengths.size < 1 or not np.all(lengths >= 2):
        raise ArgumentValueError(f"pools.seq_len must be a 1-D array of sequence lengths >= 2, got {lengths}")
    for name in ("real_max_weight", "real_entropy"):
        shape = np.shape(getattr(pools, name))
        if shape != (lengths.size, q[0], q[1]):
            raise ArgumentValueError(
                f"pools.{name} must have shape (sequences, layers, heads) = {(lengths.size, q[0], q[1])}, got {shape}"
            )
    if np.shape(pools.special_mass) != (q[0], q[1]):
        raise ArgumentValueError(
            f"pools.special_mass must have shape (layers, heads) = {q[:2]}, got {np.shape(pools.special_mass)}"
        )
    return q[0], q[1], k[2], int(round(float(np.mean(lengths))))


def check_ns(ns, pool_size: int) -> tuple[int, ...]:
    """The ``t*`` grid: at least 3 distinct sizes ``>= 2``, sorted, none above
    ``pool_size / 10`` (beyond that a context repeats keys often and the pool
    no longer stands for the head's key law).

    Examples:
        >>> check_ns([1000, 100, 300], 100_000)
        (100, 300, 1000)
    """
    values = tuple(sorted(set(check_sizes("ns", ns, minimum=2, sequence=True, distinct=3))))
    limit = pool_size // POOL_FRACTION
    if values[-1] > limit:
        raise ArgumentValueError(
            f"n = {values[-1]} is beyond what the pool supports: at most {limit} "
            f"(the pool holds {pool_size} keys per head; n <= pool / {POOL_FRACTION})"
        )
    return values


def _head(scores_law, key, ns, level, num_contexts, real_length) -> dict:
    """The Monte Carlo measurements of one head."""
    t, se, conv, mw, mw_se = [], [], [], [], []
    for i, n in enumerate(ns):
        k = jax.random.fold_in(key, i)  # the same contexts for t* and for E[max w] at t = 1
        crit = find_critical_beta(scores_law, n, k, level=level, num_contexts=num_contexts, method="dense")
        est = mc_estimate(max_weight, scores_law, n, 1.0, k, num_contexts, method="dense")
        t.append(float(crit.beta))
        se.append(float(crit.stderr))
        conv.append(bool(crit.converged))
        mw.append(float(est.mean))
        mw_se.append(float(est.stderr))
    k_real = jax.random.fold_in(key, len(ns))
    iid_mw, iid_h = mc_estimates(
        (max_weight, entropy), scores_law, real_length, 1.0, k_real, num_contexts, method="dense"
    )
    return dict(
        t_star=t,
        t_star_stderr=se,
        t_star_converged=conv,
        max_weight_t1=mw,
        max_weight_t1_stderr=mw_se,
        iid_max_weight=float(iid_mw.mean),
        iid_max_weight_stderr=float(iid_mw.stderr),
        iid_entropy=float(iid_h.mean),
        iid_entropy_stderr=float(iid_h.stderr),
    )


def _ratio(real: float, iid: float, iid_se: float) -> tuple[float, float]:
    ratio = real / iid if iid > 0 else math.inf
    return ratio, abs(ratio) * iid_se / iid if iid > 0 else math.nan


def _summarise(row: dict, ns, level, band, mismatch, schedules, schedule_ns, multipliers) -> dict:
    """Fits, horizons, schedule regimes and flags from a head's measurements."""
    t, se = np.asarray(row["t_star"]), np.asarray(row["t_star_stderr"])
    good = np.isfinite(t) & (t > 0) & np.isfinite(se) & (se > 0)
    if good.sum() >= 3:
        fits = fit_scaling_laws(np.asarray(ns)[good], t[good], se[good])
    else:  # too few usable points: no law (NaN fits, "undecided")
        nan3 = jnp.full((3,), jnp.nan)
        fits = ScalingFits(nan3, nan3, jnp.nan, jnp.nan, nan3, jnp.zeros(3, int), jnp.asarray(0), jnp.asarray(False))
    best, coef, p = int(fits.best), fits.coef, float(fits.exponent)
    row.update(
        law_coef=[float(c) for c in fits.coef],
        law_coef_stderr=[float(c) for c in fits.coef_stderr],
        law_chi2=[float(c) for c in fits.chi2],
        law_dof=[int(d) for d in fits.dof],
        power_exponent=p,
        power_exponent_stderr=float(fits.exponent_stderr),
        best_law=best,
        law_decided=bool(fits.decided),
    )
    h, h_se, censored = selectivity_horizon(ns, row["max_weight_t1"], row["max_weight_t1_stderr"], level)
    row.update(
        log10_horizon=h,
        log10_horizon_stderr=h_se,
        horizon_censored=censored,
        log10_horizon_law=law_log10_horizon(best, float(coef[best]), p),
    )

    def along(n):
        return law_value(best, coef[best], p, n)

    measured = dict(zip(ns, row["t_star"], strict=True))
    t_eval = [measured.get(int(n), None) if float(n).is_integer() else None for n in schedule_ns]
    t_eval = [float(along(n)) if v is None else v for v, n in zip(t_eval, schedule_ns, strict=True)]
    ratio = np.asarray(multipliers) / np.asarray(t_eval)[None, :]
    horizons = [
        schedule_horizon(lambda n, s=s: np.asarray(s(jnp.asarray(n, jnp.float32))), along, math.log10(ns[0]))
        for s in schedules
    ]
    row.update(
        schedule_t_star=t_eval,
        schedule_ratio=ratio.tolist(),
        schedule_regime=np.asarray(classify(ratio, band)).tolist(),
        schedule_log10_horizon=[hz for hz, _ in horizons],
        schedule_horizon_censored=[c for _, c in horizons],
    )
    mw_ratio, mw_ratio_se = _ratio(row["real_max_weight"], row["iid_max_weight"], row["iid_max_weight_stderr"])
    h_ratio, h_ratio_se = _ratio(row["real_entropy"], row["iid_entropy"], row["iid_entropy_stderr"])
    flags = 0
    if row["special_mass"] > 0.5:
        flags |= 1
    if mw_ratio > mismatch and (mw_ratio - mismatch) > 4 * mw_ratio_se:
        flags |= 2
    if mw_ratio < 1 / mismatch and (1 / mismatch - mw_ratio) > 4 * mw_ratio_se:
        flags |= 4
    if not all(row["t_star_converged"]):
        flags |= 8
    chi2, dof = float(fits.chi2[best]), int(fits.dof[best])
    if not chi2 <= dof + 4.0 * math.sqrt(2.0 * max(dof, 1)):
        flags |= 16
    row.update(
        max_weight_ratio=mw_ratio,
        max_weight_ratio_stderr=mw_ratio_se,
        entropy_ratio=h_ratio,
        entropy_ratio_stderr=h_ratio_se,
        flags=flags,
    )
    return row


def _check_schedules(schedules) -> dict[str, AbstractSchedule]:
    if schedules is None:
        return published_schedules(TRAIN_LENGTH)
    if not isinstance(schedules, Mapping) or not all(
        isinstance(k, str) and isinstance(v, AbstractSchedule) for k, v in schedules.items()
    ):
        raise ArgumentTypeError("schedules must be a mapping of names to schedules, e.g. published_schedules(512)")
    return dict(schedules)


def analyze_heads(
    pools: "HeadPools",
    key: PRNGKeyArray,
    *,
    ns: Sequence[int] = DEFAULT_NS,
    level: float = 0.5,
    num_contexts: int = DEFAULT_NUM_CONTEXTS,
    num_queries: int = DEFAULT_NUM_QUERIES,
    schedules: Mapping[str, AbstractSchedule] | None = None,
    schedule_ns: Sequence[float] = SCHEDULE_NS,
    band: float = DEFAULT_BAND,
    mismatch: float = 2.0,
    heads: Sequence[tuple[int, int]] | None = None,
    exclude_special: bool = True,
    progress: Callable[[int, int, dict], None] | None = None,
) -> HeadReport:
    """Measure every head of ``pools`` against the critical scale (see the
    module docstring and [`HeadReport`][lattn_jax.models.HeadReport]).

    Per head, with [`HeadScores`][lattn_jax.models.HeadScores] contexts (a random query of the pool,
    ``n`` keys i.i.d. from the key pool): ``t*(n)`` by
    [`find_critical_beta`][lattn_jax.find_critical_beta] (dense, Newton on the exact
    derivative) and ``E[max weight]`` at ``t = 1`` by
    [`mc_estimate`][lattn_jax.mc_estimate] on the same contexts, for each ``n`` in
    ``ns``; the horizon by ``selectivity_horizon``; the laws by
    [`fit_scaling_laws`][lattn_jax.models.fit_scaling_laws]; ``alpha`` by
    [`estimate_score_exponent`][lattn_jax.models.estimate_score_exponent];
    schedules against ``t*`` (measured where ``schedule_ns`` is on the grid,
    else along the preferred law: flagged as extrapolated) and their horizons
    by ``schedule_horizon``; and the model's own max weight and entropy
    beside the i.i.d. prediction at ``t = 1`` and ``n`` = the mean sequence
    length. Heads are independent: ``jax.random.fold_in(key, layer * heads + head)``.

    Args:
        pools: a [`HeadPools`][lattn_jax.models.HeadPools].
        key: a ``jax.random.key``.
        ns: the ``t*`` grid, at least 3 sizes, each at most (key pool) / 10.
        level: the ``E[max weight]`` level in ``(1 / min(ns), 1)``.
        num_contexts: contexts per ``n``, ``>= 16``.
        num_queries: queries per head whose score rows are held (see
            [`head_scores`][lattn_jax.models.head_scores]).
        schedules: name -> schedule (logit multiplier); default
            [`published_schedules`][lattn_jax.models.published_schedules] at 512.
        schedule_ns: sizes where the schedules' regimes are reported.
        band: the critical band factor ``> 1`` of ``classify``.
        mismatch: the real/i.i.d. max-weight factor ``> 1`` beyond which a head is flagged.
        heads: ``(layer, head)`` pairs to analyse (default all); the others are NaN.
        exclude_special: leave the ``[CLS]``/``[SEP]`` keys (``pools.special_keys``)
            out of the i.i.d. key pool. They occur once per sequence at fixed
            positions and repeat (in layer 0 exactly), so resampling them makes
            a context of ``n >> 512`` keys hold ``n / 256`` copies of a sink
            key, which caps the max weight: a context length the model never
            sees. Their attention mass is reported as ``special_mass``.
        progress: called as ``progress(layer, head, row)`` after each head, with
            the head's numbers as a JSON-ready dict (for progress bars and
            incremental output).

    Returns:
        A [`HeadReport`][lattn_jax.models.HeadReport].

    Examples:
        >>> import jax
        >>> report = analyze_heads(random_pools(0), jax.random.key(0), ns=(100, 200, 400), num_contexts=32)
        >>> bool(report.t_star[0, 0, 2] > report.t_star[0, 0, 0]), report.real_length  # t* grows with n
        (True, 100)
    """
    check_key("key", key)
    layers, num_heads, pool_size, real_length = _check_pools(pools)
    keep = None
    if check_bool("exclude_special", exclude_special) and pools.special_keys is not None:
        keep = np.flatnonzero(~np.asarray(pools.special_keys))
        pool_size = keep.size
    ns = check_ns(ns, pool_size)
    level = check_open_unit("level", level)
    if level <= 1.0 / ns[0]:
        raise ArgumentValueError(f"level must exceed 1/n = {1 / ns[0]:.3g} for the smallest n = {ns[0]}, got {level}")
    num_contexts = check_int("num_contexts", num_contexts, minimum=16)
    num_queries = check_int("num_queries", num_queries, minimum=1)
    if check_real("band", band) <= 1:
        raise ArgumentValueError(f"band must be a finite number > 1, got {band}")
    if check_real("mismatch", mismatch) <= 1:
        raise ArgumentValueError(f"mismatch must be a finite number > 1, got {mismatch}")
    schedules = _check_schedules(schedules)
    schedule_ns = tuple(float(check_real("schedule_ns[i]", n)) for n in schedule_ns)
    if not schedule_ns or min(schedule_ns) < 2:
        raise ArgumentValueError(f"schedule_ns must hold context sizes >= 2, got {schedule_ns}")
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress must be a function progress(layer, head, row) or None, got {progress!r}")
    todo = [(i, j) for i in range(layers) for j in range(num_heads)] if heads is None else list(heads)
    for i, j in todo:
        if not (0 <= i < layers and 0 <= j < num_heads):
            raise ArgumentValueError(f"heads: ({i}, {j}) is not a (layer, head) of a {layers} x {num_heads} model")
    multipliers = [[float(s(n)) for n in schedule_ns] for s in schedules.values()]
    real_mw = np.mean(np.asarray(pools.real_max_weight, np.float64), axis=0)
    real_h = np.mean(np.asarray(pools.real_entropy, np.float64), axis=0)
    special = np.asarray(pools.special_mass, np.float64)
    rows = {}
    for i, j in todo:
        k_head = jax.random.fold_in(key, i * num_heads + j)
        k_scores, k_mc = jax.random.split(k_head)
        keys_ij = pools.keys[i, j] if keep is None else pools.keys[i, j][keep]
        law = head_scores(pools.queries[i, j], keys_ij, num_queries=num_queries, key=k_scores)
        row = _head(law, k_mc, ns, level, num_contexts, real_length)
        alpha = estimate_score_exponent(np.asarray(law.scores[:_ALPHA_QUERIES]))
        row.update(
            alpha=alpha.alpha,
            alpha_stderr=alpha.stderr,
            real_max_weight=float(real_mw[i, j]),
            real_entropy=float(real_h[i, j]),
            special_mass=float(special[i, j]),
        )
        del law
        rows[i, j] = _summarise(row, ns, level, band, mismatch, schedules.values(), schedule_ns, multipliers)
        if progress is not None:
            progress(i, j, {"layer": i, "head": j, **rows[i, j]})
    meta = dict(
        ns=list(ns),
        schedule_ns=list(schedule_ns),
        schedule_multiplier=multipliers,
        real_length=real_length,
        schedule_names=list(schedules),
        level=level,
        band=float(band),
        mismatch=float(mismatch),
        corpus=str(pools.corpus),
    )
    return _build_report(meta, layers, num_heads, rows)


def _build_report(meta: dict, layers: int, num_heads: int, rows: dict) -> HeadReport:
    ns = [float(n) for n in meta["ns"]]
    measured = {float(n) for n in ns}
    fields = {}
    template = next(iter(rows.values()))
    for name in _HEAD_FIELDS:
        sample = np.asarray(template[name])
        kind = HeadReport.__annotations__[name]
        is_int = "Int[" in str(kind)
        is_bool = "Bool[" in str(kind)
        fill = 0 if is_int else False if is_bool else np.nan
        dtype = np.int32 if is_int else bool if is_bool else np.float64
        out = np.full((layers, num_heads, *sample.shape), fill, dtype)
        for (i, j), row in rows.items():
            out[i, j] = np.asarray(row[name], dtype)
        fields[name] = jnp.asarray(out) if dtype is not np.float64 else jnp.asarray(out, default_float())
    return HeadReport(
        ns=jnp.asarray(ns, default_float()),
        schedule_ns=jnp.asarray(meta["schedule_ns"], default_float()),
        schedule_extrapolated=jnp.asarray([float(n) not in measured for n in meta["schedule_ns"]]),
        schedule_multiplier=jnp.asarray(
            np.asarray(meta["schedule_multiplier"], np.float64).reshape(
                len(meta["schedule_names"]), len(meta["schedule_ns"])
            ),
            default_float(),
        ),
        real_length=int(meta["real_length"]),
        schedule_names=tuple(meta["schedule_names"]),
        level=float(meta["level"]),
        band=float(meta["band"]),
        mismatch=float(meta["mismatch"]),
        corpus=str(meta["corpus"]),
        **fields,
    )


def _jsonable(x):
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, bool | int | str) or x is None:
        return x
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _from_json(x):
    if isinstance(x, list):
        return [_from_json(v) for v in x]
    if x is None:
        return math.nan
    if x in ("inf", "-inf"):
        return float(x)
    return x


def report_to_json(report: HeadReport) -> dict:
    """Every number of ``report`` as JSON-ready Python values: ``{"meta":
    {...}, "heads": [{"layer", "head", ...per-head fields...}, ...]}``
    (NaN as ``null``, infinities as ``"inf"``/``"-inf"``); heads never analysed
    are left out. [`report_from_json`][lattn_jax.models.report_from_json] reads it back.

    Examples:
        >>> import json, jax
        >>> report = analyze_heads(random_pools(0), jax.random.key(0), ns=(100, 200, 400), num_contexts=32)
        >>> payload = json.loads(json.dumps(report_to_json(report)))
        >>> len(payload["heads"]), payload["heads"][0]["law"] in LAWS + ("undecided",)
        (2, True)
    """
    meta = dict(
        ns=np.asarray(report.ns).tolist(),
        schedule_ns=np.asarray(report.schedule_ns).tolist(),
        schedule_multiplier=np.asarray(report.schedule_multiplier).tolist(),
        real_length=report.real_length,
        schedule_names=list(report.schedule_names),
        level=report.level,
        band=report.band,
        mismatch=report.mismatch,
        corpus=report.corpus,
        layers=report.shape[0],
        heads=report.shape[1],
        laws=list(LAWS),
        flags=list(FLAGS),
    )
    heads = []
    t_star = np.asarray(report.t_star)
    for i in range(report.shape[0]):
        for j in range(report.shape[1]):
            if np.all(np.isnan(t_star[i, j])):
                continue
            row = {"layer": i, "head": j}
            for name in _HEAD_FIELDS:
                value = np.asarray(getattr(report, name)[i, j]).tolist()
                row[name] = _jsonable(value)
            labels = report.labels()[i][j]
            row["law"] = labels["law"]
            row["flag_names"] = labels["flags"]
            heads.append(row)
    return {"meta": _jsonable_meta(meta), "heads": heads}


def _jsonable_meta(meta: dict) -> dict:
    return {k: v if isinstance(v, str) else _jsonable(v) for k, v in meta.items()}


def report_from_json(payload: dict) -> HeadReport:
    """The [`HeadReport`][lattn_jax.models.HeadReport] that [`report_to_json`][lattn_jax.models.report_to_json] wrote.

    Examples:
        >>> import jax
        >>> report = analyze_heads(random_pools(0), jax.random.key(0), ns=(100, 200, 400), num_contexts=32)
        >>> back = report_from_json(report_to_json(report))
        >>> bool(jax.numpy.all(back.t_star == report.t_star))
        True
    """
    try:
        meta = {k: v if isinstance(v, str) else _from_json(v) for k, v in payload["meta"].items()}
        rows = {
            (int(r["layer"]), int(r["head"])): {name: _from_json(r[name]) for name in _HEAD_FIELDS}
            for r in payload["heads"]
        }
        layers, num_heads = int(meta["layers"]), int(meta["heads"])
    except (KeyError, TypeError) as err:
        raise ArgumentValueError(f"payload is not a HeadReport JSON (missing {err})") from None
    if not rows:
        raise ArgumentValueError("payload holds no heads")
    return _build_report(meta, layers, num_heads, rows)
