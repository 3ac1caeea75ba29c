"""Theory against simulation: each check runs a moderate Monte Carlo experiment
and returns [`Comparison`][lattn_jax.checks.Comparison] rows (``lattn validate`` prints them; the tests
assert them). A check is a function ``check(key, *, plot_dir=None) ->
list[Comparison]`` that writes its figure into ``plot_dir`` when given one."""

import importlib
import math
from collections.abc import Callable
from typing import NamedTuple

from .._validation import ArgumentValueError

Z_PASS = 4.0


class Comparison(NamedTuple):
    """One theory-vs-simulation comparison.

    Attributes:
        regime: ``"subcritical"``, ``"critical"``, ``"supercritical"`` or another short label.
        quantity: what is compared, e.g. ``"E[max weight], d=3, gamma=1"``.
        theory: the theory's value.
        simulation: the Monte Carlo value.
        stderr: the standard error of ``simulation - theory`` (Monte Carlo, plus
            the theory's own numerical error where it has one).

    Examples:
        >>> c = Comparison("critical", "E[max weight]", 0.5, 0.51, 0.005)
        >>> round(c.z, 2), c.passed
        (2.0, True)
    """

    regime: str
    quantity: str
    theory: float
    simulation: float
    stderr: float

    @property
    def z(self) -> float:
        """``(simulation - theory) / stderr``."""
        return float((self.simulation - self.theory) / self.stderr) if self.stderr > 0 else math.inf

    @property
    def passed(self) -> bool:
        """``|z| < 4``."""
        return bool(abs(self.z) < Z_PASS)


# (name, module, function): imported on demand so the CLI's --help stays fast.
_REGISTRY = (
    ("collapse", "_critical", "check_collapse"),
    ("ordered-weights", "_critical", "check_ordered_weights"),
    ("critical-convergence", "_critical", "check_critical_convergence"),
    ("mean-field", "_mean_field", "check_mean_field"),
    ("supercritical", "_supercritical", "check_supercritical"),
    ("heat", "_heat", "check_heat"),
)
CHECK_NAMES = tuple(name for name, _, _ in _REGISTRY)


def get_check(name: str) -> Callable:
    """The check function registered as ``name`` (one of ``CHECK_NAMES``).

    Examples:
        >>> get_check("collapse").__name__
        'check_collapse'
    """
    for registered, module, function in _REGISTRY:
        if registered == name:
            return getattr(importlib.import_module(f"{__name__}.{module}"), function)
    raise ArgumentValueError(f"check must be one of {', '.join(CHECK_NAMES)}, got {name!r}")
