"""What every check uses: the mean and standard error of a sample, and
matplotlib's pyplot (Agg, imported only when a figure is drawn)."""

import math
from pathlib import Path

import numpy as np


def mean_se(x) -> tuple[float, float]:
    """The sample mean of ``x`` and its standard error (float64).

    Examples:
        >>> mean_se([1.0, 2.0, 3.0])
        (2.0, 0.5773502691896258)
    """
    x = np.asarray(x, np.float64)
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(plt, fig, plot_dir, name: str) -> None:
    """Lay out ``fig``, write it to ``plot_dir / name`` and close it."""
    fig.tight_layout()
    fig.savefig(Path(plot_dir) / name)
    plt.close(fig)
