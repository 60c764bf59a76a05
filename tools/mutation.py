"""Mutation testing of the domain cores: run mutmut incrementally and print a score per module.

    python tools/mutation.py                       # every module in [tool.mutmut] only_mutate
    python tools/mutation.py issuecore.workflow    # some of them
    python tools/mutation.py --report              # print the scores of the last runs only
    python tools/mutation.py --retest MODULE       # test the survivors again, after new tests

mutmut keeps its work in ``mutants/``: a second run tests only the mutants of
functions that changed, so the first run is slow and later ones are quick.
The score is killed / (killed + survived + no tests + timeouts not counted
as kills); ``mutmut show NAME`` prints one surviving mutant's diff.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILLED = {1, 3, 36, 37, 24, -24, 152, 255}  # a failing test, a timeout, the type check
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


def run(module: str, max_children: int) -> int:
    """Run mutmut on the mutants of ``module``; return its exit status."""
    command = [
        sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), f"{module}.*",
    ]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, check=False, stdout=subprocess.DEVNULL).returncode


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


def report(modules: list[str], *, survivors: bool) -> None:
    print(
        f"{'module':32} {'score':>7} {'killed':>7} {'survived':>9} {'no tests':>9} {'unchecked':>9}"
    )
    for module in modules:
        counts, names = tally(module)
        checked = counts["killed"] + counts["survived"] + counts["no tests"] + counts["suspicious"]
        score = f"{100 * counts['killed'] / checked:.1f}%" if checked else "-"
        print(
            f"{module:32} {score:>7} {counts['killed']:>7} {counts['survived']:>9} "
            f"{counts['no tests']:>9} {counts['not checked']:>9}"
        )
        if survivors:
            for name in names:
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
