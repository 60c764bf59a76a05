"""tools/mutation.py: which mutants a later run names, and how a module's results are counted."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "mutation.py"
MODULE = "pkg.mod"


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_tool", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def _write(tool: ModuleType, codes: dict[str, int | None], *, source_newer: bool) -> None:
    source = tool.source_path(MODULE)
    meta = tool.meta_path(MODULE)
    mutated = meta.with_suffix("")
    for path in (source, meta, mutated):
        path.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("x = 1\n")
    mutated.write_text("x = 1\n")
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    older, newer = (mutated, source) if source_newer else (source, mutated)
    os.utime(older, (1_000_000, 1_000_000))
    os.utime(newer, (2_000_000, 2_000_000))


CODES: dict[str, int | None] = {
    "pkg.mod.x_f__mutmut_1": 1,  # killed
    "pkg.mod.x_f__mutmut_2": 0,  # survived
    "pkg.mod.x_f__mutmut_3": None,  # not checked yet
    "pkg.mod.x_f__mutmut_4": 2,  # interrupted
    "pkg.mod.x_f__mutmut_5": 33,  # no tests
}


def test_a_later_run_names_only_the_mutants_not_checked_yet(tool: ModuleType) -> None:
    _write(tool, CODES, source_newer=False)
    assert tool.unchecked(MODULE) == ["pkg.mod.x_f__mutmut_3", "pkg.mod.x_f__mutmut_4"]


def test_every_mutant_is_run_again_once_the_source_is_newer_than_its_mutants(
    tool: ModuleType,
) -> None:
    _write(tool, CODES, source_newer=True)
    assert tool.unchecked(MODULE) is None


def test_a_first_run_names_the_module_pattern(tool: ModuleType) -> None:
    assert tool.unchecked(MODULE) is None


def test_retest_marks_only_the_survivors_unchecked(tool: ModuleType) -> None:
    _write(tool, CODES, source_newer=False)
    tool.forget_survivors(MODULE)
    assert tool.unchecked(MODULE) == [
        "pkg.mod.x_f__mutmut_2",
        "pkg.mod.x_f__mutmut_3",
        "pkg.mod.x_f__mutmut_4",
        "pkg.mod.x_f__mutmut_5",
    ]


def test_tally_counts_each_outcome_and_names_the_survivors(tool: ModuleType) -> None:
    _write(tool, CODES, source_newer=False)
    counts, survivors = tool.tally(MODULE)
    assert dict(counts) == {"killed": 1, "survived": 1, "not checked": 2, "no tests": 1}
    assert survivors == ["pkg.mod.x_f__mutmut_2", "pkg.mod.x_f__mutmut_5"]
