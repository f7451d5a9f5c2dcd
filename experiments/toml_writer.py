"""A small TOML writer for the plain data of a resolved experiment.

``tomllib`` (standard library) only reads TOML; a run directory must also
*write* its resolved config so that ``tomllib.load`` gives back exactly the
experiment that ran. This writer covers the types an experiment holds:
``str``, ``int``, ``float`` (including ``nan`` and ``inf``), ``bool``, lists
of those (nested lists too) and tables (``dict`` with ``str`` keys, nested).
Tuples are written as arrays. Anything else is a ``TypeError`` naming the key.

The output follows TOML 1.0 (https://toml.io/en/v1.0.0): scalars and arrays
of a table first, then its sub-tables as ``[a.b]`` headers, keys quoted when
they are not bare (``"model.n_hidden" = [2, 3]`` in ``[grid]``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

__all__ = ["dumps"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _key(key: str) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys must be str, got {key!r}")
    return key if _BARE.fullmatch(key) else _string(key)  # fullmatch: "$" would let "a\n" pass


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(v, where: str) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(float(v))  # shortest round-tripping form; always has '.' or 'e'
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x, f"{where}[{i}]") for i, x in enumerate(v)) + "]"
    if isinstance(v, Mapping):  # inline table (only met inside arrays)
        return "{" + ", ".join(f"{_key(k)} = {_value(x, f'{where}.{k}')}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {where} = {v!r} ({type(v).__name__}) as TOML; "
                    "allowed: str, int, float, bool, list, table")


def _table(d: Mapping, prefix: tuple[str, ...], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in d.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in d.items() if isinstance(v, Mapping)]
    if prefix and (scalars or not tables):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_key(p) for p in prefix) + "]")
    for k, v in scalars:
        lines.append(f"{_key(k)} = {_value(v, '.'.join((*prefix, k)))}")
    for k, v in tables:
        _table(v, (*prefix, k), lines)


def dumps(data: Mapping) -> str:
    """TOML text for ``data`` such that ``tomllib.loads(dumps(data)) == data``.

    (Up to tuples becoming lists, and ``nan`` comparing unequal to itself.)
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"a TOML document is a table (dict), got {type(data).__name__}")
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines) + "\n"
