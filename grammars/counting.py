"""Counting languages a^n b^n, a^n b^n c^n and the general a1^n a2^n ... ak^n (n >= 1).

a^n b^n is the context-free language of Wiles & Elman (1995), "Learning to
count without a counter", Proc. 17th CogSci, and Rodriguez, Wiles & Elman
(1999), Connection Science 11; a^n b^n c^n (context-sensitive) is the language
of Gers & Schmidhuber (2001), IEEE Trans. Neural Networks 12(6); Chalup &
Blair (2003) evolve networks for both. Letters are the first k of a..z.

Sampling draws n, then writes the member. Two documented distributions of n
over the inclusive range ``n_range = (n_min, n_max)``:

* ``"uniform"``: P(n) = 1 / (n_max - n_min + 1).
* ``"skewed"``:  P(n) = (1/n) / sum_{m=n_min}^{n_max} (1/m)  (a harmonic / Zipf
  law with exponent 1). Wiles & Elman (1995) trained on n = 1..11 with short
  strings more frequent than long ones but give no formula; 1/n is our choice:
  it favours short strings (n=1 is 11 times as frequent as n=11) while every n
  in range keeps a non-negligible share, which the network needs to learn to
  count as far as n_max. Use ``n_probabilities`` to see the exact weights.
"""

from __future__ import annotations

import math
import string

import numpy as np

from .base import END, Language, as_rng, check_count, check_fraction, check_range

DISTRIBUTIONS = ("uniform", "skewed")


def n_probabilities(n_range, distribution: str = "uniform") -> tuple[np.ndarray, np.ndarray]:
    """``(ns, p)``: the values of n in ``n_range`` (inclusive) and their probabilities."""
    lo, hi = check_range("n_range", n_range, minimum=1)
    ns = np.arange(lo, hi + 1)
    if distribution == "uniform":
        w = np.ones(len(ns))
    elif distribution == "skewed":
        w = 1.0 / ns
    else:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return ns, w / w.sum()


