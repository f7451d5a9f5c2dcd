"""DFA: Hopcroft minimisation against brute-force Myhill–Nerode classes; conversions; compare."""

import numpy as np
import pytest

from dynrec import grammars
from dynrec.analysis import DFA
from dynrec.analysis._common import all_strings


def _random_dfa(rng, n, k=2):
    return DFA("ab"[:k] if k <= 2 else "abc"[:k], rng.integers(0, n, (n, k)), int(rng.integers(n)),
               rng.random(n) < 0.4)


def _nerode_classes(d):
    """Brute force: reachable states told apart by their verdicts on every suffix up to n_states long."""
    suffixes = all_strings(d.alphabet, d.n_states)
    sig = set()
    for q in d.reachable():
        t = DFA(d.alphabet, d.transitions, int(q), d.accepting)
        sig.add(tuple(t.accepts(s) for s in suffixes))
    return len(sig)


def test_hopcroft_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(40):
        d = _random_dfa(rng, int(rng.integers(1, 9)))
        m = d.minimise()
        assert m.n_states == _nerode_classes(d)
        for s in all_strings(d.alphabet, 7):
            assert m.accepts(s) == d.accepts(s)
        assert d.equivalent(m) and m.minimise() == m  # canonical: idempotent


def test_canonical_form_ignores_numbering_and_counterexample():
    rng = np.random.default_rng(1)
    d = _random_dfa(rng, 6)
    perm = rng.permutation(6)
    inv = np.argsort(perm)
    shuffled = DFA(d.alphabet, perm[d.transitions[inv]], int(perm[d.start]), d.accepting[inv])
    assert shuffled.minimise() == d.minimise()
    other = DFA("ab", [[0, 0]], 0, [True])  # accepts everything
    none = DFA("ab", [[0, 0]], 0, [False])
    cex = other.counterexample(none)
    assert cex == ""
    d2 = DFA("ab", [[1, 0], [1, 1]], 0, [True, False])  # b*
    assert d2.counterexample(other) == "a"


def test_matches_grammars_minimal_dfa_and_compare():
    for name in ("tomita1", "tomita4", "parity"):
        lang = grammars.get(name)
        d = DFA.from_dict(lang.minimal_dfa())
        assert d.minimise() == d  # same canonical numbering as grammars
        res = d.compare(lang, 8)
        assert res["accuracy"] == 1.0 and res["equivalent"] and res["equivalence"] == "exact"
        assert DFA.from_dict(d.to_dict()) == d
    wrong = DFA("01", [[0, 0]], 0, [True])
    res = wrong.compare(grammars.get("tomita1"), 3)
    assert not res["equivalent"] and res["n_errors"] == 15 - 4 and res["errors"][0] == "0"


def test_networkx_and_save(tmp_path):
    d = DFA("ab", [[1, 0], [1, 1]], 0, [True, False])
    g = d.to_networkx()
    assert g.number_of_nodes() == 2 and g.number_of_edges() == 4
    assert g.nodes[0]["start"] and g.nodes[0]["accepting"] and not g.nodes[1]["accepting"]
    assert {(u, v, e["symbol"]) for u, v, e in g.edges(data=True)} == {(0, 1, "a"), (0, 0, "b"), (1, 1, "a"), (1, 1, "b")}
    assert DFA.load(d.save(tmp_path / "d.json")) == d


def test_bad_input():
    with pytest.raises(ValueError, match="transitions"):
        DFA("ab", [[0, 2]], 0, [True])
    with pytest.raises(ValueError, match="alphabet"):
        DFA("ab", [[0, 0]], 0, [True]).accepts("c")
