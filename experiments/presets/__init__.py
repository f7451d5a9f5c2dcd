"""Paper reproductions shipped with dynrec.

Each preset is one TOML file in this folder: an ordinary experiment (the
sections that ``dynrec run`` reads) plus a ``[preset]`` table that only
``dynrec reproduce`` reads::

    [preset]
    title = "Wiles & Elman (1995): learning to count without a counter"
    description = "a^n b^n prediction by a 2-unit SRN ..."   # one line, for `dynrec list presets`
    paper = "wiles-elman-1995"          # key into published.json (numbers and their sources)
    figures = ["state_space", "generalization"]
    [preset.quick]                      # dotted overrides for --quick
    seeds = 16
    "training.epochs" = 40

The published numbers live beside them in ``published.json``, each with its
source, so the code holds no figures from papers.
"""

from __future__ import annotations

import json
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = ["names", "describe", "load", "published", "path"]


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


@cache
def names() -> tuple[str, ...]:
    """Every preset's name, sorted."""
    return tuple(sorted(p.stem for p in _folder().glob("*.toml")))


def path(name: str) -> Path:
    """The TOML file of preset ``name``; a ValueError lists the valid names."""
    if name not in names():
        raise ValueError(f"unknown preset {name!r}; valid presets: {', '.join(names())}")
    return _folder() / f"{name}.toml"


def load(name: str) -> dict:
    """The preset's whole TOML as a dict (experiment sections plus ``[preset]``)."""
    with open(path(name), "rb") as fh:
        data = tomllib.load(fh)
    if "preset" not in data:
        raise ValueError(f"preset file {path(name)} has no [preset] table")
    return data


def describe(name: str) -> str:
    """One line: what the preset reproduces."""
    return load(name)["preset"].get("description", "")


@cache
def _published_all() -> dict:
    with open(_folder() / "published.json", encoding="utf-8") as fh:
        return json.load(fh)


def published(paper: str) -> dict:
    """The published set-up and claims of ``paper`` (a key of published.json)."""
    data = _published_all()
    if paper not in data:
        valid = sorted(k for k in data if not k.startswith("_"))
        raise ValueError(f"no published numbers for {paper!r}; known papers: {', '.join(valid)}")
    return data[paper]
