"""Every language against an independent brute-force definition."""

import pytest

from dynrec import grammars
from dynrec.grammars import END

from grammar_oracles import ALL, BINARY, all_strings, counting, shortlex, tomita5_original

BIN12 = list(all_strings("01", 12))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_languages_match_brute_force_up_to_12(name):
    lang = grammars.get(name)
    brute = [BINARY[name](s) for s in BIN12]
    assert [lang.accepts(s) for s in BIN12] == brute
    assert lang.accepts_many(BIN12).tolist() == brute
    assert lang.enumerate(12) == shortlex([s for s, b in zip(BIN12, brute) if b], ("0", "1"))


def test_tomita5_both_wordings_agree():
    assert all(BINARY["tomita5"](s) == tomita5_original(s) for s in BIN12)


def test_tomita3_examples_from_the_definition():
    t3 = grammars.get("tomita3")
    assert [t3.accepts(s) for s in ["", "100", "1100", "10", "1000", "1001", "11101", "100110"]] == \
        [True, True, True, False, False, True, False, False]


@pytest.mark.parametrize("name,alphabet,max_len", [
    ("anbn", "ab", 12), ("anbncn", "abc", 9), ("dyck1", "()", 12), ("dyck2", "()[]", 8)])
def test_nonregular_languages_match_brute_force(name, alphabet, max_len):
    lang = grammars.get(name)
    strings = list(all_strings(alphabet, max_len))
    brute = [ALL[name](s) for s in strings]
    assert [lang.accepts(s) for s in strings] == brute
    assert lang.enumerate(max_len) == shortlex([s for s, b in zip(strings, brute) if b], tuple(alphabet))


def test_counting_k4_matches_brute_force():
    lang = grammars.get("counting", k=4)
    assert lang.alphabet == ("a", "b", "c", "d")
    strings = list(all_strings("abcd", 8))
    brute = counting(4)
    assert [lang.accepts(s) for s in strings] == [brute(s) for s in strings]
    assert lang.enumerate(12) == ["abcd", "aabbccdd", "aaabbbcccddd"]


def test_reber_matches_regex_on_all_candidates_up_to_9():
    # every string B <middle> E with the middle over T S X P V, up to length 9
    for name in ("reber", "embedded_reber"):
        lang = grammars.get(name)
        cands = ["B" + m + "E" for m in all_strings("TSXPV", 7)]
        assert lang.accepts_many(cands).tolist() == [ALL[name](s) for s in cands]
    reber = grammars.get("reber")
    assert reber.accepts("BTSSXXTVVE") and reber.accepts("BPVPSE") and not reber.accepts("BTXXE")


def test_embedded_reber_is_reber_wrapped():
    reber, emb = grammars.get("reber"), grammars.get("embedded_reber")
    inner = reber.enumerate(12)
    assert len(inner) > 50
    expected = shortlex([f"B{c}{s}{c}E" for s in inner for c in "TP"], reber.alphabet)
    assert emb.enumerate(16) == expected
    assert all(ALL["embedded_reber"](s) for s in expected)
    assert not emb.accepts("BT" + inner[0] + "PE")


@pytest.mark.parametrize("name,max_len,slack", [
    ("tomita1", 8, 6), ("tomita2", 8, 6), ("tomita3", 8, 6), ("tomita4", 8, 6), ("tomita5", 8, 6),
    ("tomita6", 8, 6), ("tomita7", 8, 6), ("parity", 8, 6), ("anbn", 8, 10), ("dyck1", 8, 10),
    ("dyck2", 6, 8), ("reber", 10, 5), ("embedded_reber", 12, 6), ("anbncn", 6, 18)])
def test_next_symbols_equals_brute_force_continuations(name, max_len, slack):
    """next_symbols(p) = {next letter of members extending p} + END if p is a member, over every
    prefix of length <= max_len; members come from the brute-force oracle (via enumerate, itself
    checked against it above) up to max_len + slack, enough to complete any live prefix."""
    lang = grammars.get(name)
    members = lang.enumerate(max_len + slack)
    assert all(ALL[name](m) for m in members)
    expected: dict[str, set] = {}
    for m in members:
        for i in range(min(len(m), max_len + 1)):
            expected.setdefault(m[:i], set()).add(m[i])
        if len(m) <= max_len:
            expected.setdefault(m, set()).add(END)
    for p in all_strings("".join(lang.alphabet), max_len if len(lang.alphabet) <= 2 else 4):
        assert lang.next_symbols(p) == frozenset(expected.get(p, ())), p
        assert lang.is_prefix(p) == (p in expected)
    for p, legal in expected.items():
        assert lang.next_symbols(p) == frozenset(legal), p


def test_legal_after_prefixes_and_matrix_agree_with_next_symbols():
    for name in ("anbn", "tomita3", "dyck2", "reber"):
        lang = grammars.get(name)
        strings = lang.enumerate(10)[:30] + ["".join(reversed(s)) for s in lang.enumerate(10)[:30]]
        mat = lang.prefix_legal_matrix(strings)
        cols = lang.alphabet + (END,)
        for n, s in enumerate(strings):
            sets = lang.legal_after_prefixes(s)
            for i in range(len(s) + 1):
                assert sets[i] == lang.next_symbols(s[:i])
                assert {c for c, b in zip(cols, mat[n, i]) if b} == sets[i]
            assert not mat[n, len(s) + 1:].any()


def test_descriptions_and_alphabets():
    for name in grammars.names():
        lang = grammars.get(name)
        assert lang.description and isinstance(lang.alphabet, tuple)
        assert all(isinstance(c, str) and len(c) == 1 and c != END for c in lang.alphabet)


def test_prefix_legal_rows_kept_between_calls_stay_right():
    """The legal-set rows a language keeps per string (grammars.base) give what a fresh language
    computes, and writing into one call's result does not leak into the next."""
    import copy

    import numpy as np

    lang = grammars.get("anbn")
    first = lang.prefix_legal_matrix(["ab", "aabb", "aaabbb"])
    first[:] = True                                    # the caller owns its array
    again = lang.prefix_legal_matrix(["aabb", "ab", "abab", "aaabbb"])
    fresh = copy.deepcopy(grammars.get("anbn"))
    fresh.__dict__.pop("_prefix_rows", None)
    assert np.array_equal(again, fresh.prefix_legal_matrix(["aabb", "ab", "abab", "aaabbb"]))
    assert again[0, 0].tolist() == [True, False, False]        # after "": only a
    assert not again[2, 3:].any()                              # "abab" is dead after "aba"


def test_dfa_accepts_many_both_walks_agree():
    """accepts_many walks short lists in Python and long ones with numpy: same answers as
    ``accepts`` string by string, and the same error for a symbol outside the alphabet."""
    import numpy as np

    from dynrec.grammars import regular

    rng = np.random.default_rng(3)
    for name in ["tomita2", "tomita4", "tomita7", "parity"]:
        lang = grammars.get(name)
        strings = ["".join(rng.choice(list(lang.alphabet), size=rng.integers(0, 12))) for _ in range(600)]
        want = [lang.accepts(s) for s in strings]
        assert lang.accepts_many(strings[:20]).tolist() == want[:20]          # Python walk
        assert sum(map(len, strings)) > regular._SCALAR_WALK
        assert lang.accepts_many(strings).tolist() == want                    # numpy walk
        for bad in (["01", "0x1"], ["01"] * 1100 + ["0x1"]):
            with pytest.raises(ValueError, match="0x1"):
                lang.accepts_many(bad)
