"""Every ``lattn validate`` comparison is also a test: each registered check
passes (|z| < 4) with its fixed seed."""

import jax
import pytest

from lattn_jax.checks import CHECK_NAMES, Comparison, get_check


@pytest.mark.slow
@pytest.mark.parametrize("name", CHECK_NAMES)
def test_check_passes(name, tmp_path):
    """With the keys ``lattn validate`` uses by default (seed 0), so the table and the tests agree."""
    rows = get_check(name)(jax.random.fold_in(jax.random.key(0), CHECK_NAMES.index(name)), plot_dir=tmp_path)
    assert rows and all(isinstance(r, Comparison) for r in rows)
    assert [p.read_bytes()[:4] for p in tmp_path.glob("*.png")] and all(
        p.read_bytes()[:4] == b"\x89PNG" for p in tmp_path.glob("*.png")
    )
    failed = [f"{r.quantity}: z = {r.z:.2f}" for r in rows if not r.passed]
    assert not failed, failed


def test_unknown_check():
    with pytest.raises(ValueError, match="check must be one of"):
        get_check("nope")
