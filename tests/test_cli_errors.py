"""How ``lattn`` ends: bad input is one ``lattn: error:`` line naming the flag
(exit 2, nothing on stdout), a library argument error included; anything else
is a bug, shown with its traceback and a last line that says so (exit 1)."""

import pytest

from lattn_jax import cli
from lattn_jax.cli import build_parser, main
from lattn_jax.cli._common import FLAGS, flag_message


def test_usage_error_is_one_line_exit_2(capsys):
    assert main(["critical", "--finite-size", "--criterion", "entropy_curvature"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("lattn: error: --finite-size applies"), line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["regime", "--dim", "1"], "lattn: error: --dim must be an integer >= 2, got 1"),
        (["regime", "--simplex", "1.5"], "lattn: error: --simplex must be a number in [0, 1), got 1.5"),
        (["regime", "--base", "0"], "lattn: error: --base must be finite and > 0, got 0.0"),
        (["fit-schedule", "--contexts", "1"], "lattn: error: --contexts must be an integer >= 2, got 1"),
        (["fit-schedule", "--steps", "0"], "lattn: error: --steps must be an integer >= 1, got 0"),
        (["critical", "--n", "100", "1"], "lattn: error: --n must be an integer >= 2 at each entry"),
        (["regime", "--schedule", "qwen:1"], "lattn: error: --schedule qwen:1: train_length must be > 1"),
    ],
)
def test_library_argument_errors_name_the_flag(args, message, capsys):
    """Checks the CLI leaves to the library: the library's message, with the flag for the argument."""
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith(message), line


def test_flag_table_names_real_flags():
    flags = set()
    (sub,) = [a for a in build_parser()._actions if a.dest == "command"]
    for parser in sub.choices.values():
        flags |= {opt for action in parser._actions for opt in action.option_strings}
    assert set(FLAGS.values()) <= flags, set(FLAGS.values()) - flags


def test_flag_message():
    from lattn_jax._validation import ArgumentTypeError, ArgumentValueError

    assert flag_message(ArgumentValueError("num_contexts must be >= 2", argument="num_contexts")) == (
        "--contexts must be >= 2"
    )
    assert (
        flag_message(ArgumentValueError("unknown schedule 'x'", argument="spec")) == "--schedule: unknown schedule 'x'"
    )
    assert flag_message(ArgumentTypeError("head must be an integer", argument="head")) == "head must be an integer"
    assert flag_message(ArgumentValueError("no argument", argument=None)) == "no argument"
    # "n" is not the start of "num_queries ...": only a whole name is replaced.
    assert flag_message(ArgumentValueError("nope", argument="n")) == "--n: nope"


@pytest.mark.parametrize("error", [ValueError("deep inside XLA"), TypeError("f() takes 2 arguments"), KeyError("x")])
def test_any_other_exception_is_a_bug_exit_1_with_traceback(error, monkeypatch, capsys):
    def broken(args):
        raise error

    monkeypatch.setattr(cli._regime, "run", broken)
    assert main(["regime"]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and lines[0] == "Traceback (most recent call last):", err
    assert "in broken" in err  # the traceback reaches the failing code
    assert lines[-1].startswith("lattn: internal error (a bug in lattn-jax, please report it with the command line): ")
    assert lines[-1].endswith(f"{type(error).__name__}: {error}"), lines[-1]


def test_ctrl_c_is_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli._regime, "run", interrupted)
    assert main(["regime"]) == 130
    assert "lattn: interrupted" in capsys.readouterr().err
