import json
import subprocess
import sys

import pytest

from lattn_jax.cli import main


def test_critical_run_writes_json_and_plot(tmp_path, capsys):
    out, png = tmp_path / "run.json", tmp_path / "run.png"
    rc = main(
        [
            "critical",
            "--dim",
            "3",
            "--n",
            "1e2",
            "1e3",
            "1e4",
            "--contexts",
            "1024",
            "--check-contexts",
            "512",
            "--json",
            str(out),
            "--plot",
            str(png),
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "d = 3" in text and "theory 2/(d-1) = 1.0000" in text
    payload = json.loads(out.read_text())
    assert payload["schema_version"] == 1
    assert payload["config"]["dims"] == [3] and payload["config"]["ns"] == [100, 1000, 10000]
    assert [r["n"] for r in payload["results"]] == [100, 1000, 10000]
    for r in payload["results"]:
        assert set(r) >= {"d", "n", "beta", "stderr", "check_max_weight", "check_stderr"}
        assert r["converged"] and abs(r["check_z"]) < 4
    (fit,) = payload["fits"]
    assert fit["d"] == 3 and fit["theory_exponent"] == 1.0
    assert abs(fit["exponent"] - 1.0) < 0.05
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _run(*args):
    return subprocess.run([sys.executable, "-m", "lattn_jax.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["critical", "--dim", "1"], "--dim must be >= 2"),
        (["critical", "--n", "abc"], "expected an integer"),
        (["critical", "--n", "1.5e0"], "expected an integer"),
        (["critical", "--n", "1"], "--n must be >= 2"),
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
def test_bad_input_exits_2_with_one_line(args, message):
    result = _run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_help_and_version():
    result = _run("--version")
    assert result.returncode == 0 and result.stdout.startswith("lattn-jax ")
    result = _run("critical", "--help")
    assert result.returncode == 0
    for flag in ["--dim", "--n", "--level", "--contexts", "--seed", "--x64", "--json", "--plot"]:
        assert flag in result.stdout


def test_critical_with_a_law_recovers_its_exponent(tmp_path, capsys):
    """Keys on a great 2-sphere inside R^6: alpha = 2, so beta* ~ n^1, not n^{2/5}."""
    out = tmp_path / "sub.json"
    argv = ["critical", "--law", "subsphere:3", "--dim", "6", "--n", "1e2", "1e3", "1e4"]
    rc = main([*argv, "--contexts", "1024", "--check-contexts", "256", "--json", str(out)])
    assert rc == 0
    assert "law subsphere:3 (alpha = 2)" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    (fit,) = payload["fits"]
    assert payload["config"]["law"] == "subsphere:3" and fit["theory_exponent"] == 1.0
    assert abs(fit["z"]) < 4


@pytest.mark.slow
def test_finite_size_fit_at_d6_is_consistent_with_theory(tmp_path, capsys):
    """The issue's case: d = 6, n = 1e2..1e5 (the defaults). The plain fit is
    several standard errors above 2/(d-1) = 0.4; the fit with the exact
    finite-size factors is within 3."""
    out = tmp_path / "fs.json"
    args = ["critical", "--dim", "6", "--finite-size", "--contexts", "2048", "--check-contexts", "256"]
    args += ["--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "finite-size fit" in text
    payload = json.loads(out.read_text())
    (plain,), (corrected,) = payload["fits"], payload["finite_size_fits"]
    assert plain["z"] > 3
    assert abs(corrected["z"]) < 3
    assert corrected["kappa"] < 0 and all(0.85 < f < 1 for f in corrected["factors"])


def test_validate_one_check_writes_json_and_figure(tmp_path, capsys):
    out, figs = tmp_path / "v.json", tmp_path / "figs"
    rc = main(["validate", "--only", "ordered-weights", "--json", str(out), "--plot", str(figs)])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "3/3 comparisons pass" in text
    payload = json.loads(out.read_text())
    assert payload["schema_version"] == 1 and len(payload["comparisons"]) == 3
    assert all(c["passed"] and abs(c["z"]) < 4 for c in payload["comparisons"])
    assert (figs / "ordered_weights.png").read_bytes()[:4] == b"\x89PNG"
