"""Fixtures of the command-line tests: folders where the example mailbox was ingested."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_support import EXAMPLE_CONFIG, MAILBOX, issuecore


@pytest.fixture(scope="session")
def ingested_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where the example mailbox was ingested once on the embedded defaults."""
    folder = tmp_path_factory.mktemp("ingested")
    done = issuecore(folder, "ingest", str(MAILBOX))
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="session")
def ingested_example_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with examples/issuecore.toml where the example mailbox was ingested once."""
    folder = tmp_path_factory.mktemp("ingested-example")
    shutil.copy(EXAMPLE_CONFIG, folder / "issuecore.toml")
    done = issuecore(folder, "ingest", str(MAILBOX))
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def desk_dir(ingested_template: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested folder that a test may change."""
    target = tmp_path / "desk"
    shutil.copytree(ingested_template, target)
    return target


@pytest.fixture
def example_desk_dir(ingested_example_template: Path, tmp_path: Path) -> Path:
    """A private copy of the ingested folder with the example configuration."""
    target = tmp_path / "desk"
    shutil.copytree(ingested_example_template, target)
    return target
