"""Mail intake in instructions per message, counted by callgrind: beside the bare compat32 parse.

Run: ``python benchmarks/mail_instructions.py`` (needs ``valgrind``). The
same paths as ``benchmarks/mail.py`` times, whose figures move with the load
of a shared machine: the bare ``email.message_from_bytes`` (compat32) and
issuecore's intake (``parse_message`` + ``decide``) with the header cache
kept and emptied before every message. Each path runs alone under
``valgrind --tool=callgrind`` over the fixture corpus, every pass with its
MIME boundaries renamed as ``benchmarks/mail.py`` does, for a few and for
more passes; the difference of the two counts, divided by the messages
between them, is the cost of one message, with the interpreter's start, the
imports and the setup left out. Naming paths (``bare``, ``kept``,
``emptied``) counts only those. With ``--compiled`` every boundary pattern
the standard parser compiles is compiled before counting, as the timed table
of ``benchmarks/mail.py`` finds them: its contenders read the same passes in
turn, so the regular-expression cache holds the patterns after the first.
"""

from __future__ import annotations

import email
import os
import pickle
import sys
import tempfile
from pathlib import Path

from _callgrind import count_instructions  # this script's directory
from mail import CORPUS, intake, parse_module, unique_boundaries  # this script's directory

FEW, MANY = 2, 8  # passes over the corpus
_COMPILED = "ISSUECORE_MAIL_BOUNDARIES_COMPILED"  # set for the runs under callgrind
PATHS = {
    "bare": "email.message_from_bytes (compat32, bare)",
    "kept": "issuecore intake, header cache kept",
    "emptied": "issuecore intake, header cache emptied per message",
}


def run_path(path: str, mail: Path, passes: int) -> None:
    """Read the first ``passes`` passes of ``mail`` the way ``path`` says (under callgrind)."""
    everything: list[list[bytes]] = pickle.loads(mail.read_bytes())
    if os.environ.get(_COMPILED):  # every pass, counted or not, in both runs alike
        for messages in everything:
            for raw in messages:
                email.message_from_bytes(raw)
    warm = everything[-1]  # a pass of its own warms imports and code paths
    for raw in warm:
        if path == "bare":
            email.message_from_bytes(raw)
        else:
            intake(raw)
    for messages in everything[:passes]:
        for raw in messages:
            if path == "bare":
                email.message_from_bytes(raw)
                continue
            if path == "emptied":
                parse_module.clear_header_cache()
            intake(raw)


def instructions(path: str, mail: Path, passes: int) -> int:
    """Return the instructions callgrind counted for one run of ``path`` over ``passes`` passes."""
    return count_instructions(__file__, path, mail, passes, "--dump-instr=no")


def main(paths: list[str]) -> None:
    corpus = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    assert corpus, f"no messages in {CORPUS}"
    folder = Path(tempfile.mkdtemp(prefix="issuecore-mail-instructions-"))
    mail = folder / "passes.pickle"
    passes = [[unique_boundaries(raw, f"p{index}") for raw in corpus] for index in range(MANY + 1)]
    mail.write_bytes(pickle.dumps(passes))
    messages = (MANY - FEW) * len(corpus)
    counted = {
        path: (instructions(path, mail, MANY) - instructions(path, mail, FEW)) / messages
        for path in paths
    }
    print(f"corpus: {len(corpus)} messages, {MANY - FEW} passes counted")
    for path in paths:
        ratio = f"{counted[path] / counted['bare']:4.2f}x bare" if "bare" in counted else ""
        print(f"  {PATHS[path]:52} {counted[path]:12,.0f} instructions/message   {ratio}")


if __name__ == "__main__":
    if len(sys.argv) == 4:  # one run under callgrind: path, passes file, count of passes
        run_path(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
    else:  # the paths named (all of them without any), counted in turn
        if "--compiled" in sys.argv[1:]:
            os.environ[_COMPILED] = "1"
        main([path for path in PATHS if path in sys.argv[1:]] or list(PATHS))
