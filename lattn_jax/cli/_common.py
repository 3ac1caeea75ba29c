"""Pieces every ``lattn`` command shares: argument types, one-line usage errors,
JAX set-up and atomic JSON output."""

import argparse
import json
import math
import os
from pathlib import Path

SCHEMA_VERSION = 1


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit code 2."""


def count(text: str) -> int:
    """An integer count that may be written like ``1e5``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer such as 1000 or 1e5, got {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"expected an integer such as 1000 or 1e5, got {text!r}")
    return int(value)


def writable(text: str) -> Path:
    """A file path whose directory exists and is writable."""
    path = Path(text)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}")
    return path


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
