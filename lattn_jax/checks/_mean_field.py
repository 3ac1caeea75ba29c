"""Checks of the sub-critical (mean-field) regime for uniform keys: ``Z/n``, the
entropy, the output's mean and its Gaussian fluctuations against
[`lattn_jax.theory`][lattn_jax.theory]'s Bessel-function predictions."""

import math
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._attention import attention_output
from .._laws import UniformSphere
from .._observables import entropy
from ..theory import log_partition, mean_field_entropy, mean_resultant, output_covariance, output_mean
from . import Comparison
from ._common import pyplot

_D = 4
_N = 1000
_BETAS = (2.0, 6.0)  # beta << n^{2/(d-1)} = 100; effective keys n / rho = 660 and 210
_CONTEXTS = 2048
_NAMES = ("Z/n", "E[H]", "E[<o, q>]", "Var(<o, q>)", "Var(o_perp) per direction")


def _context_stats(law: UniformSphere, key, betas: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One context, every ``beta``: the five statistics of ``_NAMES`` (means of
    the last two are the variances) and the output vectors."""
    q = law.query()
    keys = law.sample(key, _N)

    def at(beta):
        o = attention_output(q, keys, beta)
        par = o @ q
        stats = jnp.stack(
            [
                jnp.mean(jnp.exp(beta * (keys @ q))),
                entropy(q, keys, beta),
                par,
                (par - mean_resultant(_D, beta)) ** 2,  # + the squared 1/n bias, < 1e-7
                jnp.sum((o - par * q) ** 2) / (_D - 1),
            ]
        )
        return stats, o

    return jax.vmap(at)(betas)


@eqx.filter_jit
def _run(law: UniformSphere, keys, betas):
    return jax.lax.map(lambda k: _context_stats(law, k, betas), keys, batch_size=64)


def check_mean_field(key, *, plot_dir: Path | None = None) -> list[Comparison]:
    """``d = 4``, ``n = 1000``, ``beta = 2, 6`` (2048 contexts of dense keys,
    shared by all rows): ``E[Z/n] = M_d(beta)`` (exact at every ``n``); ``E[H]``
    and ``E[<o, q>]`` with their ``1/n`` delta-method corrections; ``Var(<o, q>)``
    and the per-direction orthogonal variance against
    [`output_covariance`][lattn_jax.theory.output_covariance]. With ``plot_dir``, a Q–Q plot
    of the standardized output components (``mean_field_qq.png``)."""
    law = UniformSphere(_D)
    betas = jnp.asarray(_BETAS)
    stats, outputs = _run(law, jax.random.split(key, _CONTEXTS), betas)
    stats = np.asarray(stats, np.float64)  # (contexts, beta, stat)
    mean = stats.mean(axis=0)
    stderr = stats.std(axis=0, ddof=1) / math.sqrt(_CONTEXTS)
    cov = output_covariance(_D, _N, betas)
    theory = np.stack(
        [
            np.exp(np.asarray(log_partition(_D, betas))),
            np.asarray(mean_field_entropy(_D, _N, betas, corrected=True)),
            np.asarray(output_mean(_D, _N, betas)),
            np.asarray(cov.parallel),
            np.asarray(cov.perpendicular),
        ],
        axis=1,
    )
    rows = []
    for i, beta in enumerate(_BETAS):
        for j, name in enumerate(_NAMES):
            label = f"{name}, d={_D}, n={_N}, beta={beta:g}"
            rows.append(Comparison("subcritical", label, float(theory[i, j]), float(mean[i, j]), float(stderr[i, j])))
    if plot_dir is not None:
        _plot_qq(Path(plot_dir), np.asarray(outputs), theory)
    return rows


def _plot_qq(plot_dir: Path, outputs: np.ndarray, theory: np.ndarray) -> None:
    from scipy.special import ndtri

    plt = pyplot()

    fig, axes = plt.subplots(1, len(_BETAS), figsize=(4.5 * len(_BETAS), 4.2), dpi=150)
    for i, (ax, beta) in enumerate(zip(np.atleast_1d(axes), _BETAS, strict=True)):
        along = (outputs[:, i, 0] - theory[i, 2]) / math.sqrt(theory[i, 3])
        across = outputs[:, i, 1:].ravel() / math.sqrt(theory[i, 4])
        for data, name, color in [(along, "along q", "C0"), (across, "orthogonal", "C1")]:
            data = np.sort(data)
            ax.plot(ndtri((np.arange(data.size) + 0.5) / data.size), data, ".", ms=2, color=color, label=name)
        ax.plot([-4, 4], [-4, 4], "k-", lw=1, label="Gaussian prediction")
        ax.set_xlabel("standard normal quantile")
        ax.set_ylabel("standardized output component")
        ax.set_title(f"d = {_D}, n = {_N}, beta = {beta:g}")
        ax.legend()
    fig.suptitle(r"Output fluctuations around $A_d(\beta) q$ vs the delta-method Gaussian")
    fig.tight_layout()
    fig.savefig(plot_dir / "mean_field_qq.png")
    plt.close(fig)
