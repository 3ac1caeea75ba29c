"""``lattn critical`` device and multi-process flags: clear one-line errors,
and a run split over two fake CPU devices."""

import json
import os
import subprocess
import sys

import pytest

from lattn_jax.cli import main


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "lattn_jax.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--devices", "0"], "expected 'all' or a device count >= 1"),
        (["--devices", "many"], "expected 'all' or a device count such as 4"),
        (["--devices", "64"], "--devices 64: only 1 device(s) available"),
        (["--num-processes", "2"], "--num-processes and --process-id need --coordinator"),
        (["--coordinator", "localhost"], "--coordinator must be HOST:PORT"),
        (["--coordinator", "localhost:99999"], "--coordinator must be HOST:PORT"),
        (["--coordinator", "localhost:1234"], "needs --num-processes P and --process-id I"),
        (["--coordinator", "h:1234", "--num-processes", "2", "--process-id", "2"], "--process-id must be in [0, 1]"),
        (["--coordinator", "auto", "--process-id", "0"], "--coordinator auto detects"),
    ],
)
def test_bad_device_flags_exit_2_with_one_line(args, message, capsys):
    # In-process (the test process sees one CPU device); the subprocess test below checks
    # that a real process exits with code 2 and prints the same single line.
    assert main(["critical", "--n", "100", *args]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith("lattn: error:"), err
    assert message in lines[0]


def test_bad_device_flag_in_a_real_process():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    result = _run("critical", "--n", "100", "--devices", "64", env=env)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lattn: error:"), result.stderr
    assert "--devices 64: only 1 device(s) available" in lines[0]


def test_devices_flag_reaches_the_library(tmp_path, capsys):
    """One device: --devices 1 is the plain path, recorded in the JSON."""
    out = tmp_path / "run.json"
    args = ["critical", "--dim", "3", "--n", "300", "--contexts", "64", "--check-contexts", "16", "--devices", "1"]
    assert main([*args, "--method", "streaming", "--json", str(out)]) == 0
    config = json.loads(out.read_text())["config"]
    assert (config["devices"], config["processes"], config["method"]) == (1, 1, "streaming")
    assert "d = 3" in capsys.readouterr().out
