import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import assert_z, rtol

from lattn_jax.cli import main

# "p = 1.0123 ± 0.0234" in the fit lines: printed to 4 decimals, so within 5e-5 of the value
FIT_LINE = re.compile(r"p = ([-\d.]+) ± ([\d.]+)")
PRINTED = 5e-5


def _weighted_fit(rows, factors=None):
    """(p, se(p)) of log beta = log c + p log n weighted by 1 / (stderr / beta)^2,
    by NumPy's polyfit (an independent least squares), with known errors."""
    n = np.array([r["n"] for r in rows], float)
    beta = np.array([r["beta"] for r in rows]) / (1.0 if factors is None else np.asarray(factors))
    rel = np.array([r["stderr"] / r["beta"] for r in rows])
    coef, cov = np.polyfit(np.log(n), np.log(beta), 1, w=1 / rel, cov="unscaled")
    return coef[0], math.sqrt(cov[0, 0])


def _check_rows(rows, contexts, check_contexts):
    """E[max weight] at each beta* against the level 1/2: the check's own standard
    error, and the search's, which is that of a mean over --contexts instead of
    --check-contexts contexts at the same beta: check_se * sqrt(check / contexts)."""
    for r in rows:
        assert r["converged"]
        se = r["check_stderr"] * math.sqrt(1 + check_contexts / contexts)
        assert_z(r["check_max_weight"], 0.5, se)


def _assert_fit(fit, text, rows, theory, factors=None, line=0):
    """The reported and printed fit against an independent NumPy fit of the rows
    (float32 round-off: PowerLawFit holds JAX arrays of the default dtype; the
    printed 4 decimals), and the exponent against the theory within 4 of the
    printed standard errors."""
    p, se = _weighted_fit(rows, factors)
    assert fit["exponent"] == pytest.approx(p, rel=rtol(np.float32))
    assert fit["exponent_stderr"] == pytest.approx(se, rel=rtol(np.float32))
    printed_p, printed_se = map(float, FIT_LINE.findall(text)[line])
    assert abs(printed_p - p) <= PRINTED and abs(printed_se - se) <= PRINTED
    return (printed_p - theory) / printed_se


