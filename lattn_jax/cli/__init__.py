"""The ``lattn`` command line. Each command is a module with ``add_parser(sub)``
and ``run(args) -> int``; JAX is imported inside ``run`` so ``--help`` is fast."""

import argparse
import sys

from . import _critical, _figures, _fit_schedule, _heads, _regime, _validate
from ._common import UsageError, check_interrupted, sigint_guard

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


def main(argv=None) -> int:
    """Run ``lattn`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
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
    except (UsageError, ValueError, TypeError) as err:
        print(f"lattn: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lattn: interrupted (finished points are in the output file, if one was given)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
