"""The seven Tomita (1982) languages and Pollack's odd parity, as DFAs over {0, 1}.

Tomita, M. (1982). Dynamic construction of finite-state automata from
examples using hill-climbing. Proc. 4th Annual Conference of the Cognitive
Science Society, 105-108. Definitions as restated by Pollack (1991, Table 1)
and Giles et al. (1992). Every language here contains the empty string
except odd parity. Each DFA below is hand-built from the definition in its
docstring; tests/grammars checks each against an independent brute-force
definition on every binary string up to length 12.
"""

from __future__ import annotations

from .regular import RegularLanguage

_B = ("0", "1")


class Tomita1(RegularLanguage):
    """Tomita 1: ``1*`` (no 0 at all; the empty string is a member)."""

    def __init__(self):
        super().__init__(_B, {0: {"1": 0}}, 0, [0], name="tomita1", description="Tomita 1: 1*")


class Tomita2(RegularLanguage):
    """Tomita 2: ``(10)*``."""

    def __init__(self):
        super().__init__(_B, {0: {"1": 1}, 1: {"0": 0}}, 0, [0], name="tomita2",
                         description="Tomita 2: (10)*")


class Tomita3(RegularLanguage):
    """Tomita 3: no odd-length run of 1s followed, anywhere later, by an odd-length run of 0s.

    Runs are maximal blocks; a 0-run at the very end of the string counts
    ("10" and "1000" are rejected, "100" and "1100" accepted). States:
    ``u`` no odd 1-run completed yet (even 1-run or 0-run in progress),
    ``o`` odd 1-run in progress, ``a`` an odd 1-run completed and the current
    0-run (if any) even, ``z`` armed and inside an odd 0-run.
    """

    def __init__(self):
        t = {
            "u": {"0": "u", "1": "o"},
            "o": {"1": "e", "0": "z"},
            "e": {"1": "o", "0": "u"},  # even 1-run, not armed
            "z": {"0": "a"},             # a 1 here would close an odd 0-run: reject
            "a": {"0": "z", "1": "a"},
        }
        super().__init__(_B, t, "u", ["u", "o", "e", "a"], name="tomita3",
                         description="Tomita 3: no odd run of 1s later followed by an odd run of 0s")


class Tomita4(RegularLanguage):
    """Tomita 4: no ``000`` substring (no three consecutive 0s)."""

    def __init__(self):
        t = {0: {"0": 1, "1": 0}, 1: {"0": 2, "1": 0}, 2: {"1": 0}}
        super().__init__(_B, t, 0, [0, 1, 2], name="tomita4", description="Tomita 4: no 000 substring")


class Tomita5(RegularLanguage):
    """Tomita 5: an even number of 0s and an even number of 1s.

    (Tomita's wording: even length and, read as pairs, an even number of 01 or
    10 pairs; the two are the same language.) State = (#0 mod 2, #1 mod 2).
    """

    def __init__(self):
        t = {(z, o): {"0": (1 - z, o), "1": (z, 1 - o)} for z in (0, 1) for o in (0, 1)}
        super().__init__(_B, t, (0, 0), [(0, 0)], name="tomita5",
                         description="Tomita 5: even number of 0s and even number of 1s")


class Tomita6(RegularLanguage):
    """Tomita 6: (#0 - #1) divisible by 3. State = (#0 - #1) mod 3."""

    def __init__(self):
        t = {r: {"0": (r + 1) % 3, "1": (r - 1) % 3} for r in range(3)}
        super().__init__(_B, t, 0, [0], name="tomita6", description="Tomita 6: #0 - #1 divisible by 3")


class Tomita7(RegularLanguage):
    """Tomita 7: ``0*1*0*1*``. State = index of the block being read."""

    def __init__(self):
        t = {0: {"0": 0, "1": 1}, 1: {"1": 1, "0": 2}, 2: {"0": 2, "1": 3}, 3: {"1": 3}}
        super().__init__(_B, t, 0, [0, 1, 2, 3], name="tomita7", description="Tomita 7: 0*1*0*1*")


class Parity(RegularLanguage):
    """Odd parity: binary strings with an odd number of 1s (Pollack 1991, Table 1)."""

    def __init__(self):
        t = {0: {"0": 0, "1": 1}, 1: {"0": 1, "1": 0}}
        super().__init__(_B, t, 0, [1], name="parity", description="odd parity: an odd number of 1s")
