"""The Reber grammar and the embedded Reber grammar.

Reber, A. S. (1967). Implicit learning of artificial grammars. J. Verbal
Learning and Verbal Behavior 6, 855-863; the finite-state graph as drawn in
Cleeremans, Servan-Schreiber & McClelland (1989), Finite state automata and
simple recurrent networks, Neural Computation 1, Fig. 1 (nodes #0-#5 between
the begin and end arcs), and used with the embedded version in Hochreiter &
Schmidhuber (1997, LSTM, Sec. 5.1). Alphabet B T S X P V E:

    begin -B-> #0
    #0 -T-> #1    #0 -P-> #2
    #1 -S-> #1    #1 -X-> #3
    #2 -T-> #2    #2 -V-> #4
    #3 -X-> #2    #3 -S-> #5
    #4 -P-> #3    #4 -V-> #5
    #5 -E-> end

e.g. BTXSE, BPVVE, BTSSXXTVVE. Embedded Reber: B, then T or P, then a Reber
string, then the same T or P again, then E (e.g. BTBTXSETE); predicting the
second-to-last symbol needs the second symbol, a long-range dependency.

Sampling is the random walk of Cleeremans et al.: at every node each of the two
arcs is taken with probability 0.5 (and T or P with 0.5 in the embedded
grammar). With a length limit (``length_range`` or ``max_len``) a walk whose
string falls outside the limit is discarded and redrawn, so the strings follow
the random-walk distribution conditioned on the length limit (rejection
sampling; nothing is truncated).
"""

from __future__ import annotations

import numpy as np

from .base import as_rng, check_count, check_fraction, check_range
from .regular import RegularLanguage

REBER_ALPHABET = ("B", "T", "S", "X", "P", "V", "E")
_GRAPH = {0: (("T", 1), ("P", 2)), 1: (("S", 1), ("X", 3)), 2: (("T", 2), ("V", 4)),
          3: (("X", 2), ("S", 5)), 4: (("P", 3), ("V", 5))}
_NONMEMBER_DEFAULT_RANGE = (0, 20)


def _reber_transitions(tag):
    t = {(tag, "begin"): {"B": (tag, 0)}, (tag, 5): {"E": (tag, "end")}}
    for node, arcs in _GRAPH.items():
        t[(tag, node)] = {c: (tag, r) for c, r in arcs}
    return t


class _WalkSampled(RegularLanguage):
    """Shared random-walk sampling for the two Reber grammars."""

    sample_options = ("length_range", "max_len", "members", "near_fraction")
    min_len = 0

    def _walk(self, rng) -> str:
        raise NotImplementedError

    def _inner_walk(self, rng) -> str:
        out, node = ["B"], 0
        while node != 5:
            c, node = _GRAPH[node][int(rng.integers(2))]
            out.append(c)
        out.append("E")
        return "".join(out)

    def _walks(self, rng, count, length_range):
        lo, hi = length_range
        out: list[str] = []
        budget = 1000 * count + 1000
        while len(out) < count:
            s = self._walk(rng)
            if lo <= len(s) <= hi:
                out.append(s)
            budget -= 1
            if budget < 0:
                raise ValueError(f"random walks of {self.name} rarely fall in length range "
                                 f"{length_range}; widen it")
        return out

    def sample(self, rng, count, length_range=None, *, max_len=None, members=True, near_fraction=0.5):
        """``count`` strings.

        ``members=True`` (default): random walks (each branch p = 0.5), redrawn
        while the length is outside ``length_range`` or above ``max_len`` (both
        optional, inclusive). ``members=False``: ``round(count*near_fraction)``
        one-symbol edits of walks, the rest uniform among non-members by length
        (see ``RegularLanguage.sample``) in ``length_range`` (default (0, 20)).
        ``members=None``: uniform random strings in ``length_range`` (default (0, 20)).
        """
        rng, count = as_rng(rng), check_count(count)
        near_fraction = check_fraction("near_fraction", near_fraction)
        given = length_range is not None
        lo, hi = check_range("length_range", length_range) if given else (0, None)
        if max_len is not None:
            m = check_range("max_len", (0, max_len))[1]
            hi = m if hi is None else min(hi, m)
        if hi is not None and hi < max(lo, self.min_len):
            raise ValueError(f"the shortest {self.name} string has length {self.min_len}; got "
                             f"length_range={length_range}, max_len={max_len}")
        walk_range = (lo, np.inf if hi is None else hi)
        if members is True:
            return self._walks(rng, count, walk_range)
        if members is None or members is False:
            rr = (lo, hi) if hi is not None else _NONMEMBER_DEFAULT_RANGE
            if members is None:
                return [self._uniform_random_string(rng, rr) for _ in range(count)]
            return self._draw_nonmembers(
                rng, count, near_fraction, lambda g, n: self._walks(g, n, walk_range),
                lambda g, n: self._exact_sample(g, n, rr, False), rr)
        raise ValueError(f"members must be True, False or None, got {members!r}")


class Reber(_WalkSampled):
    """The Reber grammar (see the module docstring for the graph and the sources)."""

    min_len = 5

    def __init__(self):
        super().__init__(REBER_ALPHABET, _reber_transitions("r"), ("r", "begin"), [("r", "end")],
                         name="reber", description="Reber grammar (Cleeremans et al. 1989), B...E")

    def _walk(self, rng):
        return self._inner_walk(rng)


class EmbeddedReber(_WalkSampled):
    """Embedded Reber: B (T|P) <Reber string> (same T|P) E (Hochreiter & Schmidhuber 1997)."""

    min_len = 9

    def __init__(self):
        t = {"begin": {"B": "fork"}, "fork": {"T": ("T", "begin"), "P": ("P", "begin")},
             "close": {"E": "end"}}
        for tag in ("T", "P"):
            inner = _reber_transitions(tag)
            inner[(tag, "end")] = {tag: "close"}
            t.update(inner)
        super().__init__(REBER_ALPHABET, t, "begin", ["end"], name="embedded_reber",
                         description="embedded Reber: B (T|P) Reber (same T|P) E")

    def _walk(self, rng):
        branch = "TP"[int(rng.integers(2))]
        return "B" + branch + self._inner_walk(rng) + branch + "E"
