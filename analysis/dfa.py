"""`DFA`: complete deterministic finite automata, as extracted from networks.

States are ``0..n-1``; ``transitions[q, a]`` is the successor of q on the a-th
symbol of ``alphabet``; ``accepting[q]`` is a bool. ``minimise()`` is Hopcroft's
partition refinement (Hopcroft 1971) on the reachable part, numbered canonically
(breadth-first from the start, symbols in alphabet order) — so two minimal DFAs
of one language over one alphabet are equal as data, which is how `compare`
decides equivalence with ``lang.minimal_dfa()`` (the grammars part's dict, same
canonical numbering).
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np


class DFA:
    """A complete DFA over one-character symbols.

    Args:
        alphabet: the symbols (one character each), in column order of ``transitions``.
        transitions: ``[n, k]`` ints in ``0..n-1``.
        start: the start state.
        accepting: ``[n]`` bools, or an iterable of accepting state indices.
    """

    def __init__(self, alphabet, transitions, start: int, accepting):
        self.alphabet = tuple(alphabet)
        if not self.alphabet or not all(isinstance(s, str) and len(s) == 1 for s in self.alphabet):
            raise ValueError(f"alphabet must be one-character strings, got {alphabet!r}")
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError(f"alphabet has repeated symbols: {alphabet!r}")
        t = np.asarray(transitions, dtype=np.int64)
        n, k = (t.shape + (0,))[:2] if t.ndim == 2 else (-1, -1)
        if t.ndim != 2 or k != len(self.alphabet) or n < 1:
            raise ValueError(f"transitions must have shape [n_states, {len(self.alphabet)}], got {t.shape}")
        if t.min() < 0 or t.max() >= n:
            raise ValueError(f"transitions must hold states in 0..{n - 1}, got values {t.min()}..{t.max()}")
        if not 0 <= int(start) < n:
            raise ValueError(f"start must be a state in 0..{n - 1}, got {start!r}")
        acc = np.asarray(accepting)
        if acc.dtype != bool:
            idx = np.asarray(list(accepting), dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"accepting states must lie in 0..{n - 1}, got {sorted(idx.tolist())}")
            acc = np.zeros(n, dtype=bool)
            acc[idx] = True
        elif acc.shape != (n,):
            raise ValueError(f"accepting must have shape [{n}], got {acc.shape}")
        self.transitions, self.start, self.accepting = t, int(start), acc.copy()
        self.info: dict = {}  # provenance (extraction method, fidelity, ...)

    @property
    def n_states(self) -> int:
        return int(self.transitions.shape[0])

    # ----- running
    def run(self, string: str) -> int:
        """The state reached from the start by ``string``."""
        index = {s: i for i, s in enumerate(self.alphabet)}
        q = self.start
        for c in string:
            if c not in index:
                raise ValueError(f"symbol {c!r} of {string!r} not in the alphabet {self.alphabet!r}")
            q = int(self.transitions[q, index[c]])
        return q

    def accepts(self, string: str) -> bool:
        return bool(self.accepting[self.run(string)])

    def accepts_all_up_to(self, max_len: int) -> tuple[list[str], np.ndarray]:
        """Every string up to ``max_len`` (shortlex) and the DFA's verdicts, level by level (vectorised)."""
        strings, verdicts = [""], [self.accepting[self.start]]
        states, level = np.array([self.start]), [""]
        for _ in range(max_len):
            states = self.transitions[states].reshape(-1)
            level = [w + s for w in level for s in self.alphabet]
            strings.extend(level)
            verdicts.append(self.accepting[states])
        return strings, np.concatenate([np.atleast_1d(v) for v in verdicts])

    # ----- structure
    def reachable(self) -> np.ndarray:
        """Sorted indices of the states reachable from the start."""
        seen, queue = {self.start}, deque([self.start])
        while queue:
            q = queue.popleft()
            for r in self.transitions[q]:
                if int(r) not in seen:
                    seen.add(int(r))
                    queue.append(int(r))
        return np.array(sorted(seen))

    def minimise(self) -> "DFA":
        """The minimal equivalent DFA (Hopcroft 1971), canonically numbered (BFS from the start)."""
        keep = self.reachable()
        old = {int(q): i for i, q in enumerate(keep)}
        t = np.array([[old[int(r)] for r in self.transitions[q]] for q in keep], dtype=np.int64)
        acc = self.accepting[keep]
        n, k = t.shape
        # inverse transitions: pre[a][r] = states q with t[q, a] = r
        pre = [[[] for _ in range(n)] for _ in range(k)]
        for q in range(n):
            for a in range(k):
                pre[a][t[q, a]].append(q)
        blocks = [set(np.nonzero(acc)[0].tolist()), set(np.nonzero(~acc)[0].tolist())]
        blocks = [b for b in blocks if b]
        block_of = np.zeros(n, dtype=np.int64)
        for i, b in enumerate(blocks):
            for q in b:
                block_of[q] = i
        work = deque((i, a) for i in range(len(blocks)) for a in range(k))
        while work:
            splitter, a = work.popleft()
            X = {p for r in blocks[splitter] for p in pre[a][r]}
            touched = {int(block_of[p]) for p in X}
            for j in touched:
                inside = blocks[j] & X
                outside = blocks[j] - X
                if not inside or not outside:
                    continue
                small, big = (inside, outside) if len(inside) <= len(outside) else (outside, inside)
                blocks[j] = big
                blocks.append(small)
                new = len(blocks) - 1
                for q in small:
                    block_of[q] = new
                for b in range(k):
                    work.append((new, b))  # Hopcroft: add the smaller half (adding both is also correct)
        return _canonical(t, acc, old[self.start], block_of, self.alphabet)

    def is_minimal(self) -> bool:
        return self.minimise().n_states == self.n_states

    def equivalent(self, other: "DFA") -> bool:
        """Whether both accept the same language (product-automaton search; alphabets must match as sets)."""
        if set(self.alphabet) != set(other.alphabet):
            raise ValueError(f"alphabets differ: {self.alphabet!r} vs {other.alphabet!r}")
        return self.counterexample(other) is None

    def counterexample(self, other: "DFA") -> str | None:
        """A shortest string on which the two DFAs disagree, or None."""
        cols = [other.alphabet.index(s) for s in self.alphabet]
        start = (self.start, other.start)
        seen, queue = {start: ""}, deque([start])
        while queue:
            p, q = queue.popleft()
            if self.accepting[p] != other.accepting[q]:
                return seen[(p, q)]
            for a, s in enumerate(self.alphabet):
                nxt = (int(self.transitions[p, a]), int(other.transitions[q, cols[a]]))
                if nxt not in seen:
                    seen[nxt] = seen[(p, q)] + s
                    queue.append(nxt)
        return None

    def __eq__(self, other) -> bool:
        """Equal as data (same numbering); compare ``minimise()`` results for language equality."""
        if not isinstance(other, DFA):
            return NotImplemented
        return (self.alphabet == other.alphabet and self.start == other.start
                and np.array_equal(self.transitions, other.transitions)
                and np.array_equal(self.accepting, other.accepting))

    __hash__ = None

    def __repr__(self) -> str:
        return (f"DFA(n_states={self.n_states}, alphabet={self.alphabet!r}, start={self.start}, "
                f"accepting={np.nonzero(self.accepting)[0].tolist()})")

    # ----- checks against a language
    def compare(self, lang, max_len: int = 10) -> dict:
        """Accuracy on every string up to ``max_len`` against ``lang.accepts``, and equivalence.

        Returns ``{"accuracy", "n_strings", "n_errors", "errors" (first 10), "n_states",
        "minimal_n_states", "equivalent"}``. ``equivalent`` comes from the language's
        minimal DFA when it has ``minimal_dfa()`` (exact), otherwise from the brute-force
        check (``accuracy == 1`` up to max_len; ``"equivalence": "brute_force"`` says so).
        """
        if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 0:
            raise ValueError(f"max_len must be an int >= 0, got {max_len!r}")
        strings, mine = self.accepts_all_up_to(int(max_len))
        truth = np.array([bool(lang.accepts(s)) for s in strings])
        wrong = np.nonzero(mine != truth)[0]
        out = {"accuracy": float(1 - len(wrong) / len(strings)), "n_strings": len(strings),
               "n_errors": int(len(wrong)), "errors": [strings[i] for i in wrong[:10]],
               "n_states": self.n_states, "minimal_n_states": self.minimise().n_states}
        if hasattr(lang, "minimal_dfa"):
            target = DFA.from_dict(lang.minimal_dfa())
            out["equivalent"] = self.equivalent(target)
            out["language_n_states"] = target.n_states
            out["equivalence"] = "exact"
        else:
            out["equivalent"] = len(wrong) == 0
            out["equivalence"] = "brute_force"
        return out

    # ----- conversions
    def to_networkx(self):
        """``networkx.MultiDiGraph``: nodes carry ``accepting``/``start``; edges carry ``symbol``."""
        import networkx as nx

        g = nx.MultiDiGraph()
        for q in range(self.n_states):
            g.add_node(q, accepting=bool(self.accepting[q]), start=q == self.start)
        for q in range(self.n_states):
            for a, s in enumerate(self.alphabet):
                g.add_edge(q, int(self.transitions[q, a]), symbol=s, label=s)
        return g

    def to_dict(self) -> dict:
        """The grammars part's DFA dict: ``{"alphabet", "states", "start", "accepting", "transitions"}``."""
        return {"alphabet": list(self.alphabet), "states": list(range(self.n_states)), "start": self.start,
                "accepting": np.nonzero(self.accepting)[0].tolist(),
                "transitions": {q: {s: int(self.transitions[q, a]) for a, s in enumerate(self.alphabet)}
                                for q in range(self.n_states)}}

    @classmethod
    def from_dict(cls, d: dict) -> "DFA":
        """From `to_dict` output or ``lang.minimal_dfa()`` (JSON round trips turn state keys into str)."""
        try:
            alphabet = tuple(d["alphabet"])
            states = list(d.get("states", range(len(d["transitions"]))))
            index = {str(q): i for i, q in enumerate(states)}
            trans = d["transitions"]
            t = np.array([[index[str(trans[q][s] if q in trans else trans[str(q)][s])] for s in alphabet]
                          for q in states], dtype=np.int64)
            return cls(alphabet, t, index[str(d["start"])], [index[str(q)] for q in d["accepting"]])
        except (KeyError, TypeError) as err:
            raise ValueError(f"not a DFA dict (needs alphabet, states, start, accepting, transitions): {err}") from None

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path) -> "DFA":
        return cls.from_dict(json.loads(Path(path).read_text()))


def _canonical(t, acc, start, block_of, alphabet) -> DFA:
    """The quotient automaton by ``block_of``, states renumbered breadth-first from the start block."""
    number = {int(block_of[start]): 0}
    rep = {0: start}
    queue = deque([start])
    while queue:
        q = queue.popleft()
        for a in range(t.shape[1]):
            b = int(block_of[t[q, a]])
            if b not in number:
                number[b] = len(number)
                rep[number[b]] = int(t[q, a])
                queue.append(int(t[q, a]))
    n = len(number)
    trans = np.array([[number[int(block_of[t[rep[i], a]])] for a in range(t.shape[1])] for i in range(n)])
    return DFA(alphabet, trans, 0, np.array([bool(acc[rep[i]]) for i in range(n)]))
