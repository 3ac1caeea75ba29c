"""The jaxtyping shape annotations are checked at runtime in tests only: a
subprocess imports lattn_jax under jaxtyping's import hook (with beartype)
and runs one pass through every public function."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("beartype")

WORKFLOW = textwrap.dedent(
    """
    import functools, os
    import jax, jax.numpy as jnp
    from jaxtyping import install_import_hook

    if os.environ.get("LATTN_JAX_CACHE"):  # the test session's compilation cache (conftest.py)
        jax.config.update("jax_compilation_cache_dir", os.environ["LATTN_JAX_CACHE"])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)  # ~100 small programs: keep all
    # The annotations are checked in Python while JAX traces; nothing here asserts a number, so
    # XLA need not optimize what it compiles (backend compile time about halved).
    jax.config.update("jax_disable_most_optimizations", True)

    with install_import_hook("lattn_jax", "beartype.beartype"):
        import lattn_jax as lj

    law = lj.UniformSphere(4)
    keys = law.sample(jax.random.key(0), 500)
    q = law.query()
    lj.attention_output(q, keys, 3.0)
    lj.attention_output(q, keys, 3.0, jnp.ones((500, 2)))
    lj.attention_output(q, keys, 3.0, jnp.ones(500))
    top3 = lj.TopKMass(3)
    for f in [lj.entropy, lj.max_weight, lj.effective_size, lj.participation_ratio, top3]:
        f(q, keys, 3.0)
    lj.mc_estimate(top3, law, 5000, jnp.array([10.0, 100.0]), jax.random.key(1), 16, derivative=True)
    lj.mc_estimate(lambda q, k, b: lj.max_weight(q, k, b), law, 300, 10.0, jax.random.key(1), 8)
    lj.mc_estimate(lj.max_weight, law, 300, 10.0, jax.random.key(1), 8, method="dense")
    lj.mc_estimates((lj.entropy, lj.max_weight), law, 300, 10.0, jax.random.key(1), 8, method="dense")
    lj.find_critical_beta(law, 1000, jax.random.key(2), num_contexts=64)
    scan = lj.critical_scan(law, [100, 1000], jax.random.key(3), num_contexts=64)
    lj.fit_power_law([100, 1000], scan.beta, scan.stderr)
    lj.theory.critical_exponent(law)
    print("ok")
    """
)


def test_public_api_satisfies_its_annotations():
    result = subprocess.run([sys.executable, "-c", WORKFLOW], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
