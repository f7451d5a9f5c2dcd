"""User DFAs, minimal automata, and the published training sets."""

import json

import pytest

from dynrec import grammars

from grammar_oracles import BINARY, all_strings

BIN10 = list(all_strings("01", 10))


def test_user_dfa_is_the_language_of_its_table():
    # (ab)*, missing transitions reject
    lang = grammars.get("dfa", alphabet="ab", transitions={0: {"a": 1}, 1: {"b": 0}}, start=0,
                        accepting=[0])
    strings = list(all_strings("ab", 10))
    assert [lang.accepts(s) for s in strings] == [s == "ab" * (len(s) // 2) for s in strings]
    assert lang.enumerate(6) == ["", "ab", "abab", "ababab"]
    assert lang.next_symbols("aba") == frozenset("b") and lang.next_symbols("aa") == frozenset()
    assert grammars.get("dfa").enumerate(5) == []  # the default table: the empty language


@pytest.mark.parametrize("name,n_states", [
    ("tomita1", 2), ("tomita2", 3), ("tomita3", 5), ("tomita4", 4), ("tomita5", 4),
    ("tomita6", 3), ("tomita7", 5), ("parity", 2)])
def test_minimal_dfa_sizes_and_round_trip(name, n_states):
    lang = grammars.get(name)
    m = lang.minimal_dfa()
    assert len(m["states"]) == n_states and m["start"] == 0
    rebuilt = grammars.get("dfa", **m)
    assert [rebuilt.accepts(s) for s in BIN10] == [BINARY[name](s) for s in BIN10]
    assert rebuilt.minimal_dfa() == m


def test_minimisation_merges_redundant_states_canonically():
    # parity with each state duplicated and unreachable junk: minimises to the 2-state parity DFA
    t = {"e1": {"0": "e2", "1": "o1"}, "e2": {"0": "e1", "1": "o2"}, "o1": {"0": "o2", "1": "e2"},
         "o2": {"0": "o1", "1": "e1"}, "junk": {"0": "junk"}}
    big = grammars.get("dfa", alphabet="01", transitions=t, start="e1", accepting=["o1", "o2", "junk"])
    assert big.minimal_dfa() == grammars.get("parity").minimal_dfa()
    assert grammars.get("parity").minimal_dfa()["transitions"] == {0: {"0": 0, "1": 1}, 1: {"0": 1, "1": 0}}


def test_shipped_training_sets_equal_the_shared_reference(reference_dir):
    from importlib import resources

    shipped = resources.files("dynrec.grammars").joinpath("data", "training_sets.json").read_text("utf-8")
    shared = (reference_dir / "training_sets.json").read_text("utf-8")
    assert json.loads(shipped) == json.loads(shared)


def test_published_strings_are_classified_correctly():
    for name in grammars.training_set_names():
        ts = grammars.training_set(name)
        lang = grammars.get(ts.language)
        assert ts.source and ts.accept and ts.reject
        assert all(lang.accepts(s) for s in ts.accept), name
        assert not any(lang.accepts(s) for s in ts.reject), name
        assert len(ts.strings()) == len(ts.labels())
    assert grammars.training_set("parity") == grammars.training_set("odd_parity")
    assert grammars.training_set("tomita4").accept[:3] == ("1", "0", "10")
    with pytest.raises(ValueError, match=r"no published training set 'tomita3'; available"):
        grammars.training_set("tomita3")
