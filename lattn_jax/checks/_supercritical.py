"""Checks of the supercritical regime ``beta >> n^{2/(d-1)}``: the probability
that the largest weight exceeds ``1 - eps`` and the mean deficit
``E[1 - max weight]`` against the Poisson-limit (local Dickman) formulas."""

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .._laws import UniformSphere
from .._observables import max_weight
from .._sampling._contexts import OrderStatisticsSampler, make_sampler
from ..theory import supercritical_max_weight_deficit, supercritical_prob_max_weight_above, supercritical_rate
from . import Comparison
from ._common import mean_se, pyplot

_N = 10**5
_EPS = 0.01
_CASES = ((3, 5.0), (3, 20.0), (5, 200.0))  # (d, gamma = beta / n^{2/(d-1)})
_CONTEXTS = 8192
_HEAD = 64  # exact nearest keys per context; the far ones are folded in (order statistics)


@jax.jit
def _run(sampler: OrderStatisticsSampler, keys, beta):
    return jax.lax.map(lambda k: sampler.evaluate(sampler.sample(k), max_weight, beta), keys, batch_size=1024)


def _max_weights(d: int, beta: float, key) -> np.ndarray:
    sampler = make_sampler(UniformSphere(d), _N, "order-statistics", head=_HEAD)
    keys = jax.random.split(key, _CONTEXTS)
    return np.asarray(_run(sampler, keys, jnp.asarray(beta, sampler.dtype)), np.float64)


def check_supercritical(key, *, plot_dir: Path | None = None) -> list[Comparison]:
    """``n = 1e5`` keys, 8192 contexts (order statistics, exact nearest 64 keys)
    at ``beta = gamma n^{2/(d-1)}`` for ``(d, gamma) = (3, 5), (3, 20), (5, 200)``:
    ``P(max weight > 0.99)`` and ``E[1 - max weight]`` against
    [`supercritical_prob_max_weight_above`][lattn_jax.theory.supercritical_prob_max_weight_above] and
    [`supercritical_max_weight_deficit`][lattn_jax.theory.supercritical_max_weight_deficit] (exact in the Poisson
    limit for ``d = 3``, ``O(gamma^-2)`` otherwise), and ``gamma E[1 - max weight]``
    at ``(5, 200)`` against its ``gamma -> oo`` limit ``K_d log 2``. With
    ``plot_dir``, ``supercritical.png``: the deficit against ``gamma``, simulated
    and predicted, with the ``1/gamma`` asymptote."""
    rows = []
    sims = {}
    for i, (d, gamma) in enumerate(_CASES):
        beta = gamma * _N ** (2.0 / (d - 1))
        w = _max_weights(d, beta, jax.random.fold_in(key, i))
        label = f"d={d}, n=1e5, beta/n^(2/(d-1))={gamma:g}"
        p, p_se = mean_se((w > 1.0 - _EPS).astype(np.float64))
        deficit, deficit_se = mean_se(1.0 - w)
        sims[(d, gamma)] = (deficit, deficit_se)
        rows.append(
            Comparison(
                "supercritical",
                f"P(max weight > {1 - _EPS:g}), {label}",
                float(supercritical_prob_max_weight_above(d, gamma, _EPS)),
                p,
                p_se,
            )
        )
        theory = float(supercritical_max_weight_deficit(d, gamma))
        rows.append(Comparison("supercritical", f"E[1 - max weight], {label}", theory, deficit, deficit_se))
    d, gamma = _CASES[-1]
    deficit, deficit_se = sims[(d, gamma)]
    rows.append(
        Comparison(
            "supercritical",
            f"gamma E[1 - max weight] -> K_d log 2, d={d}, gamma={gamma:g}",
            float(supercritical_rate(d)) * math.log(2.0),
            gamma * deficit,
            gamma * deficit_se,
        )
    )
    if plot_dir is not None:
        _plot(Path(plot_dir), sims)
    return rows


def _plot(plot_dir: Path, sims: dict) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    for j, d in enumerate(sorted({d for d, _ in sims})):
        gammas = np.geomspace(2.0, 500.0, 40)
        curve = np.asarray(supercritical_max_weight_deficit(d, jnp.asarray(gammas)))
        ax.plot(gammas, curve, "-", color=f"C{j}", label=f"d = {d}: Poisson limit (local Dickman)")
        ax.plot(
            gammas,
            float(supercritical_rate(d)) * math.log(2.0) / gammas,
            ":",
            color=f"C{j}",
            label=f"d = {d}: K_d log 2 / gamma",
        )
        pts = [(g, m, s) for (dd, g), (m, s) in sims.items() if dd == d]
        g, m, s = map(np.array, zip(*pts, strict=True))
        ax.errorbar(g, m, s, fmt="o", color=f"C{j}", capsize=3, label=f"d = {d}: Monte Carlo, n = 1e5")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\gamma = \beta / n^{2/(d-1)}$")
    ax.set_ylabel("E[1 - max weight]")
    ax.set_title("Supercritical regime: the nearest key takes all the weight")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot_dir / "supercritical.png")
    plt.close(fig)
