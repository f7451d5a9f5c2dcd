"""Regular languages given by a deterministic finite automaton (DFA).

`RegularLanguage` holds a complete transition table (missing transitions go
to a rejecting sink) and derives everything from it: membership, legal next
symbols, shortlex enumeration, exact uniform sampling by length (members or
non-members) and the minimal DFA. `DFALanguage` is the registry entry
``grammars.get("dfa", alphabet=..., transitions=..., start=..., accepting=...)``
through which users add their own languages without subclassing.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .base import (END, Language, as_rng, check_count, check_fraction, check_range,
                   symbol_codes)


def _check_alphabet(alphabet) -> tuple[str, ...]:
    if isinstance(alphabet, str):
        alphabet = tuple(alphabet)
    try:
        alphabet = tuple(alphabet)
    except TypeError:
        raise ValueError(f"alphabet must be a sequence of one-character str, got {alphabet!r}") from None
    for c in alphabet:
        if not isinstance(c, str) or len(c) != 1:
            raise ValueError(f"alphabet symbols must be one-character str, got {c!r} in {alphabet!r}")
        if c == END:
            raise ValueError(f"the end marker {END!r} cannot be an alphabet symbol: {alphabet!r}")
    if len(set(alphabet)) != len(alphabet) or not alphabet:
        raise ValueError(f"alphabet must be non-empty with distinct symbols, got {alphabet!r}")
    return alphabet


_SCALAR_WALK = 2048  # symbols up to which accepts_many walks the table in Python


class RegularLanguage(Language):
    """The language of a DFA.

    Parameters
    ----------
    alphabet : sequence of one-character str
    transitions : dict ``{state: {symbol: state}}``; states are any hashables; a
        missing ``(state, symbol)`` pair goes to a rejecting sink.
    start : the start state.
    accepting : iterable of accepting states.
    states : optional iterable of all states (defaults to those named in
        ``transitions``, ``start`` and ``accepting``).

    Sampling (``sample``): the length is uniform over the lengths in
    ``length_range`` that have at least one string of the requested kind, then
    the string is uniform among those of that length (exact, by counting
    paths of the automaton).
    """

    sample_options = ("length_range", "members", "near_fraction")

    def __init__(self, alphabet, transitions, start, accepting, states=None, *, name="dfa",
                 description=None):
        self.alphabet = _check_alphabet(alphabet)
        if not isinstance(transitions, dict):
            raise ValueError(f"transitions must be a dict {{state: {{symbol: state}}}}, got {transitions!r}")
        names = list(states) if states is not None else []
        seen = set(names)

        def add(q):
            try:
                hash(q)
            except TypeError:
                raise ValueError(f"DFA states must be hashable, got {q!r}") from None
            if q not in seen:
                seen.add(q)
                names.append(q)

        add(start)
        for q, row in transitions.items():
            add(q)
            if not isinstance(row, dict):
                raise ValueError(f"transitions[{q!r}] must be a dict {{symbol: state}}, got {row!r}")
            for c, r in row.items():
                if c not in self.alphabet:
                    raise ValueError(f"transition symbol {c!r} from state {q!r} is not in the "
                                     f"alphabet {self.alphabet}")
                add(r)
        accepting = list(accepting)
        for q in accepting:
            if q not in seen:
                raise ValueError(f"accepting state {q!r} is not a state; states are {names}")
        if states is not None and len(names) != len(set(states)):
            extra = names[len(set(states)):]
            raise ValueError(f"states {extra} are used but not listed in states={list(states)}")
        index = {q: i for i, q in enumerate(names)}
        sink = len(names)
        k = len(self.alphabet)
        delta = np.full((sink + 1, k), sink, dtype=np.int64)
        for q, row in transitions.items():
            for c, r in row.items():
                delta[index[q], self.alphabet.index(c)] = index[r]
        accept = np.zeros(sink + 1, dtype=bool)
        accept[[index[q] for q in accepting]] = True
        self._set_table(delta, int(index[start]), accept)
        self.name = name
        self.description = description or f"DFA with {len(names)} states over {{{''.join(self.alphabet)}}}"

    # -- tables ------------------------------------------------------------
    def _set_table(self, delta: np.ndarray, start: int, accept: np.ndarray) -> None:
        self._delta, self._q0, self._accept = delta, start, accept
        nq, k = delta.shape
        # steps to the nearest accepting state (inf if none): backward BFS
        dist = np.full(nq, np.inf)
        dist[accept] = 0
        frontier = list(np.flatnonzero(accept))
        d = 0
        while frontier:
            d += 1
            frontier = [q for q in range(nq) if dist[q] == np.inf and np.isin(delta[q], frontier).any()]
            dist[frontier] = d
        self._dist = dist
        live = np.isfinite(dist)
        self._live = live
        self._legal_table = np.concatenate([live[delta], accept[:, None]], axis=1)  # [Q, K+1]
        cols = self.alphabet + (END,)
        self._legal_sets = [frozenset(c for c, ok in zip(cols, row) if ok) for row in self._legal_table]
        self._count_cache: dict[bool, list[np.ndarray]] = {True: [], False: []}
        self._column = {c: i for i, c in enumerate(self.alphabet)}
        self._cdf_cache: dict[bool, list] = {True: [], False: []}

    # -- parser interface --------------------------------------------------
    def _start(self):
        return self._q0 if self._live[self._q0] else None

    def _advance(self, state, symbol):
        q = int(self._delta[state, self.alphabet.index(symbol)])
        return q if self._live[q] else None

    def _legal(self, state):
        return self._legal_sets[state]

    def _can_finish_within(self, state, steps):
        return state is not None and self._dist[state] <= steps

    def prefix_legal_matrix(self, strings) -> np.ndarray:
        codes, lengths = symbol_codes(strings, self.alphabet, self)
        n, lmax = codes.shape
        states = np.empty((n, lmax + 1), dtype=np.int64)
        states[:, 0] = self._q0
        for t in range(lmax):
            states[:, t + 1] = self._delta[states[:, t], codes[:, t]]
        out = self._legal_table[states]
        out[np.arange(lmax + 1)[None, :] > lengths[:, None]] = False
        return out

    def accepts_many(self, strings) -> np.ndarray:
        strings = list(strings)
        if sum(map(len, strings)) <= _SCALAR_WALK:
            # a sampler's few dozen short strings: a table walk in Python beats numpy's per-call cost
            delta, accept, column = self._delta.tolist(), self._accept.tolist(), self._column
            out = np.empty(len(strings), dtype=bool)
            for n, s in enumerate(strings):
                q = self._q0
                try:
                    for c in s:
                        q = delta[q][column[c]]
                except (KeyError, TypeError):
                    symbol_codes([s], self.alphabet, self)      # raises the usual error
                out[n] = accept[q]
            return out
        codes, lengths = symbol_codes(strings, self.alphabet, self)
        q = np.full(len(lengths), self._q0)
        for t in range(codes.shape[1]):
            q = np.where(t < lengths, self._delta[q, codes[:, t]], q)
        return self._accept[q]

    def accepts(self, s: str) -> bool:
        q = self._q0
        self.check_string(s)
        idx = self.alphabet.index
        for c in s:
            q = self._delta[q, idx(c)]
        return bool(self._accept[q])

    # -- counting and sampling ---------------------------------------------
    def _counts(self, members: bool, length: int) -> list[np.ndarray]:
        """``N[r][q]`` proportional to the number of length-r strings leading from q to an
        accepting (members) or rejecting (non-members) state; each level is rescaled by its
        maximum so long lengths do not overflow (ratios within a level are exact)."""
        table = self._count_cache[members]
        if not table:
            table.append((self._accept if members else ~self._accept).astype(float))
        while len(table) <= length:
            level = table[-1][self._delta].sum(axis=1)
            m = level.max()
            table.append(level / m if m > 0 else level)
        return table

    def _cdfs(self, members: bool, length: int) -> list[list[list[float]]]:
        """``C[r][q]``: the cumulative completion counts ``cumsum(N[r][delta[q]])`` (``_counts``) as
        Python floats, the inverse-CDF table of :meth:`_exact_sample`."""
        counts = self._counts(members, length)
        table = self._cdf_cache[members]
        while len(table) <= length:
            level = counts[len(table)]
            table.append(np.cumsum(level[self._delta], axis=1).tolist())
        return table

    def _exact_sample(self, rng, count, length_range, members: bool) -> list[str]:
        """``count`` strings, each with a length drawn uniformly from the lengths in range that have
        one, then uniform among those of that length: symbol by symbol, symbol ``c`` after state
        q with probability proportional to the number of completions from ``delta[q, c]``
        (``_counts``), chosen by the inverse CDF of one uniform per symbol; the uniforms come
        from ``rng`` one block ``[n_L, L]`` per length L, in increasing order.  (Written as a
        scalar walk over tables: the sets drawn per member and epoch are small, and numpy's
        per-call cost on [n, K] arrays was most of a recognition task's epoch.)"""
        lo, hi = length_range
        counts = self._counts(members, hi)
        lengths = [L for L in range(lo, hi + 1) if counts[L][self._q0] > 0]
        if not lengths and count:
            kind = "members" if members else "non-members"
            raise ValueError(f"{self.name} has no {kind} with length in length_range={length_range}")
        if not count:
            return []
        drawn = np.asarray(lengths)[rng.integers(len(lengths), size=count)]
        cdfs = self._cdfs(members, hi)
        delta = self._delta.tolist()
        alphabet = self.alphabet
        out: list[str] = [""] * count
        for L in np.unique(drawn).tolist():
            rows = np.flatnonzero(drawn == L).tolist()
            for r, ur in zip(rows, rng.random((len(rows), L)).tolist()):
                q, chars = self._q0, []
                for t in range(L):
                    cdf = cdfs[L - t - 1][q]
                    cut = ur[t] * cdf[-1]
                    c = 0
                    while cdf[c] < cut:      # the number of entries below the cut (cdf ascends)
                        c += 1
                    chars.append(alphabet[c])
                    q = delta[q][c]
                out[r] = "".join(chars)
        return out

    def sample(self, rng, count, length_range=(0, 10), *, members=True, near_fraction=0.5):
        """Draw ``count`` strings with length in ``length_range`` (inclusive).

        ``members=True``: members only; the length is uniform over the lengths in
        range that have a member, the string uniform among members of that length.
        ``members=False``: non-members; ``round(count*near_fraction)`` of them are
        near the boundary (one random substitution, insertion or deletion applied to
        a member drawn as above, kept if it is a non-member in range), the rest
        uniform among non-members by length as for members.
        ``members=None``: any string: length uniform in range, symbols uniform.
        """
        rng, count = as_rng(rng), check_count(count)
        length_range = check_range("length_range", length_range)
        near_fraction = check_fraction("near_fraction", near_fraction)
        if members is None:
            return [self._uniform_random_string(rng, length_range) for _ in range(count)]
        if members is True:
            return self._exact_sample(rng, count, length_range, True)
        if members is False:
            return self._draw_nonmembers(
                rng, count, near_fraction,
                lambda g, n: self._exact_sample(g, n, length_range, True),
                lambda g, n: self._exact_sample(g, n, length_range, False), length_range)
        raise ValueError(f"members must be True, False or None, got {members!r}")

    def count_members(self, length: int) -> int:
        """Exact number of members of length ``length`` (Python int)."""
        v = {self._q0: 1}
        for _ in range(length):
            nxt: dict[int, int] = {}
            for q, c in v.items():
                for r in self._delta[q]:
                    nxt[int(r)] = nxt.get(int(r), 0) + c
            v = nxt
        return sum(c for q, c in v.items() if self._accept[q])

    # -- the minimal automaton -----------------------------------------------
    def minimal_dfa(self) -> dict:
        """The minimal complete DFA of this language, canonically numbered.

        Returns ``{"alphabet", "states", "start", "accepting", "transitions"}`` with
        states ``0..n-1`` numbered in breadth-first order from the start state
        (symbols in alphabet order), start ``0``, and a rejecting sink included
        when the language needs one. Two DFAs of the same language give equal
        dicts, and ``grammars.get("dfa", **lang.minimal_dfa())`` rebuilds it.
        (Moore's partition refinement on the reachable states.)
        """
        delta, k = self._delta, len(self.alphabet)
        reach, queue = {self._q0}, deque([self._q0])
        while queue:
            q = queue.popleft()
            for r in delta[q]:
                if int(r) not in reach:
                    reach.add(int(r))
                    queue.append(int(r))
        reach = sorted(reach)
        block = {q: int(self._accept[q]) for q in reach}
        while True:
            sig = {q: (block[q],) + tuple(block[int(r)] for r in delta[q]) for q in reach}
            ids: dict[tuple, int] = {}
            new = {q: ids.setdefault(sig[q], len(ids)) for q in reach}
            if len(ids) == len(set(block.values())):
                break
            block = new
        # canonical BFS numbering of the blocks
        number = {block[self._q0]: 0}
        queue = deque([self._q0])
        rep = {block[self._q0]: self._q0}
        while queue:
            q = queue.popleft()
            for a in range(k):
                r = int(delta[q, a])
                if block[r] not in number:
                    number[block[r]] = len(number)
                    rep[block[r]] = r
                    queue.append(r)
        n = len(number)
        inv = {v: b for b, v in number.items()}
        transitions = {i: {self.alphabet[a]: number[block[int(delta[rep[inv[i]], a])]] for a in range(k)}
                       for i in range(n)}
        accepting = [i for i in range(n) if self._accept[rep[inv[i]]]]
        return {"alphabet": self.alphabet, "states": list(range(n)), "start": 0,
                "accepting": accepting, "transitions": transitions}


class DFALanguage(RegularLanguage):
    """Any regular language from a transition table (registry name ``"dfa"``).

    ``grammars.get("dfa", alphabet="ab", transitions={0: {"a": 1}, 1: {"b": 0}},
    start=0, accepting=[0])`` is (ab)*. Missing transitions reject. Optional
    ``name`` and ``description`` label it in listings.
    """

    def __init__(self, alphabet=("0", "1"), transitions=None, start=0, accepting=(), states=None, *,
                 name="dfa", description=None):
        if transitions is None:
            transitions = {0: {}}
        super().__init__(alphabet, transitions, start, accepting, states, name=name,
                         description=description)
        if description is None:
            n = self._delta.shape[0] - 1
            self.description = (f"any regular language given as a transition table "
                                f"(here {n} state{'s' if n != 1 else ''})")
