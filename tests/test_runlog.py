"""Resumable runs, CSV output and progress of ``lattn critical``: a real run is
killed mid-way (SIGINT, then SIGKILL) and resumed."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lattn_jax.cli import main
from lattn_jax.cli._critical import CSV_COLUMNS

# Dense sampling throughout: the in-process runs below (n = 100, 200) then use the programs the
# killed run's processes compiled and stored in the session's compilation cache (conftest.py).
CONFIG = ["--dim", "3", "--method", "dense", "--contexts", "64", "--check-contexts", "64", "--seed", "7"]
# The killed run: three context sizes, so each n is a new compiled program (a shape) and a run
# spends seconds between points: the kill lands mid-run, never after the end.
NS = ["100", "200", "400"]
SCAN = [*CONFIG, "--n", *NS]


def _points(path):
    """Complete point lines of a JSONL log (every complete line must be JSON)."""
    lines = path.read_bytes().split(b"\n")
    complete, last = lines[:-1], lines[-1]  # text after the last newline is an unfinished write
    records = [json.loads(line) for line in complete if line.strip()]
    assert records[0]["kind"] == "header" and records[0]["schema_version"] == 1
    assert last == b"" or last.startswith(b"{")
    return [r for r in records[1:] if r["kind"] == "point"]


def _start(log, *extra):
    env = dict(os.environ)  # LATTN_JAX_CACHE: the session's compilation cache (conftest.py)
    cmd = [sys.executable, "-m", "lattn_jax.cli", "critical", *SCAN, "--jsonl", str(log), "--quiet", *extra]
    # A child inherits an ignored SIGINT from a background parent (nohup, `cmd &`): restore the default,
    # so Python turns SIGINT into KeyboardInterrupt as it does at a terminal.
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_points(proc, log, count, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and len(_points(log)) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"no {count} points after {timeout} s")


@pytest.mark.slow
def test_interrupted_run_resumes_and_loses_nothing(tmp_path):
    log = tmp_path / "scan.jsonl"
    proc = _start(log)
    try:
        _wait_for_points(proc, log, 1)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    after_sigint = _points(log)
    assert 1 <= len(after_sigint) < len(NS)

    proc = _start(log, "--resume")
    try:
        _wait_for_points(proc, log, len(after_sigint) + 1)
        proc.send_signal(signal.SIGKILL)  # kill -9: no clean-up at all
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    after_sigkill = _points(log)
    assert after_sigkill[: len(after_sigint)] == after_sigint  # nothing finished is lost or changed
    assert len(after_sigint) < len(after_sigkill) <= len(NS)

    proc = _start(log, "--resume")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert out.count("(resumed)") == len(after_sigkill)
    final = _points(log)
    assert final[: len(after_sigkill)] == after_sigkill
    assert sorted(r["n"] for r in final) == [int(n) for n in NS]  # each point exactly once
    assert all(r["converged"] for r in final)

    # Each point's keys depend on (seed, d, n) only: an uninterrupted run gives the same numbers
    # (n = 100, compiled by the first run: the shared cache makes this quick).
    fresh = tmp_path / "fresh.json"
    assert main(["critical", *CONFIG, "--n", "100", "--json", str(fresh), "--quiet"]) == 0
    (row,) = json.loads(fresh.read_text())["results"]
    assert row == {k: v for k, v in final[0].items() if k != "kind"}


def test_resume_refuses_a_different_config(tmp_path, capsys):
    log = tmp_path / "scan.jsonl"
    header = {"schema_version": 1, "kind": "header", "command": "critical", "config": {"contexts": 64}}
    log.write_text(json.dumps(header) + "\n")
    assert main(["critical", *CONFIG, "--n", "100", "--jsonl", str(log), "--resume"]) == 2
    message = capsys.readouterr().err
    assert "cannot resume" in message and "different config" in message and "check_contexts" in message
    assert main(["critical", *CONFIG, "--n", "100", "--jsonl", str(log)]) == 2
    assert "pass --resume" in capsys.readouterr().err
    assert main(["critical", *CONFIG, "--n", "100", "--resume"]) == 2
    assert "--resume needs --jsonl" in capsys.readouterr().err
    log.write_text("not json\n{}\n")
    assert main(["critical", *CONFIG, "--n", "100", "--jsonl", str(log), "--resume"]) == 2
    assert "not a lattn JSONL log" in capsys.readouterr().err


def test_csv_progress_and_quiet(tmp_path, capsys):
    table, log = tmp_path / "out.csv", tmp_path / "out.jsonl"
    assert main(["critical", *CONFIG, "--n", "100", "200", "--csv", str(table), "--jsonl", str(log)]) == 0
    captured = capsys.readouterr()
    # The progress bar's final state (stderr is not a terminal here): the last point's last stage.
    assert "2/2 points" in captured.err and "d=3 n=200 · checking" in captured.err
    with table.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["schema_version", *CSV_COLUMNS]
    assert [(r["schema_version"], r["n"]) for r in rows] == [("1", "100"), ("1", "200")]
    for row, point in zip(rows, _points(log), strict=True):
        assert float(row["beta"]) == point["beta"] and float(row["stderr"]) == point["stderr"]

    # --resume with everything finished runs nothing; --quiet leaves stderr to the file notices.
    assert main(["critical", *CONFIG, "--n", "100", "200", "--jsonl", str(log), "--resume", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("(resumed)") == 2
    assert captured.err.strip().splitlines() == [f"results written to {log}"]


def test_swallowed_ctrl_c_still_interrupts(tmp_path, monkeypatch, capsys):
    """A real Ctrl-C (SIGINT sent to this process) that lands inside a garbage-collection
    callback, where Python drops the KeyboardInterrupt (JAX has such a callback), is
    remembered: the run stops before the next point, exit code 130."""
    import gc

    from lattn_jax import _critical
    from lattn_jax.cli import _common

    real = _critical.find_critical_beta
    dropped = []  # what Python reports as "Exception ignored" (sys.unraisablehook)

    def ctrl_c_during_gc(phase, info):
        if phase == "start" and not dropped:
            os.kill(os.getpid(), signal.SIGINT)  # the handler runs at the next bytecode, here
            for _ in range(10_000):
                pass

    def search(*args, **kwargs):  # the first search ends with a garbage collection hit by Ctrl-C
        crit = real(*args, **kwargs)
        gc.callbacks.append(ctrl_c_during_gc)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(ctrl_c_during_gc)
        return crit

    monkeypatch.setattr(_critical, "find_critical_beta", search)
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: dropped.append(unraisable.exc_type))
    monkeypatch.setitem(_common._SIGINT, "seen", False)  # restored after the test, so no later run sees it
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # what the CLI expects (a terminal)
    try:
        log = tmp_path / "scan.jsonl"
        code = main(["critical", *CONFIG, "--n", "100", "200", "--jsonl", str(log), "--quiet"])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert dropped == [KeyboardInterrupt]  # the Ctrl-C's exception really was swallowed ...
    assert code == 130 and "interrupted" in capsys.readouterr().err  # ... and the run still stopped
    assert [p["n"] for p in _points(log)] == [100]  # the finished point is kept, the next never started


def test_progress_final_line_is_whole_when_stderr_is_not_a_terminal(capsys):
    from lattn_jax.cli._runlog import Progress

    with Progress(6) as bar:
        bar.start("E[max w] and E[H] at the schedules' beta(n)")
        for _ in range(6):
            bar.advance()
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "…" not in line and line.endswith("6/6 points 0:00:00 left 0:00:00"), line
