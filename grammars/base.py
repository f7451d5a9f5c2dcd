"""The `Language` base class, the end marker `END`, and shared input checks.

A language is an object over a finite alphabet of one-character symbols with

* ``accepts(s)``          membership (bool),
* ``next_symbols(p)``     the legal continuations of the prefix ``p``
                          (``END`` included when ``p`` itself is a member),
* ``is_prefix(p)``        whether ``p`` is a prefix of some member,
* ``sample(rng, count, ...)``  random strings, drawn as each family documents,
* ``enumerate(max_len)``  every member of length <= ``max_len`` in shortlex
                          order (by length, then lexicographically in the
                          order of ``alphabet``).

Subclasses implement a small incremental interface (``_start``, ``_advance``,
``_legal``) over hashable parser states; everything else is derived from it.
Strings are Python ``str``; every symbol is one character (docs/CONTRACTS.md).
"""

from __future__ import annotations

import numpy as np

END = "$"
"""Stands for "the string may end here" in ``next_symbols``; never part of an alphabet."""

_DEAD = None  # parser state of a prefix that no member extends


def as_rng(rng) -> np.random.Generator:
    """Convert ``rng`` (a ``numpy.random.Generator`` or an int seed) once; nothing global."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def check_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"count must be an integer >= 0, got {count!r}")
    return int(count)


def check_range(name: str, value, minimum: int = 0) -> tuple[int, int]:
    """Validate an inclusive integer range ``(lo, hi)`` with ``minimum <= lo <= hi``."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (min, max), got {value!r}") from None
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must hold integers, got {value!r}")
    if lo < minimum:
        raise ValueError(f"{name} minimum must be >= {minimum}, got {name}={value!r}")
    if lo > hi:
        raise ValueError(f"{name} minimum must be <= its maximum, got {name}={value!r}")
    return int(lo), int(hi)


def check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


_PREFIX_CACHE = 4096  # distinct strings whose legal-set rows a language keeps


