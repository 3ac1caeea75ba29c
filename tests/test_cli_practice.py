"""lattn regime and lattn fit-schedule, end to end and on bad input."""

import json

import numpy as np
import pytest

from lattn_jax.cli import main
from lattn_jax.cli._regime import n_range


def test_regime_table_json_and_plot(tmp_path, capsys):
    # 2048 contexts: the beta* searches are the compiled program of the critical-convergence
    # check and of tests/test_critical.py (uniform keys in d = 3, order statistics, 2048 contexts).
    out, png = tmp_path / "regime.json", tmp_path / "regime.png"
    args = ["regime", "--dim", "3", "--n", "1e2:1e4", "--contexts", "2048", "--schedule", "qwen:100", "power:1,1"]
    assert main([*args, "--base", "5", "--json", str(out), "--plot", str(png)]) == 0
    text = capsys.readouterr().out
    assert "schedule qwen:100" in text and "schedule power:1,1" in text
    payload = json.loads(out.read_text())
    assert payload["config"]["ns"] == [100, 1000, 10000] and payload["config"]["method"] == "order-statistics"
    crit = {c["n"]: c["beta"] for c in payload["critical"]}
    qwen, power = (entry["rows"] for entry in payload["schedules"])
    for row in qwen:  # base 5 times max(1, log_100 n)
        assert row["beta"] == pytest.approx(5 * max(1.0, np.log(row["n"]) / np.log(100)), rel=1e-5)
        assert row["ratio"] == pytest.approx(row["beta"] / crit[row["n"]], rel=1e-5)
    # beta* ~ n^{2/(d-1)} = n for d = 3, so beta = n keeps a steady ratio and a steady regime
    ratios = [row["ratio"] for row in power]
    assert max(ratios) / min(ratios) < 1.5
    assert [row["regime"] for row in qwen][-1] == "sub-critical"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fit_schedule_command(tmp_path, capsys):
    out = tmp_path / "fit.json"
    args = ["fit-schedule", "--dim", "3", "--n", "100,1000", "--method", "dense", "--contexts", "64", "--steps", "60"]
    assert main([*args, "--json", str(out)]) == 0
    assert "theory 2/alpha = 1.0000" in capsys.readouterr().out
    payload = json.loads(out.read_text())
    assert len(payload["loss_history"]) == 60 and payload["loss"] < payload["loss_history"][0]
    assert payload["theory_exponent"] == 1.0
    assert (
        0.5 < payload["exponent"] < 1.5
    )  # two small n and 64 contexts: a smoke test; the 5% test is in test_schedule_fit


def test_n_range():
    assert n_range("1e3:1e7") == [1000, 10000, 100000, 1000000, 10000000]
    assert n_range("100:10000:3") == [100, 1000, 10000]
    assert n_range("300,100") == [100, 300]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["regime", "--schedule", "rope"], "unknown schedule 'rope'"),
        (["regime", "--n", "1e4:1e3"], "expected 0 < A < B"),
        (["regime", "--n", "1:2:3:4"], "expected A:B, A:B:K"),
        (["regime", "--band", "0.5"], "--band must be > 1"),
        (["regime", "--base", "-1"], "--base must be finite and > 0"),
        (["regime", "--simplex", "1.5"], "--simplex must be a number in [0, 1)"),
        (["regime", "--query", "q.npy"], "--query needs --keys"),
        (["fit-schedule", "--level", "0.001", "--n", "10,100"], "--level must be in (1/n, 1)"),
        (["fit-schedule", "--n", "100"], "--n must hold at least two distinct context sizes"),
    ],
)
def test_usage_errors(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.ones(4), "must be a 2-D array"),
        (np.array([[1.0, 0.0], [np.nan, 1.0]]), "NaN or inf"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), "zero vectors"),
        (np.ones((3, 2), np.int32), "must be a float array"),
    ],
)
def test_malformed_keys_file(tmp_path, capsys, array, message):
    path = tmp_path / "keys.npy"
    np.save(path, array)
    assert main(["regime", "--keys", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and err.count("\n") == 1


def test_critical_table_text():
    from lattn_jax.cli._critical import _chi2_text, _n_text

    # A fit through two points has no degrees of freedom left: say so, not "chi2/dof = 0.0/0".
    assert _chi2_text({"chi2": 0.0, "dof": 0}) == ", two points: no chi2 test"
    assert _chi2_text({"chi2": 1.64, "dof": 2}) == ", chi2/dof = 1.6/2"
    # n stays within its 9-character column however large.
    assert [_n_text(n) for n in (100, 999_999_999, 10**9, 10**15)] == ["100", "999999999", "1e+09", "1e+15"]


def test_regime_plot_title_typesets_math():
    from lattn_jax.cli._plot import _math_text

    assert _math_text("uniform keys on S^63") == "uniform keys on $S^{63}$"  # not a plain caret
    assert _math_text("almost-simplex, rho = 0.5, d = 128") == r"almost-simplex, $\rho$ = 0.5, d = 128"
    assert _math_text("keys from a$b.npy") == r"keys from a\$b.npy"
