import os
import tempfile

import jax
import numpy as np
import pytest
from hypothesis import settings

from lattn_jax.cli._common import setup_jax

# One on-disk compilation cache for the whole session: the xdist workers and the
# subprocesses that run `lattn` (which read LATTN_JAX_CACHE) compile each
# program once between them. Keyed by the program, JAX version and flags, so a
# stale entry is never used; delete the folder to time a cold run.
os.environ.setdefault("LATTN_JAX_CACHE", os.path.join(tempfile.gettempdir(), f"lattn-jax-tests-xla-{os.getuid()}"))
setup_jax()  # the CLI's own cache setup, reading LATTN_JAX_CACHE
# Every program into the cache, however quick to compile (the CLI keeps only
# those over 0.5 s): the suite compiles thousands of small ones, and with them
# cached a warm run of tests/test_observables.py + test_attention.py took 34 s
# instead of 67 s (cold unchanged, 88 s).
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

# Hypothesis: random exploration locally (a failure prints the seed and the
# @reproduce_failure blob that replays it); CI (`.ci/run` sets
# HYPOTHESIS_PROFILE=ci) derandomised, so a run is a function of the commit.
settings.register_profile("dev", print_blob=True)
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _strict_promotion():
    with jax.numpy_dtype_promotion("strict"):
        yield


@pytest.fixture
def key():
    return jax.random.key(20261129)


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def rtol(dtype) -> float:
    """Relative tolerance for float round-off in a computation of modest depth."""
    return {np.dtype("float32"): 2e-5, np.dtype("float64"): 1e-12}[np.dtype(dtype)]


def sphere(rng: np.random.Generator, shape: tuple[int, ...], d: int) -> np.ndarray:
    """Uniform unit vectors in R^d (normalised Gaussians, float64, NumPy only):
    the brute-force references' own sampler, independent of the library's."""
    x = rng.standard_normal((*shape, d))
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis in NumPy (shifted by the maximum)."""
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def assert_z(value, expected, stderr, bound=4.0):
    """``value`` within ``bound`` reported standard errors of ``expected``."""
    z = (float(value) - float(expected)) / float(stderr)
    assert abs(z) < bound, f"|z| = {abs(z):.2f} >= {bound}: {float(value)} vs {float(expected)} ± {float(stderr)}"


def pytest_collection_modifyitems(config, items):
    """The tests marked slow first (stable order otherwise), so that xdist does
    not leave a long test to run alone at the end of the session."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
