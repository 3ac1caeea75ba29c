"""``lattn figures``: regenerate every figure of the README and the docs.

Figures live in a registry: a function ``make(out: Path) -> list[Path]`` that
writes its files into ``out`` and uses fixed seeds only, registered with
``figure``. To add one, decorate it here (or in a module imported here) and
reference ``docs/figures/NAME.png`` from a page; ``lattn figures --out
docs/figures`` then rebuilds it with the rest.
"""

import argparse
import contextlib
import io
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from . import _critical, _heads, _regime
from ._common import UsageError, require_matplotlib, setup_jax


class Figure(NamedTuple):
    """A registered figure: its name, a one-line caption, and its maker."""

    name: str
    caption: str
    make: Callable[[Path], list[Path]]


FIGURES: dict[str, Figure] = {}


def figure(name: str, caption: str) -> Callable:
    """Register ``make(out) -> list[Path]`` as the figure ``name``."""

    def register(make):
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = Figure(name, caption, make)
        return make

    return register


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Text sizes of the gallery's own figures, for a figure 9 inches wide shown ~690 px wide (1 pt ~ 1 px).
GALLERY_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "legend.fontsize": 9.5,
    "figure.titlesize": 11.5,
}


def _save(fig, path: Path) -> Path:
    # No software/date metadata: the same numbers give the same bytes.
    fig.savefig(path, metadata={"Software": None})
    _pyplot().close(fig)
    return path


PHASE_D = 3
PHASE_NS = (100, 1_000, 10_000, 100_000)


@figure(
    "phase-transition",
    f"E[max weight] and E[H] against beta for d = {PHASE_D} and n = 1e2 ... 1e5, and the same curves "
    "against beta / n^(2/(d-1)): they collapse onto one curve",
)
def _phase_transition(out: Path) -> list[Path]:
    return [_draw_phase_transition(_phase_transition_curves(), out / "phase-transition.png")]


