"""Published accept/reject training sets, read from ``grammars/data/training_sets.json``.

The file is a copy of ``shared/reference/training_sets.json`` (a test checks
the two are equal); each entry names its source. Included: Tomita 1 and 4 (as
printed in the COMP9444 lecture on dynamical recognizers) and Pollack's (1991)
odd-parity set. Tomita's sets for languages 2, 3, 5, 6, 7 are not included:
we could not confirm them from a public source.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# key in the data file -> registry name of the language
_LANGUAGE = {"tomita1": "tomita1", "tomita4": "tomita4", "odd_parity": "parity"}
_ALIASES = {"parity": "odd_parity"}


@dataclass(frozen=True)
class TrainingSet:
    """A published training set: ``accept`` and ``reject`` strings, its ``source``, and
    ``language`` (the registry name of the language the strings belong to)."""

    name: str
    language: str
    accept: tuple[str, ...]
    reject: tuple[str, ...]
    source: str

    def strings(self) -> list[str]:
        """Accepted strings first, then rejected ones."""
        return list(self.accept) + list(self.reject)

    def labels(self) -> list[float]:
        """1.0 / 0.0 per string of ``strings()``."""
        return [1.0] * len(self.accept) + [0.0] * len(self.reject)


@lru_cache(maxsize=1)
def _data() -> dict:
    text = resources.files(__package__).joinpath("data", "training_sets.json").read_text("utf-8")
    return json.loads(text)


def training_set_names() -> list[str]:
    return [k for k in _data() if not k.startswith("_")]


def training_set(name: str) -> TrainingSet:
    """The published set ``name`` ("tomita1", "tomita4", "odd_parity"; "parity" also works)."""
    key = _ALIASES.get(name, name)
    data = _data()
    if key.startswith("_") or key not in data:
        raise ValueError(f"no published training set {name!r}; available: {training_set_names()}")
    entry = data[key]
    return TrainingSet(name=key, language=_LANGUAGE[key], accept=tuple(entry["accept"]),
                       reject=tuple(entry["reject"]), source=entry["source"])
