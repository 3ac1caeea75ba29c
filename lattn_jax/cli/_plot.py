"""Figures (matplotlib is imported lazily; it is the optional ``plot`` extra)."""

from pathlib import Path

import numpy as np


def plot_critical(payload: dict, path: Path) -> None:
    """``beta*`` against ``n`` on log–log axes, per ``d``: the measured points with
    error bars, the fitted power law, and a line of the theory slope ``2/(d-1)``
    through the fit at the geometric-mean ``n``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    fits = {f["d"]: f for f in payload["fits"]}
    handles = []  # legend grouped per d: points, fit, theory slope
    for i, d in enumerate(sorted({r["d"] for r in payload["results"]})):
        rows = [r for r in payload["results"] if r["d"] == d]
        n = np.array([r["n"] for r in rows], float)
        beta = np.array([r["beta"] for r in rows], float)
        se = np.array([r["stderr"] for r in rows], float)
        color = f"C{i}"
        handles.append(ax.errorbar(n, beta, yerr=se, fmt="o", color=color, capsize=3, label=f"d = {d}"))
        if d in fits:
            fit = fits[d]
            grid = np.geomspace(n.min(), n.max(), 50)
            (fit_line,) = ax.plot(
                grid,
                fit["prefactor"] * grid ** fit["exponent"],
                "-",
                color=color,
                lw=1,
                label=f"fit p = {fit['exponent']:.3f} ± {fit['exponent_stderr']:.3f}",
            )
            anchor = np.exp(np.mean(np.log(n)))
            through = fit["prefactor"] * anchor ** fit["exponent"]
            (theory_line,) = ax.plot(
                grid,
                through * (grid / anchor) ** fit["theory_exponent"],
                ":",
                color=color,
                lw=2,
                label=f"slope 2/(d-1) = {fit['theory_exponent']:.3f}",
            )
            handles += [fit_line, theory_line]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("context size n")
    ax.set_ylabel(r"critical inverse temperature $\beta^*$")
    level = payload["config"].get("level")
    ax.set_title(rf"$\beta^*(n)$ with E[max weight] = {level}" if level is not None else r"$\beta^*(n)$")
    ax.grid(True, which="both", alpha=0.3)
    per_d = 3 if fits else 1
    ax.legend(handles=handles, fontsize=7, ncol=max(1, len(handles) // per_d))  # one column per d
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_regime(payload: dict, path: Path) -> None:
    """Two panels over ``n`` (log axes): left, ``beta(n)`` of each schedule with the
    measured ``beta*(n)`` and its critical band ``[beta*/band, band beta*]``;
    right, ``E[max weight]`` at each schedule's ``beta(n)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # 9 inches wide: at a ~690 px docs column, 1 pt of text is ~1 px.
    with plt.rc_context(_STYLE):
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.6), dpi=150, layout="constrained")
        crit = payload["critical"]
        n = np.array([c["n"] for c in crit], float)
        star = np.array([c["beta"] for c in crit], float)
        band = payload["config"]["band"]
        left.fill_between(n, star / band, star * band, color="0.85", label=f"critical band (x{band:g})")
        left.errorbar(n, star, yerr=[c["stderr"] for c in crit], fmt="ko-", ms=4, capsize=3, label=r"$\beta^*(n)$")
        for i, entry in enumerate(payload["schedules"]):
            rows = entry["rows"]
            color = f"C{i}"
            left.plot([r["n"] for r in rows], [r["beta"] for r in rows], "s-", color=color, ms=3, label=entry["name"])
            right.errorbar(
                [r["n"] for r in rows],
                [r["max_weight"] for r in rows],
                yerr=[r["max_weight_stderr"] for r in rows],
                fmt="s-",
                color=color,
                ms=3,
                capsize=2,
                label=entry["name"],
            )
        half = right.axhline(0.5, color="k", lw=1, ls=":", label="E[max w] = 1/2 (critical)")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlabel("context size n")
            ax.grid(True, which="major", alpha=0.3)
        # One legend for both panels, below them, so it hides no curve.
        handles, labels = left.get_legend_handles_labels()
        handles, labels = handles + [half], labels + [half.get_label()]
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
        left.set_yscale("log")
        left.set_ylabel(r"inverse temperature $\beta$")
        right.set_ylabel("E[max attention weight]")
        right.set_ylim(0, 1)
        fig.suptitle(_math_text(payload["config"]["law"]))
    fig.savefig(path)
    plt.close(fig)


# Text sizes for a figure about 9 inches wide.
_STYLE = {
    "font.size": 10,
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "figure.titlesize": 11.5,
}


def _math_text(text: str) -> str:
    """A law's description with its math typeset: ``S^63`` as $S^{63}$, ``rho`` as $\\rho$."""
    import re

    text = text.replace("$", r"\$")  # a literal dollar (in a --keys path) is not math
    text = re.sub(r"S\^(\d+)", r"$S^{\1}$", text)
    return re.sub(r"\brho\b", r"$\\rho$", text)
