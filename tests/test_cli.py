import json
import subprocess
import sys

import pytest

from lattn_jax.cli import main


def test_critical_run_writes_json_and_plot(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATTN_JAX_CACHE", str(tmp_path / "xla-cache"))
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
        (["critical", "--level", "1.5"], "--level must be in (0, 1)"),
        (["critical", "--level", "0.001", "--n", "100"], "--level must exceed 1/n"),
        (["critical", "--contexts", "1"], "--contexts and --check-contexts must be >= 2"),
        (["critical", "--json", "/nonexistent/dir/out.json"], "does not exist"),
        (["critical", "--method", "fast"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
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
