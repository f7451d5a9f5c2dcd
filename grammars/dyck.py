"""Dyck languages: balanced brackets of one (``dyck1``) or two (``dyck2``) kinds.

Dyck-1 over ``( )`` and Dyck-2 over ``( ) [ ]``: the empty string is a member,
and a string is a member when every closing bracket closes the most recent
unclosed opening bracket of the same kind and nothing stays open. Not from the
classic papers; the standard context-free benchmark beyond a^n b^n (e.g.
Deletang et al. 2023, "Neural networks and the Chomsky hierarchy").

Sampling is exact and uniform: the length is uniform over the even lengths in
``length_range``, then the word is uniform among the Dyck words of that length
(its bracket shape by counting lattice paths, each pair's kind uniform, which
makes Dyck-2 words uniform too).
"""

from __future__ import annotations

from functools import lru_cache

from .base import END, Language, as_rng, check_count, check_fraction, check_range


@lru_cache(maxsize=None)
def _paths(r: int, h: int) -> int:
    """Number of +-1 paths of r steps from height h down to 0 that never go below 0."""
    if h < 0 or h > r:
        return 0
    if r == 0:
        return 1
    return _paths(r - 1, h + 1) + _paths(r - 1, h - 1)


class Dyck(Language):
    """Balanced brackets over ``pairs`` (a string of opener/closer pairs, e.g. ``"()[]"``)."""

    sample_options = ("length_range", "members", "near_fraction")

    def __init__(self, pairs: str = "()", *, name: str = "dyck1"):
        if not isinstance(pairs, str) or len(pairs) % 2 or not pairs or len(set(pairs)) != len(pairs):
            raise ValueError(f"pairs must be a non-empty str of distinct opener/closer pairs, got {pairs!r}")
        self.openers, self.closers = pairs[0::2], pairs[1::2]
        self.alphabet = tuple(pairs)
        self.name = name
        self.description = f"Dyck-{len(self.openers)}: balanced {' '.join(self.alphabet)}"

    # parser state: tuple of the indices of the open brackets (bottom first)
    def _start(self):
        return ()

    def _advance(self, state, symbol):
        if symbol in self.openers:
            return state + (self.openers.index(symbol),)
        if state and self.closers[state[-1]] == symbol:
            return state[:-1]
        return None

    def _legal(self, state):
        return frozenset(self.openers) | {self.closers[state[-1]] if state else END}

    def _can_finish_within(self, state, steps):
        return state is not None and len(state) <= steps

    def sample(self, rng, count, length_range=(0, 10), *, members=True, near_fraction=0.5):
        """``count`` strings with length in ``length_range``.

        ``members=True``: uniform as in the module docstring. ``members=False``:
        ``round(count*near_fraction)`` one-symbol edits of members, the rest
        uniform random strings (length uniform in range) that are not members.
        ``members=None``: uniform random strings.
        """
        rng, count = as_rng(rng), check_count(count)
        lo, hi = check_range("length_range", length_range)
        near_fraction = check_fraction("near_fraction", near_fraction)
        evens = [L for L in range(lo, hi + 1) if L % 2 == 0]
        if not evens and members is not None:
            raise ValueError(f"{self.name} members have even length; length_range={length_range} has none")

        def draw(g, m):
            return [self._uniform_word(g, evens[int(g.integers(len(evens)))]) for _ in range(m)]

        if members is True:
            return draw(rng, count)
        if members is None:
            return [self._uniform_random_string(rng, (lo, hi)) for _ in range(count)]
        if members is False:
            return self._draw_nonmembers(rng, count, near_fraction, draw,
                                         lambda g, n: self._uniform_random_strings(g, (lo, hi), n), (lo, hi))
        raise ValueError(f"members must be True, False or None, got {members!r}")

    def _uniform_word(self, rng, length: int) -> str:
        out, stack, h = [], [], 0
        for t in range(length):
            r = length - t
            up = _paths(r - 1, h + 1)
            if rng.random() * _paths(r, h) < up:
                kind = int(rng.integers(len(self.openers)))
                stack.append(kind)
                out.append(self.openers[kind])
                h += 1
            else:
                out.append(self.closers[stack.pop()])
                h -= 1
        return "".join(out)


class Dyck1(Dyck):
    """Dyck-1: balanced ``( )``."""

    def __init__(self):
        super().__init__("()", name="dyck1")


class Dyck2(Dyck):
    """Dyck-2: balanced ``( )`` and ``[ ]``, properly nested."""

    def __init__(self):
        super().__init__("()[]", name="dyck2")
