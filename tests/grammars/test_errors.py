"""Bad input: clear ValueErrors that name the value."""

import numpy as np
import pytest

from dynrec import grammars


def test_unknown_grammar_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown grammar 'tomita9'.*tomita1"):
        grammars.get("tomita9")
    with pytest.raises(ValueError, match=r"'anbn' takes parameters none; got unknown \['k'\]"):
        grammars.get("anbn", k=3)
    with pytest.raises(ValueError, match="k must be an integer in 1..26, got 0"):
        grammars.get("counting", k=0)


def test_symbols_outside_the_alphabet():
    lang = grammars.get("anbn")
    with pytest.raises(ValueError, match=r"'abc'.*\['c'\].*\('a', 'b'\)"):
        lang.accepts("abc")
    with pytest.raises(ValueError, match=r"'x'"):
        lang.next_symbols("ax")
    with pytest.raises(ValueError, match=r"'012'.*\['2'\]"):
        grammars.get("tomita3").accepts("012")
    with pytest.raises(ValueError, match=r"'012'"):
        grammars.RecognitionTask(grammars.get("tomita3")).encode(["01", "012"])
    with pytest.raises(ValueError, match=r"'ax'"):
        grammars.PredictionTask(lang).encode(["ab", "ax"])
    with pytest.raises(ValueError, match="must be a str"):
        lang.accepts(["a", "b"])


def test_prefix_of_no_member_and_non_member_prediction_strings():
    lang = grammars.get("anbn")
    assert lang.next_symbols("ba") == frozenset() and not lang.is_prefix("abb")
    with pytest.raises(ValueError, match=r"members of anbn; 'aab' is not"):
        grammars.PredictionTask(lang).encode(["ab", "aab"])


def test_bad_ranges_and_counts():
    anbn, t4, reber, d1 = (grammars.get(n) for n in ("anbn", "tomita4", "reber", "dyck1"))
    with pytest.raises(ValueError, match=r"n_range minimum must be <= its maximum, got n_range=\(5, 2\)"):
        anbn.sample(0, 3, n_range=(5, 2))
    with pytest.raises(ValueError, match=r"n_range minimum must be >= 1"):
        anbn.sample(0, 3, n_range=(0, 2))
    with pytest.raises(ValueError, match=r"length_range minimum must be >= 0, got length_range=\(-1, 4\)"):
        t4.sample(0, 3, length_range=(-1, 4))
    with pytest.raises(ValueError, match=r"length_range"):
        d1.sample(0, 3, length_range=(4, 2))
    with pytest.raises(ValueError, match=r"count must be an integer >= 0, got -1"):
        t4.sample(0, -1)
    with pytest.raises(ValueError, match=r"max_len=-2|max_len"):
        reber.sample(0, 3, max_len=-2)
    with pytest.raises(ValueError, match=r"max_len must be an integer >= 0, got -1"):
        t4.enumerate(-1)
    with pytest.raises(ValueError, match=r"distribution must be one of \('uniform', 'skewed'\), got 'zipf'"):
        anbn.sample(0, 3, distribution="zipf")
    with pytest.raises(ValueError, match=r"members must be True, False or None, got 'yes'"):
        t4.sample(0, 3, members="yes")
    with pytest.raises(ValueError, match=r"rng must be a numpy.random.Generator or an int seed"):
        t4.sample(np.random.RandomState(0), 3)
    with pytest.raises(ValueError, match=r"no member of anbn has n in"):
        anbn.sample(0, 3, length_range=(3, 3))


def test_task_errors():
    anbn = grammars.get("anbn")
    with pytest.raises(ValueError, match="cannot be combined"):
        grammars.PredictionTask(anbn, stream=True, markers=True)
    with pytest.raises(ValueError, match=r"max_len=10 does not apply to anbn"):
        grammars.PredictionTask(anbn, max_len=10)
    with pytest.raises(ValueError, match=r"n_range=\(1, 3\) does not apply to tomita3"):
        grammars.PredictionTask(grammars.get("tomita3"), n_range=(1, 3))
    with pytest.raises(ValueError, match=r"length_range minimum must be <= its maximum"):
        grammars.RecognitionTask(anbn, length_range=(5, 1))
    with pytest.raises(ValueError, match="lang must be a grammars.Language"):
        grammars.PredictionTask("anbn")
    with pytest.raises(ValueError, match="encode_streams needs"):
        grammars.PredictionTask(anbn).encode_streams([["ab"]])


def test_dfa_errors():
    with pytest.raises(ValueError, match=r"symbol 'c' from state 0 is not in the alphabet"):
        grammars.get("dfa", alphabet="ab", transitions={0: {"c": 0}}, start=0, accepting=[0])
    with pytest.raises(ValueError, match=r"accepting state 5 is not a state"):
        grammars.get("dfa", alphabet="ab", transitions={0: {"a": 0}}, start=0, accepting=[5])
    with pytest.raises(ValueError, match=r"end marker"):
        grammars.get("dfa", alphabet="a$", transitions={}, start=0, accepting=[0])
    with pytest.raises(ValueError, match=r"one-character"):
        grammars.get("dfa", alphabet=["ab"], transitions={}, start=0, accepting=[0])