class Counting(Language):
    """a1^n a2^n ... ak^n, n >= 1, over the first ``k`` letters (k >= 1).

    ``k=2`` is a^n b^n, ``k=3`` a^n b^n c^n. Membership: the string is k blocks
    of one repeated letter each, in alphabet order, all of the same length n >= 1.
    """

    sample_options = ("n_range", "distribution", "length_range", "members", "near_fraction")

    def __init__(self, k: int = 2, *, name: str | None = None):
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 26:
            raise ValueError(f"k must be an integer in 1..26, got {k!r}")
        self.k = int(k)
        self.alphabet = tuple(string.ascii_lowercase[: self.k])
        self.name = name or f"counting{self.k}"
        pattern = " ".join(f"{c}^n" for c in self.alphabet)
        pattern = pattern if self.k <= 4 else f"a^n b^n ... {self.alphabet[-1]}^n"
        family = "" if name else f"counting family, k={self.k} letters: "
        self.description = f"{family}{pattern}, n >= 1"

    # parser state: (block j, symbols read in block j, n) ; (-1, 0, 0) is the empty prefix
    def _start(self):
        return (-1, 0, 0)

    def _advance(self, state, symbol):
        j, m, n = state
        i = self.alphabet.index(symbol)
        if j == -1:
            return (0, 1, 1) if i == 0 else None
        if j == 0:
            if i == 0:
                return (0, m + 1, m + 1)
            return (1, 1, n) if i == 1 else None
        if i == j and m < n:
            return (j, m + 1, n)
        if i == j + 1 and m == n:
            return (j + 1, 1, n)
        return None

    def _legal(self, state):
        j, m, n = state
        if j == -1:
            return frozenset(self.alphabet[:1])
        if j == 0:
            return frozenset((self.alphabet[0], self.alphabet[1] if self.k > 1 else END))
        if m < n:
            return frozenset((self.alphabet[j],))
        return frozenset((self.alphabet[j + 1] if j + 1 < self.k else END,))

    def member(self, n: int) -> str:
        """The member with count ``n`` (n >= 1)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be an integer >= 1, got {n!r}")
        return "".join(c * int(n) for c in self.alphabet)

    def accepts(self, s: str) -> bool:
        self.check_string(s)
        n, r = divmod(len(s), self.k)
        return n >= 1 and r == 0 and s == self.member(n)

    def enumerate(self, max_len: int) -> list[str]:
        if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 0:
            raise ValueError(f"max_len must be an integer >= 0, got {max_len!r}")
        return [self.member(n) for n in range(1, int(max_len) // self.k + 1)]

    def _resolve_n_range(self, n_range, length_range):
        if n_range is None and length_range is None:
            return (1, 10)
        lo, hi = check_range("n_range", n_range, minimum=1) if n_range is not None else (1, None)
        if length_range is not None:
            llo, lhi = check_range("length_range", length_range)
            lo = max(lo, math.ceil(llo / self.k), 1)
            hi = lhi // self.k if hi is None else min(hi, lhi // self.k)
            if lo > hi:
                raise ValueError(f"no member of {self.name} has n in n_range={n_range} and length "
                                 f"in length_range={length_range}")
        return lo, hi

    def _draw_table(self, lo: int, hi: int, distribution: str):
        """``(cdf, members)`` for n in lo..hi (``n_probabilities``'s cumulated), kept per range: a trainer samples a few strings
        per member per epoch, thousands of calls with the same range."""
        tables = self.__dict__.setdefault("_tables", {})
        key = (lo, hi, distribution)
        if key not in tables:
            ns, p = n_probabilities((lo, hi), distribution)
            cdf = p.cumsum()
            cdf /= cdf[-1]
            tables[key] = (cdf, [self.member(int(n)) for n in ns])
        return tables[key]

    def sample(self, rng, count, n_range=None, distribution="uniform", *, length_range=None,
               members=True, near_fraction=0.5):
        """``count`` strings.

        ``members=True``: n drawn from ``n_range`` (inclusive, default (1, 10))
        with ``distribution`` ("uniform" or "skewed", see the module docstring),
        restricted to k*n within ``length_range`` when that is given.
        ``members=False``: ``round(count*near_fraction)`` one-symbol edits
        (substitution, insertion or deletion) of members drawn as above, the rest
        uniform random strings (length uniform in ``length_range``, default
        (0, k*n_max)) that are not members. ``members=None``: uniform random strings.
        """
        rng, count = as_rng(rng), check_count(count)
        near_fraction = check_fraction("near_fraction", near_fraction)
        lo, hi = self._resolve_n_range(n_range, length_range)
        cdf, table = self._draw_table(lo, hi, distribution)
        rr = check_range("length_range", length_range) if length_range is not None else (0, self.k * hi)

        def draw(g, m):
            # exactly the draws of g.choice(ns, size=m, p=p) (inverse CDF of m uniforms, as numpy's
            # Generator.choice does; tests/grammars pin the equality) without its per-call checks
            # of p, 60 us against 5 us: a trainer calls this once per member per epoch
            return [table[i] for i in cdf.searchsorted(g.random(m), side="right").tolist()]

        if members is True:
            return draw(rng, count)
        if members is None:
            return [self._uniform_random_string(rng, rr) for _ in range(count)]
        if members is False:
            return self._draw_nonmembers(rng, count, near_fraction, draw,
                                         lambda g, n: self._uniform_random_strings(g, rr, n), rr)
        raise ValueError(f"members must be True, False or None, got {members!r}")


class AnBn(Counting):
    """a^n b^n, n >= 1 (Wiles & Elman 1995; Rodriguez, Wiles & Elman 1999)."""

    def __init__(self):
        super().__init__(2, name="anbn")


class AnBnCn(Counting):
    """a^n b^n c^n, n >= 1 (Gers & Schmidhuber 2001; Chalup & Blair 2003)."""

    def __init__(self):
        super().__init__(3, name="anbncn")