def symbol_codes(strings, alphabet, language=None) -> tuple[np.ndarray, np.ndarray]:
    """Strings to padded symbol indices, vectorised.

    Returns ``codes`` int64 ``[N, Lmax]`` (index in ``alphabet``, 0 after a row's
    length) and ``lengths`` int64 ``[N]``. A symbol outside ``alphabet`` raises
    ValueError naming the string (via ``language.check_string`` when given).
    """
    strings = list(strings)
    for s in strings:
        if not isinstance(s, str):
            raise ValueError(f"strings must be str, got {type(s).__name__} {s!r}")
    n = len(strings)
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    lmax = int(lengths.max()) if n else 0
    codes = np.zeros((n, lmax), dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return codes, lengths
    cp = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    alpha = np.array([ord(c) for c in alphabet], dtype=np.int64)
    order = np.argsort(alpha)
    pos = np.clip(np.searchsorted(alpha[order], cp), 0, len(alpha) - 1)
    ok = alpha[order][pos] == cp
    if not ok.all():
        bad = int(np.flatnonzero(~ok)[0])
        row = int(np.searchsorted(np.cumsum(lengths), bad, side="right"))
        if language is not None:
            language.check_string(strings[row])
        raise ValueError(f"string {strings[row]!r} has symbols outside the alphabet {tuple(alphabet)}")
    starts = np.cumsum(lengths) - lengths
    rows = np.repeat(np.arange(n), lengths)
    cols = np.arange(total) - np.repeat(starts, lengths)
    codes[rows, cols] = order[pos]
    return codes, lengths


class Language:
    """A formal language over ``alphabet`` (a tuple of one-character symbols).

    Subclasses set ``name``, ``alphabet``, ``description`` and implement the
    parser interface:

    * ``_start()``            state of the empty prefix,
    * ``_advance(state, c)``  state after one more symbol (``None`` = no member
                              has this prefix),
    * ``_legal(state)``       frozenset of legal next symbols, ``END`` included
                              when the prefix is a member,

    and ``sample``. ``sample_options`` names the keyword arguments ``sample``
    takes, so tasks can pass their ranges on and reject unknown ones early.
    """

    name: str = "language"
    alphabet: tuple[str, ...] = ()
    description: str = ""
    sample_options: tuple[str, ...] = ("members", "near_fraction")

    # -- parser interface --------------------------------------------------
    def _start(self):
        raise NotImplementedError

    def _advance(self, state, symbol: str):
        raise NotImplementedError

    def _legal(self, state) -> frozenset:
        raise NotImplementedError

    # -- validation --------------------------------------------------------
    def check_string(self, s, what: str = "string") -> str:
        """Return ``s`` if every symbol is in the alphabet, else raise ValueError naming it."""
        if not isinstance(s, str):
            raise ValueError(f"{what} must be a str, got {type(s).__name__} {s!r}")
        bad = set(s) - set(self.alphabet)
        if bad:
            raise ValueError(
                f"{what} {s!r} of {self.name} has symbols {sorted(bad)} outside the "
                f"alphabet {self.alphabet}"
            )
        return s

    def _state_of(self, prefix: str):
        state = self._start()
        for c in prefix:
            state = self._advance(state, c)
            if state is _DEAD:
                return _DEAD
        return state

    # -- public queries ----------------------------------------------------
    def next_symbols(self, prefix: str) -> frozenset:
        """Legal continuations of ``prefix``: alphabet symbols, plus ``END`` if ``prefix`` is a
        member. ``frozenset()`` when no member starts with ``prefix``."""
        state = self._state_of(self.check_string(prefix, "prefix"))
        return frozenset() if state is _DEAD else self._legal(state)

    def accepts(self, s: str) -> bool:
        """Membership of ``s`` (symbols outside the alphabet raise ValueError)."""
        return END in self.next_symbols(s)

    def accepts_many(self, strings) -> np.ndarray:
        """Membership of each string, bool ``[N]`` (vectorised for automata)."""
        return np.fromiter((self.accepts(s) for s in strings), dtype=bool, count=len(strings))

    def is_prefix(self, prefix: str) -> bool:
        """Whether some member (possibly ``prefix`` itself) starts with ``prefix``."""
        return bool(self.next_symbols(prefix))

    def legal_after_prefixes(self, s: str) -> list[frozenset]:
        """``[next_symbols(s[:i]) for i in 0..len(s)]`` in one left-to-right pass."""
        self.check_string(s)
        state = self._start()
        out = [frozenset() if state is _DEAD else self._legal(state)]
        for c in s:
            state = _DEAD if state is _DEAD else self._advance(state, c)
            out.append(frozenset() if state is _DEAD else self._legal(state))
        return out

    def prefix_legal_matrix(self, strings) -> np.ndarray:
        """Multi-hot legal sets after every prefix of every string.

        Returns bool ``[N, Lmax+1, |alphabet|+1]``: entry ``[n, i]`` is
        ``next_symbols(strings[n][:i])`` over the columns ``alphabet + (END,)``
        (rows past a string's length are False). Symbols are checked.
        This generic version walks the parser once per distinct string; automata
        override it with a vectorised table walk.
        """
        strings = list(strings)
        symbol_codes(strings, self.alphabet, self)  # validates
        cols = {c: j for j, c in enumerate(self.alphabet + (END,))}
        width = len(cols)
        lmax = max((len(s) for s in strings), default=0)
        out = np.zeros((len(strings), lmax + 1, width), dtype=bool)
        # each distinct string's rows, kept between calls (a trainer encodes the same few
        # strings every epoch); bounded, since sampled regular-language strings rarely repeat
        rows_of: dict[str, np.ndarray] = self.__dict__.setdefault("_prefix_rows", {})
        if len(rows_of) > _PREFIX_CACHE:
            rows_of.clear()
        row_of_state: dict = {}
        dead = np.zeros(width, dtype=bool)

        def row(state):
            r = row_of_state.get(state)
            if r is None:
                r = np.zeros(width, dtype=bool)
                r[[cols[c] for c in self._legal(state)]] = True
                row_of_state[state] = r
            return r

        for n, s in enumerate(strings):
            rows = rows_of.get(s)
            if rows is None:
                state = self._start()
                seq = [dead if state is _DEAD else row(state)]
                for c in s:
                    if state is not _DEAD:
                        state = self._advance(state, c)
                    seq.append(dead if state is _DEAD else row(state))
                rows = rows_of[s] = np.stack(seq)
                rows.flags.writeable = False
            out[n, : len(s) + 1] = rows
        return out

    def enumerate(self, max_len: int) -> list[str]:
        """Every member of length <= ``max_len``, shortlex (length, then alphabet order)."""
        if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 0:
            raise ValueError(f"max_len must be an integer >= 0, got {max_len!r}")
        members: list[str] = []
        start = self._start()
        frontier = [] if start is _DEAD else [("", start)]
        for length in range(int(max_len) + 1):
            nxt = []
            for p, state in frontier:
                legal = self._legal(state)
                if END in legal:
                    members.append(p)
                if length == max_len:
                    continue
                for c in self.alphabet:
                    if c in legal and self._can_finish_within(
                        new := self._advance(state, c), max_len - length - 1
                    ):
                        nxt.append((p + c, new))
            frontier = nxt
        return members

    def _can_finish_within(self, state, steps: int) -> bool:
        """Whether a member is reachable from ``state`` within ``steps`` symbols (pruning
        for ``enumerate``; the default only rules out dead states)."""
        return state is not _DEAD

    # -- sampling ----------------------------------------------------------
    def sample(self, rng, count: int, **options) -> list[str]:
        raise NotImplementedError

    def _random_edit(self, rng: np.random.Generator, s: str) -> str:
        """One random symbol edit of ``s``: substitute, insert or delete (each 1/3 when possible)."""
        k = len(self.alphabet)
        ops = ["insert"] + (["substitute", "delete"] if s else [])
        op = ops[rng.integers(len(ops))]
        if op == "insert":
            i = int(rng.integers(len(s) + 1))
            return s[:i] + self.alphabet[rng.integers(k)] + s[i:]
        i = int(rng.integers(len(s)))
        if op == "delete":
            return s[:i] + s[i + 1:]
        others = [c for c in self.alphabet if c != s[i]]
        return s[:i] + others[rng.integers(len(others))] + s[i + 1:]

    def _draw_nonmembers(self, rng, count, near_fraction, member_draw, random_draw, length_range):
        """``round(count*near_fraction)`` one-edit neighbours of members (``member_draw(rng, n)``
        gives n members) and the rest from ``random_draw(rng, n)`` (n candidate strings), kept
        when they are non-members with length in ``length_range``; drawn in rounds, shuffled.
        Raises ValueError when they cannot be found."""
        lo, hi = length_range
        n_near = int(round(count * near_fraction))
        near: list[str] = []
        far: list[str] = []
        for _ in range(100):
            need_near, need_far = n_near - len(near), count - n_near - len(far)
            if need_near <= 0 and need_far <= 0:
                break
            if need_near > 0:
                cands = [self._random_edit(rng, m) for m in member_draw(rng, 2 * need_near + 8)]
                keep = [c for c in cands if lo <= len(c) <= hi]
                flags = self.accepts_many(keep) if keep else []
                near += [c for c, f in zip(keep, flags) if not f][:need_near]
            if need_far > 0:
                cands = random_draw(rng, 2 * need_far + 8)
                flags = self.accepts_many(cands)
                far += [c for c, f in zip(cands, flags) if not f][:need_far]
        if len(near) < n_near or len(far) < count - n_near:
            raise ValueError(f"could not find {count} non-members of {self.name} with length in "
                             f"{length_range} (near_fraction={near_fraction})")
        out = near + far
        order = rng.permutation(len(out))
        return [out[i] for i in order]

    def _uniform_random_strings(self, rng, length_range, count):
        return [self._uniform_random_string(rng, length_range) for _ in range(count)]

    def _uniform_random_string(self, rng, length_range):
        """Length uniform in ``length_range``, then each symbol uniform over the alphabet."""
        lo, hi = length_range
        length = int(rng.integers(lo, hi + 1))
        idx = rng.integers(len(self.alphabet), size=length)
        return "".join(self.alphabet[i] for i in idx)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} over {''.join(self.alphabet)!r}>"
