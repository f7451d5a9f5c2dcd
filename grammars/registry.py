"""The registry of languages: ``grammars.get(name, **params)`` and ``grammars.names()``."""

from __future__ import annotations

import inspect

from .counting import AnBn, AnBnCn, Counting
from .dyck import Dyck1, Dyck2
from .elman import ElmanLetters, TemporalXOR
from .reber import EmbeddedReber, Reber
from .regular import DFALanguage
from .tomita import Parity, Tomita1, Tomita2, Tomita3, Tomita4, Tomita5, Tomita6, Tomita7

LANGUAGES = {
    "anbn": AnBn,
    "anbncn": AnBnCn,
    "counting": Counting,
    "parity": Parity,
    "tomita1": Tomita1,
    "tomita2": Tomita2,
    "tomita3": Tomita3,
    "tomita4": Tomita4,
    "tomita5": Tomita5,
    "tomita6": Tomita6,
    "tomita7": Tomita7,
    "reber": Reber,
    "embedded_reber": EmbeddedReber,
    "dyck1": Dyck1,
    "dyck2": Dyck2,
    "temporal_xor": TemporalXOR,
    "elman_letters": ElmanLetters,
    "dfa": DFALanguage,
}


def names() -> list[str]:
    """Registered language names, in a fixed order."""
    return list(LANGUAGES)


def get(name: str, **params):
    """A new language object; ``params`` go to its constructor.

    ``get("counting", k=4)`` is a^n b^n c^n d^n; ``get("dfa", alphabet=...,
    transitions=..., start=..., accepting=...)`` any regular language. An unknown
    name or parameter raises ValueError listing the valid ones.
    """
    if name not in LANGUAGES:
        raise ValueError(f"unknown grammar {name!r}; valid names are {names()}")
    cls = LANGUAGES[name]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"grammar {name!r} takes parameters {valid or 'none'}; got unknown {unknown}")
    return cls(**params)