# The two `lattn critical` runs of uniform keys use 4096 contexts for the search and for the check,
# --quiet (no progress: a search with a step listener is another program, one the persistent cache
# does not keep): test_critical.py's test_root_and_fresh_context_check runs the same compiled search
# and estimate programs (one per d and count, for every n). tests/test_runlog.py covers progress.
def test_critical_run_writes_json_and_plot(tmp_path, capsys):
    out, png = tmp_path / "run.json", tmp_path / "run.png"
    argv = ["critical", "--dim", "3", "--n", "1e2", "1e3", "1e4", "--contexts", "4096", "--check-contexts", "4096"]
    rc = main([*argv, "--json", str(out), "--plot", str(png), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "d = 3" in text and "theory 2/(d-1) = 1.0000" in text
    payload = json.loads(out.read_text())
    assert payload["schema_version"] == 1
    assert payload["config"]["dims"] == [3] and payload["config"]["ns"] == [100, 1000, 10000]
    assert [r["n"] for r in payload["results"]] == [100, 1000, 10000]
    for r in payload["results"]:
        assert set(r) >= {"d", "n", "beta", "stderr", "check_max_weight", "check_stderr", "check_z"}
    _check_rows(payload["results"], 4096, 4096)
    (fit,) = payload["fits"]
    assert fit["d"] == 3 and fit["theory_exponent"] == 1.0
    assert abs(_assert_fit(fit, text, payload["results"], 2 / (3 - 1))) < 4
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "lattn_jax.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["critical", "--dim", "1"], "--dim must be >= 2"),
        (["critical", "--n", "abc"], "expected an integer"),
        (["critical", "--n", "1.5e0"], "expected an integer"),
        (["critical", "--n", "1"], "--n must be an integer >= 2"),
        (["critical", "--level", "1.5"], "--level must be in (1/n, 1)"),
        (["critical", "--level", "0.001", "--n", "100"], "--level must be in (1/n, 1)"),
        (["critical", "--contexts", "1"], "--contexts must be >= 2"),
        (["critical", "--json", "/nonexistent/dir/out.json"], "does not exist"),
        (["critical", "--method", "fast"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        (["critical", "--law", "gaussian"], "unknown law 'gaussian'"),
        (["critical", "--law", "power:x"], "bad parameter in 'power:x'"),
        (["critical", "--law", "subsphere:5", "--dim", "3"], "needs 2 <= M <= d"),
        (["critical", "--law", "power:-3", "--dim", "3"], "needs S > 1 - d"),
        (["critical", "--finite-size", "--criterion", "entropy_curvature"], "--finite-size applies to"),
        (["validate", "--only", "nope"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    """In process (main returns the exit code); test_help_and_version runs the real entry point."""
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), err
    assert message in lines[0]
    assert "Traceback" not in err


def test_help_and_version(capsys):
    with pytest.raises(SystemExit) as done:  # argparse ends --version and --help with sys.exit(0)
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("lattn-jax ")
    with pytest.raises(SystemExit) as done:
        main(["critical", "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    for flag in ["--dim", "--n", "--level", "--contexts", "--seed", "--x64", "--json", "--plot"]:
        assert flag in out
    result = _run("critical", "--dim", "1")  # the real entry point: the exit status through sys.exit, one line
    assert result.returncode == 2 and result.stderr.strip() == "lattn: error: --dim must be >= 2, got 1"


def test_critical_with_a_law_recovers_its_exponent(tmp_path, capsys):
    """Keys on a great 2-sphere inside R^6: alpha = 2 (m = 3: alpha = m - 1), so
    beta* ~ n^{2/alpha} = n^1, not n^{2/5}."""
    out = tmp_path / "sub.json"
    argv = ["critical", "--law", "subsphere:3", "--dim", "6", "--n", "1e2", "1e3", "1e4"]
    rc = main([*argv, "--contexts", "1024", "--check-contexts", "256", "--json", str(out), "--quiet"])  # cacheable
    assert rc == 0
    text = capsys.readouterr().out
    assert "law subsphere:3 (alpha = 2)" in text
    payload = json.loads(out.read_text())
    (fit,) = payload["fits"]
    assert payload["config"]["law"] == "subsphere:3" and fit["theory_exponent"] == 1.0
    _check_rows(payload["results"], 1024, 256)
    assert abs(_assert_fit(fit, text, payload["results"], 2 / (3 - 1))) < 4


@pytest.mark.slow
def test_finite_size_fit_at_d6_is_consistent_with_theory(tmp_path, capsys):
    """The issue's case: d = 6, n = 1e2..1e5 (the defaults). The plain fit is
    several standard errors above 2/(d-1) = 0.4; the fit with the exact
    finite-size factors is within 3."""
    out = tmp_path / "fs.json"
    args = ["critical", "--dim", "6", "--finite-size", "--contexts", "4096", "--check-contexts", "4096"]
    args += ["--json", str(out), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "finite-size fit" in text
    payload = json.loads(out.read_text())
    (plain,), (corrected,) = payload["fits"], payload["finite_size_fits"]
    rows = payload["results"]
    assert _assert_fit(plain, text, rows, 2 / (6 - 1)) > 3
    assert abs(_assert_fit(corrected, text, rows, 2 / (6 - 1), corrected["factors"], line=1)) < 3
    assert corrected["kappa"] < 0 and all(0.85 < f < 1 for f in corrected["factors"])


def test_validate_one_check_writes_json_and_figure(tmp_path, capsys):
    """E[W_(1)] at gamma* is 1/2 by the definition of gamma*: the simulation against
    1/2 and the theory's limit samples against 1/2 (|z| < 4 with the reported
    standard error); W_(2), W_(3) against the limit samples, z from the
    reported values."""
    out, figs = tmp_path / "v.json", tmp_path / "figs"
    rc = main(["validate", "--only", "ordered-weights", "--json", str(out), "--plot", str(figs)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "3/3 comparisons pass" in text
    payload = json.loads(out.read_text())
    assert payload["schema_version"] == 1 and len(payload["comparisons"]) == 3
    first, *others = payload["comparisons"]
    assert "W_(1)" in first["quantity"]
    assert_z(first["simulation"], 0.5, first["stderr"])
    assert_z(first["theory"], 0.5, first["stderr"])
    for c in others:
        assert c["passed"]
        assert_z(c["simulation"], c["theory"], c["stderr"])
    assert (figs / "ordered_weights.png").read_bytes()[:4] == b"\x89PNG"
