"""Running the command: parse, run, and turn whatever went wrong into one line and an exit code."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from issuecore.cli._context import Run
from issuecore.cli._errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_OK, describe
from issuecore.cli._parser import build_parser

DEBUG_VARIABLE = "ISSUECORE_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments:
        parser.print_help(sys.stdout)
        return EXIT_OK
    args = parser.parse_args(arguments)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stdout)
        return EXIT_OK
    # The desk logs what it retries; the command reports outcomes itself, one line each.
    logging.getLogger("issuecore").addHandler(logging.NullHandler())
    run = Run(args)
    try:
        if isinstance(getattr(args, "number", None), str):
            args.number = run.issue_number(args.number)
        code: int = args.run(run)
        run.out.flush()
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            traceback.print_exc()
        message, code = describe(error, database=run.database(), secrets=run.secrets())
        _fail(message)
        return code
    finally:
        try:
            run.close()
        except Exception as error:  # closing a store that already failed must not hide why
            if os.environ.get(DEBUG_VARIABLE):
                traceback.print_exc()
            del error


def _reader_gone() -> int:
    """Stop quietly when the reader of standard output went away (``issuecore show ... | head``)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


def _fail(message: str) -> None:
    with contextlib.suppress(BrokenPipeError, ValueError):
        print(f"issuecore: error: {message}", file=sys.stderr)
