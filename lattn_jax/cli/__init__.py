"""The ``lattn`` command line. Each command is a module with ``add_parser(sub)``
and ``run(args) -> int``; JAX is imported inside ``run`` so ``--help`` is fast."""

import argparse
import sys
import traceback

from .._validation import ArgumentTypeError, ArgumentValueError
from . import _critical, _figures, _fit_schedule, _heads, _regime, _validate
from ._common import UsageError, check_interrupted, flag_message, sigint_guard

COMMANDS = (_critical, _validate, _regime, _fit_schedule, _figures, _heads)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The ``lattn`` argument parser with every command."""
    from .. import __version__

    parser = _Parser(prog="lattn", description="The long-context limit of softmax attention, measured.")
    parser.add_argument("--version", action="version", version=f"lattn-jax {__version__}")
    parser.epilog = "Run 'lattn COMMAND --help' for the options of a command. Docs: docs/ (mkdocs build), README.md."
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(sub).set_defaults(run=command.run)
    return parser


BUG = "lattn: internal error (a bug in lattn-jax, please report it with the command line)"


def main(argv=None) -> int:
    """Run ``lattn`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code:
    2 with one line for bad input (a ``UsageError``, or a library argument error,
    its message naming the flag), 130 on Ctrl-C, and 1 with the traceback for any
    other exception, which is a bug."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        with sigint_guard():
            code = args.run(args)
            check_interrupted()  # a Ctrl-C whose exception was swallowed still ends as an interrupt
            return code
    except UsageError as err:
        print(f"lattn: error: {err}", file=sys.stderr)
        return 2
    except (ArgumentValueError, ArgumentTypeError) as err:
        print(f"lattn: error: {flag_message(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lattn: interrupted (finished points are in the output file, if one was given)", file=sys.stderr)
        return 130
    except Exception as err:
        traceback.print_exc()
        first = str(err).strip().splitlines()[:1]
        print(f"{BUG}: {type(err).__name__}" + (f": {first[0]}" if first else ""), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
