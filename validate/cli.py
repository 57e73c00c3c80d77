"""The ``turing-grids`` command line.

Every subcommand lives in its own module under :mod:`validate.commands` and
exposes ``register(subparsers)``; the module imports heavy libraries (torch,
matplotlib, dask) only inside its ``run`` function, so that light commands
such as ``predict`` start fast.

Contract (see the README): with ``--json`` a subcommand prints exactly one JSON
object on stdout. Bad input ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

from simulate.files import jsonable

COMMANDS = (
    "predict",
    "spectrum",
    "pattern",
    "train",
    "score",
    "compare",
    "sweep",
    "report",
    "modules",
)

EXIT_BAD_INPUT = 2


class CommandError(Exception):
    """Bad input detected by a command; ends it with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # noqa: D102
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with one subparser per available command."""
    parser = _Parser(
        prog="turing-grids",
        description="Turing-instability theory of grid cells: predict, simulate, "
        "train, score and compare.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress to stderr"
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"validate.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"validate.commands.{name}":
                raise
            continue
        module.register(subparsers, parser_class=_Parser)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` flag every subcommand shares."""
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object on stdout and nothing else there",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turing-grids`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    prog = f"turing-grids {args.command}"
    try:
        result, text = args.run(args)
    except (CommandError, ValueError, OSError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        sys.stderr.write(f"{prog}: error: {message}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        return 130
    if args.json:
        sys.stdout.write(json.dumps(jsonable(result), allow_nan=False) + "\n")
    elif text:
        sys.stdout.write(text.rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
