"""Pieces every ``lattn`` command shares: argument types, one-line usage errors,
JAX set-up, Ctrl-C handling and atomic JSON output."""

import argparse
import contextlib
import json
import math
import os
import signal
import threading
from pathlib import Path

SCHEMA_VERSION = 1


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


FLAGS = {
    "n": "--n",
    "ns": "--n",
    "d": "--dim",
    "num_contexts": "--contexts",
    "level": "--level",
    "steps": "--steps",
    "rho": "--simplex",
    "base": "--base",
    "band": "--band",
    "keys": "--keys",
    "query": "--query",
    "method": "--method",
    "devices": "--devices",
    "spec": "--schedule",
}
"""The flag that sets each library argument a command passes through unchecked:
a library ``ArgumentValueError``/``ArgumentTypeError`` names the argument
(``err.argument``), the CLI names the flag (see ``flag_message``)."""


def flag_message(err: Exception) -> str:
    """A library argument error's message, naming the flag: ``num_contexts must
    be ...`` reads ``--contexts must be ...``; a message that does not start with
    the argument gets the flag in front (``--schedule: unknown schedule ...``);
    an argument without a flag leaves the message as it is."""
    message, argument = str(err), getattr(err, "argument", None)
    flag = FLAGS.get(argument)
    if flag is None:
        return message
    if message.startswith(argument) and message[len(argument) : len(argument) + 1] in (" ", "[", ":"):
        return flag + message[len(argument) :]
    return f"{flag}: {message}"


def integer(examples: str):
    """An argparse type for an integer that may be written like ``1e5``; a bad
    value's message gives ``examples`` (e.g. ``"3 or 64"``), ones that fit the flag."""

    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value != int(value):
            raise argparse.ArgumentTypeError(f"expected an integer such as {examples}, got {text!r}")
        return int(value)

    parse.__name__ = "integer"  # argparse names the type in some messages
    return parse


count = integer("1000 or 1e5")
"""A count of keys or contexts, e.g. ``1000`` or ``1e5``."""


LEVEL_RANGE = "in (1/n, 1) for the smallest n"


def check_level(level: float, n_min: int) -> None:
    """``--level`` in ``(1/n, 1)`` for the smallest ``n`` (the max weight at beta = 0 is 1/n)."""
    if not 1.0 / n_min < level < 1.0:  # NaN fails too
        raise UsageError(f"--level must be {LEVEL_RANGE} = {n_min}, i.e. in ({1 / n_min:.3g}, 1), got {level}")


def check_n_max(n_max: int, law, method: str, dtype, where: str, hint: str = "") -> None:
    """``--n`` up to ``n_max`` within the largest size ``method`` supports for
    ``law``, and ``beta*`` (about ``n^(2/alpha)``) well inside ``dtype``'s range:
    below ``finfo.max ** 0.85`` (5e32 in float32; d = 2, n = 1e15 runs at 4e28)."""
    import numpy as np

    from .._sampling._contexts import make_sampler

    sampler = make_sampler(law, n_max, method)  # the largest n it supports is the sampler's to say
    resolved, (limit, reason) = sampler.name, sampler.max_n
    if n_max > limit:
        how = f"--method {method}" + (f" ({resolved} here)" if method == "auto" else "")
        raise UsageError(f"--n must be <= {limit:.4g} with {how}: {reason}; got {n_max:.4g}")
    alpha = law.local_exponent
    if alpha is None:
        return
    p, top = 2.0 / alpha, 0.85 * math.log10(np.finfo(dtype).max)
    if p * math.log10(n_max) > top:
        raise UsageError(
            f"--n must be <= {10 ** (top / p):.3g} for {where} in {np.dtype(dtype).name} (beta* ~ n^{p:.3g} "
            f"would near the float range); got {n_max:.4g}{hint}"
        )


def require_matplotlib(what: str) -> None:
    """Raise a UsageError naming ``what`` (e.g. ``"--plot"``) if matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError(
            f'{what} needs matplotlib: in the lattn-jax clone, pip install -e ".[plot]" (or pip install matplotlib)'
        ) from None


def writable(text: str) -> Path:
    """A file path whose directory exists and is writable."""
    path = Path(text)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}")
    return path


_SIGINT = {"seen": False}


def _on_sigint(signum, frame):
    _SIGINT["seen"] = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigint_guard():
    """Ctrl-C raises ``KeyboardInterrupt`` as usual, and is also remembered:
    Python drops an exception raised inside a garbage-collection callback (JAX
    has one), so a Ctrl-C landing there would otherwise be lost and the run
    would go on. ``check_interrupted`` re-raises it at a safe point. Only
    where SIGINT has Python's default handler, on the main thread."""
    install = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if install:  # the outermost command (``lattn figures`` runs others inside itself)
        _SIGINT["seen"] = False
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        if install:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def check_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C arrived whose exception was swallowed."""
    if _SIGINT["seen"]:
        raise KeyboardInterrupt


def setup_jax(x64: bool = False):
    """Import JAX with the persistent compilation cache (``LATTN_JAX_CACHE=""``
    turns it off) and, if asked, float64."""
    import jax

    cache = os.environ.get("LATTN_JAX_CACHE", str(Path.home() / ".cache" / "lattn-jax" / "xla"))
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    if x64:
        jax.config.update("jax_enable_x64", True)
    return jax


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` atomically: an interrupted run leaves the last complete file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)


LAW_SPECS = (
    "uniform, subsphere:M (keys on a great (M-1)-sphere through q, 2 <= M <= d), power:S (density ∝ |k-q|^S, S > 1-d)"
)


def law_spec(text: str) -> tuple[str, float | None]:
    """A context-law spec for ``--law``: ``uniform``, ``subsphere:M`` or ``power:S``."""
    name, _, param = text.partition(":")
    if name == "uniform" and not param:
        return name, None
    if name in ("subsphere", "power") and param:
        try:
            value = count(param) if name == "subsphere" else float(param)
        except (argparse.ArgumentTypeError, ValueError):
            raise argparse.ArgumentTypeError(f"bad parameter in {text!r}; laws: {LAW_SPECS}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"bad parameter in {text!r}; laws: {LAW_SPECS}")
        return name, value
    raise argparse.ArgumentTypeError(f"unknown law {text!r}; laws: {LAW_SPECS}")


def make_law(spec: tuple[str, float | None], d: int):
    """The law a ``law_spec`` names, in dimension ``d`` (a ValueError names a bad combination)."""
    from .._laws import PowerDensity, Subsphere, UniformSphere

    name, param = spec
    if name == "uniform":
        return UniformSphere(d)
    if name == "subsphere":
        if not 2 <= param <= d:
            raise UsageError(f"--law subsphere:M needs 2 <= M <= d, got M = {param} with d = {d}")
        return Subsphere(d, int(param))
    if not param > 1 - d:
        raise UsageError(f"--law power:S needs S > 1 - d = {1 - d}, got S = {param} with d = {d}")
    return PowerDensity(d, param)


def law_name(spec: tuple[str, float | None]) -> str:
    """The spec as text, e.g. ``subsphere:3``."""
    name, param = spec
    return name if param is None else f"{name}:{param:g}"