def _phase_transition_curves() -> list[tuple]:
    """``(n, beta, E[max w], E[H])`` per n, as NumPy arrays."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .._estimators import mc_estimates
    from .._laws import UniformSphere
    from .._observables import entropy, max_weight
    from ..theory import critical_exponent

    law, p, curves = UniformSphere(PHASE_D), float(critical_exponent(PHASE_D)), []
    for n in PHASE_NS:
        beta = jnp.asarray(np.geomspace(1e-3, 1e2, 61) * n**p, jnp.float32)
        key = jax.random.fold_in(jax.random.key(0), n)
        # Both observables in one pass; exact (dense) contexts, since the grid reaches deep into the
        # sub-critical regime where "auto" would fall back to dense anyway.
        w, h = mc_estimates((max_weight, entropy), law, n, beta, key, 512, method="dense")
        curves.append((n, np.asarray(beta), np.asarray(w.mean), np.asarray(h.mean)))
    return curves


def _draw_phase_transition(curves: list[tuple], path: Path) -> Path:
    from ..theory import critical_exponent

    p = float(critical_exponent(PHASE_D))
    plt = _pyplot()
    # Drawn at 9 inches wide, so at the docs' ~690 px column 1 pt is ~1 px: 10 pt text reads at ~10 px.
    with plt.rc_context(GALLERY_STYLE):
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.7), dpi=150)
        for i, (n, b, w, h) in enumerate(curves):
            color, label = f"C{i}", f"n = {n:.0e}".replace("e+0", "e")
            axes[0].plot(b, w, color=color, label=label)
            axes[1].plot(b, h, color=color, label=label)
            axes[2].plot(b / n**p, w, color=color, label=label)
        axes[0].set_ylabel("E[max weight]")
        axes[1].set_ylabel("E[entropy H] (nats)")
        axes[2].set_ylabel("E[max weight]")
        for ax in axes[:2]:
            ax.set_xlabel(r"inverse temperature $\beta$")
        axes[2].set_xlabel(r"$\beta\,/\,n^{2/(d-1)}$")
        for ax in axes:
            ax.set_xscale("log")
            ax.grid(True, which="major", alpha=0.3)
        axes[0].axhline(0.5, color="k", lw=0.8, ls=":")
        axes[2].axhline(0.5, color="k", lw=0.8, ls=":")
        axes[1].legend(loc="upper right")
        fig.suptitle(
            rf"Uniform keys on $S^{{{PHASE_D - 1}}}$, 512 contexts per n: the transition moves like $n^{{2/(d-1)}}$"
        )
        fig.tight_layout()
    return _save(fig, path)


SUSCEPTIBILITY_DS = (3, 4, 6)
SUSCEPTIBILITY_N = 100_000
SUSCEPTIBILITY_CONTEXTS = 256  # a smooth curve: every beta sees the same contexts


@figure(
    "susceptibility",
    "the entropy susceptibility chi = -dE[H]/dlog(beta) at n = 1e5: a plateau at (d-1)/2 "
    "(mean field) that ends at the critical scale",
)
def _susceptibility(out: Path) -> list[Path]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .._estimators import mc_estimate
    from .._laws import UniformSphere
    from .._observables import entropy
    from ..theory import critical_exponent

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    n = SUSCEPTIBILITY_N
    for i, d in enumerate(SUSCEPTIBILITY_DS):
        scale = n ** float(critical_exponent(d))
        beta = jnp.asarray(np.geomspace(1e-3, 1e2, 61) * scale, jnp.float32)
        # Dense: the grid reaches deep into the sub-critical regime (where "auto" falls back to dense).
        key = jax.random.key(d)
        contexts = SUSCEPTIBILITY_CONTEXTS
        est = mc_estimate(entropy, UniformSphere(d), n, beta, key, contexts, method="dense", derivative=True)
        chi = -np.asarray(beta) * np.asarray(est.derivative)  # -dE[H]/dlog(beta) = -beta dE[H]/dbeta
        ax.plot(np.asarray(beta) / scale, chi, color=f"C{i}", label=f"d = {d}")
        ax.axhline((d - 1) / 2, color=f"C{i}", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel(r"$\beta\,/\,n^{2/(d-1)}$")
    ax.set_ylabel(r"$\chi = -\,dE[H]\,/\,d\log\beta$")
    title = rf"n = {n:.0e}, {SUSCEPTIBILITY_CONTEXTS} contexts; dotted: mean-field plateau $(d-1)/2$"
    ax.set_title(title.replace("e+0", "e"))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return [_save(fig, out / "susceptibility.png")]


REGIME_D64 = [
    "regime", "--schedule", "qwen", "yarn", "ssmax", "llama4", "--dim", "64", "--n", "1e3:1e7", "--contexts", "512",
]  # fmt: skip
SIMPLEX_REGIME = [
    "regime", "--simplex", "0.5", "--dim", "128", "--base", "1", "--schedule", "ssmax:1", "ssmax:2", "ssmax:3",
    "--n", "1e2:1e4", "--contexts", "64",
]  # fmt: skip


_FIGURE_COMMANDS = {"critical": _critical, "heads": _heads, "regime": _regime}


def _cli_figure(arguments: list[str], file: str, json_file: str | None = None) -> Callable[[Path], list[Path]]:
    """A figure drawn by ``lattn ARGUMENTS --plot OUT/FILE`` (the command a docs
    page shows), with its table in ``OUT/JSON_FILE`` when given."""

    def make(out: Path) -> list[Path]:
        path = out / file
        written = [path] if json_file is None else [out / json_file, path]
        extra = [] if json_file is None else ["--json", str(out / json_file)]
        parser = argparse.ArgumentParser(prog="lattn")  # the one command (lattn_jax.cli imports this module)
        _FIGURE_COMMANDS[arguments[0]].add_parser(parser.add_subparsers(dest="command"))
        args = parser.parse_args([*arguments, "--quiet", *extra, "--plot", str(path)])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = _FIGURE_COMMANDS[arguments[0]].run(args)
        if code != 0:
            raise RuntimeError(f"lattn {' '.join(arguments)} exited with {code}")
        return written

    return make


figure(
    "critical-beta",
    "beta*(n) for d = 3, 4, 6 with power-law fits and the theory slope 2/(d-1): the default `lattn critical` run",
)(_cli_figure(["critical"], "critical-beta.png", json_file="critical-beta.json"))


figure(
    "real-heads",
    "all-MiniLM-L6-v2 on the stdlib-docstring corpus: each head's regime at n = 1e5 under its own scale and the "
    "published schedules, and t*(n) of four heads with the fitted laws: the default `lattn heads` run",
)(_cli_figure(["heads"], "real-heads.png", json_file="real-heads.json"))


figure(
    "regime-d64",
    "beta(n) of the Qwen, YaRN, SSMax and Llama 4 schedules against beta*(n) for uniform keys in d = 64, "
    "and E[max weight] at each schedule's beta",
)(_cli_figure(REGIME_D64, "regime-d64.png"))
figure(
    "simplex-regime",
    "E[max weight] of the almost-simplex (rho = 1/2, d = 128) under SSMax with gamma = 1, 2, 3 "
    "(below, at and above gamma_c = 2)",
)(_cli_figure(SIMPLEX_REGIME, "simplex-regime.png"))


def _validate_figure(check: str) -> Callable[[Path], list[Path]]:
    """The figure of the ``lattn validate`` check ``check``, with validate's own key
    (seed 0), saved as ``validate-CHECK.png``."""

    def make(out: Path) -> list[Path]:
        import shutil
        import tempfile

        import jax

        from ..checks import CHECK_NAMES, get_check

        key = jax.random.fold_in(jax.random.key(0), CHECK_NAMES.index(check))
        with tempfile.TemporaryDirectory() as tmp:
            get_check(check)(key, plot_dir=Path(tmp))
            (drawn,) = Path(tmp).glob("*.png")
            path = out / f"validate-{check}.png"
            shutil.move(drawn, path)
        return [path]

    return make


def _register_validate_figures() -> None:
    from ..checks import CHECK_NAMES

    for check in CHECK_NAMES:
        figure(f"validate-{check}", f"the figure of `lattn validate --only {check}` (seed 0)")(_validate_figure(check))


_register_validate_figures()


def add_parser(sub) -> argparse.ArgumentParser:
    """Register ``lattn figures``."""
    names = ", ".join(FIGURES)
    fig = sub.add_parser(
        "figures",
        help="regenerate every figure of the README and the docs (fixed seeds)",
        description=(
            "Regenerate the figures used in the README and the docs, deterministically (fixed seeds), "
            f"into DIR. Figures: {names}. Time: about 7 minutes on the idle 2-core development machine, compilation "
            'cache off (LATTN_JAX_CACHE="" lattn figures --out docs/figures): the sum of per-figure times in '
            "docs/figures.md."
        ),
    )
    fig.add_argument(
        "--out", type=Path, default=Path("docs/figures"), metavar="DIR", help="output folder (default: docs/figures)"
    )
    fig.add_argument("--only", nargs="+", metavar="NAME", help=f"make only these figures (of: {names})")
    fig.add_argument("--list", action="store_true", help="list the figures with their captions and exit")
    fig.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return fig


def run(args) -> int:
    """Run ``lattn figures``."""
    if args.list:
        for entry in FIGURES.values():
            print(f"{entry.name}: {entry.caption}")
        return 0
    names = args.only or list(FIGURES)
    unknown = [name for name in names if name not in FIGURES]
    if unknown:
        raise UsageError(f"--only: unknown figure {unknown[0]!r}; known: {', '.join(FIGURES)}")
    require_matplotlib("lattn figures")
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--out: cannot create folder {str(args.out)!r} ({err.strerror})") from None
    if not os.access(args.out, os.W_OK):
        raise UsageError(f"--out: folder {str(args.out)!r} is not writable")
    setup_jax()
    for name in names:
        start = time.perf_counter()
        paths = FIGURES[name].make(args.out)
        if not args.quiet:
            written = ", ".join(str(p) for p in paths)
            print(f"{name}: {written} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
