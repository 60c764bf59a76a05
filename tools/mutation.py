"""Mutation testing of the domain cores: run mutmut incrementally and print a score per module.

    python tools/mutation.py                       # every module in [tool.mutmut] only_mutate
    python tools/mutation.py issuecore._workflow    # some of them
    python tools/mutation.py --report              # print the scores of the last runs only
    python tools/mutation.py --retest MODULE       # test the survivors again, after new tests

mutmut keeps its work in ``mutants/``: a second run tests only the mutants not
checked yet (all of a module again once its source changed), so the first run
is slow and later ones are quick.
The score is killed / (killed + survived + no tests + timeouts not counted
as kills); ``mutmut show NAME`` prints one surviving mutant's diff. Survivors
confirmed equivalent (no test can tell them from the original) are listed in
``tools/equivalent_mutants.txt``, one a line with the reason; the report
prints the score with them counted as survivors and without them.

The tests run with the Hypothesis profile ``mutation`` (few examples each),
unless ``ISSUECORE_HYPOTHESIS_PROFILE`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "tools" / "equivalent_mutants.txt"
KILLED = {1, 3, 36, 37, 24, -24, 152}  # a failing test, a timeout, the type check
# 255 is not a kill: the fork server's worker could not run pytest at all (a test id
# pytest cannot find again, such as one with a backslash); it counts as suspicious.
SKIPPED = {None, 2, 34}  # not checked yet, interrupted, skipped
SURVIVED = 0


def configured_modules() -> list[str]:
    """Return the dotted names of the modules ``[tool.mutmut] only_mutate`` lists."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    paths = config["tool"]["mutmut"]["only_mutate"]
    return [path.removeprefix("src/").removesuffix(".py").replace("/", ".") for path in paths]


def meta_path(module: str) -> Path:
    return ROOT / "mutants" / "src" / (module.replace(".", "/") + ".py.meta")


def forget_survivors(module: str) -> None:
    """Mark the survivors of ``module`` unchecked, so that the next run tests them again."""
    path = meta_path(module)
    if not path.exists():
        return
    meta = json.loads(path.read_text("utf-8"))
    codes = meta["exit_code_by_key"]
    for name, code in codes.items():
        if code not in KILLED:
            codes[name] = None
    path.write_text(json.dumps(meta, indent=4), "utf-8")


def source_path(module: str) -> Path:
    return ROOT / "src" / (module.replace(".", "/") + ".py")


def unchecked(module: str) -> list[str] | None:
    """Return the names of the mutants of ``module`` not checked yet, or ``None`` for all.

    mutmut tests every mutant matching a pattern such as ``module.*`` again,
    checked or not; only mutants named one by one keep the others' results.
    When the source changed since its mutants were made, mutmut makes them
    again and forgets the results of the functions that changed, which are
    not known beforehand: then every mutant is tested (``None``).
    """
    path = meta_path(module)
    mutated = path.with_suffix("")  # mutants/src/.../module.py
    if not path.exists() or not mutated.exists():
        return None
    if source_path(module).stat().st_mtime >= mutated.stat().st_mtime:
        return None
    codes: dict[str, int | None] = json.loads(path.read_text("utf-8"))["exit_code_by_key"]
    return [name for name, code in codes.items() if code in SKIPPED]


def run(module: str, max_children: int) -> int:
    """Run mutmut on the mutants of ``module`` not checked yet; return its exit status."""
    names = unchecked(module)
    if names == []:
        return 0
    command = [
        sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children),
        *(names if names is not None else [f"{module}.*"]),
    ]  # fmt: skip
    environment = {"ISSUECORE_HYPOTHESIS_PROFILE": "mutation", **os.environ}
    return subprocess.run(
        command, cwd=ROOT, env=environment, check=False, stdout=subprocess.DEVNULL
    ).returncode


def equivalent_mutants(path: Path = EQUIVALENTS) -> dict[str, str]:
    """Return the mutants confirmed equivalent, each with the reason given for it.

    Each line of ``path`` is a mutant's name, whitespace, and why no test can
    tell it from the original; blank lines and lines starting with ``#`` are skipped.
    """
    if not path.exists():
        return {}
    listed = {}
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, reason = line.strip().partition(" ")
        listed[name] = reason.strip()
    return listed


def tally(module: str) -> tuple[Counter[str], list[str]]:
    """Return the counts of each outcome for ``module`` and the names of its survivors."""
    path = meta_path(module)
    if not path.exists():
        return Counter(), []
    codes: dict[str, int | None] = json.loads(path.read_text("utf-8"))["exit_code_by_key"]
    counts: Counter[str] = Counter()
    survivors = []
    for name, code in sorted(codes.items()):
        if code in KILLED:
            counts["killed"] += 1
        elif code in SKIPPED:
            counts["not checked"] += 1
        elif code == SURVIVED:
            counts["survived"] += 1
            survivors.append(name)
        else:  # 5 and 33: no test covers it; anything else is suspicious
            counts["no tests" if code in {5, 33} else "suspicious"] += 1
            survivors.append(name)
    return counts, survivors


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def report(modules: list[str], *, survivors: bool) -> None:
    """Print per module the score, the score without the listed equivalents, and the counts."""
    equivalents = equivalent_mutants()
    print(
        f"{'module':32} {'score':>7} {'w/o eq.':>7} {'killed':>7} {'survived':>9} "
        f"{'equiv.':>7} {'no tests':>9} {'unchecked':>9}"
    )
    for module in modules:
        counts, names = tally(module)
        checked = counts["killed"] + counts["survived"] + counts["no tests"] + counts["suspicious"]
        equivalent = [name for name in names if name in equivalents]
        print(
            f"{module:32} {percent(counts['killed'], checked):>7} "
            f"{percent(counts['killed'], checked - len(equivalent)):>7} {counts['killed']:>7} "
            f"{counts['survived']:>9} {len(equivalent):>7} {counts['no tests']:>9} "
            f"{counts['not checked']:>9}"
        )
        if survivors:
            for name in names:
                if name in equivalents:
                    print(f"    equivalent: {name}  ({equivalents[name]})")
                else:
                    print(f"    survivor: {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="dotted module names (default: all configured)")
    parser.add_argument("--report", action="store_true", help="print the last results, run nothing")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument(
        "--retest", action="store_true", help="test the survivors again (after adding tests)"
    )
    parser.add_argument("--max-children", type=int, default=2, help="parallel test processes")
    args = parser.parse_args(argv)
    modules = args.modules or configured_modules()
    if not args.report:
        for module in modules:
            if args.retest:
                forget_survivors(module)
            run(module, args.max_children)
    report(modules, survivors=args.survivors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
