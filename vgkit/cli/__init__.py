"""The ``vgkit`` command.

Each command group lives in its own module with a ``register(subparsers)``
function; ``main`` wires them up, and turns every ``VgkitError`` (and every
argument error) into one line on stderr and exit status 2. When the reader of
the output goes away (``vgkit cache stats | head -1``) every command stops
quietly with the status of a writer killed by SIGPIPE (141), without a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from vgkit import __version__
from vgkit.cli import cache, generate, llm, loadtest, netlab, quality, queue, render, report, serve
from vgkit.errors import UsageError, VgkitError

__all__ = ["COMMAND_MODULES", "EXIT_USAGE", "Parser", "build_parser", "main", "run"]

#: Modules that add subcommands, in the order ``vgkit --help`` lists them.
COMMAND_MODULES = (generate, render, serve, llm, cache, queue, loadtest, report, quality, netlab)

EXIT_USAGE = 2
EXIT_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a writer whose reader went away."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> Parser:
    parser = Parser(
        prog="vgkit",
        description="Generate video plans through a graph of agents, and measure the machinery.",
    )
    parser.add_argument("--version", action="version", version=f"vgkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        code: int = args.handler(args)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except VgkitError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"vgkit: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vgkit: interrupted", file=sys.stderr)
        return 130


def _reader_gone() -> int:
    """Stop quietly: point stdout at /dev/null so the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (captured)
        pass
    return EXIT_PIPE


def run() -> None:
    sys.exit(main())
