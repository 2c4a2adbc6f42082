"""pyproject.toml (pip) and environment.yml (conda-forge) must ask for the same packages (names
compared as packaging normalises them: conda-forge spells some with underscores)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for line in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        req = Requirement(line)
        found[canonicalize_name(req.name)] = str(req.specifier)
    return found


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = {}
    for item in env["dependencies"]:
        if isinstance(item, str) and item != "pip":
            req = Requirement(item)
            if req.name != "python":
                found[canonicalize_name(req.name)] = str(req.specifier)
    return found


def test_environment_yml_lists_every_dependency_with_the_same_minimum() -> None:
    assert conda_requirements() == pip_requirements()


def test_environment_yml_installs_simtaru_itself() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(i["pip"] for i in env["dependencies"] if isinstance(i, dict))
    assert "-e ." in pip_section
