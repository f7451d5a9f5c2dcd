"""Hypothesis property tests: known closure structure, next_symbols consistent with accepts."""

from hypothesis import given, settings
from hypothesis import strategies as st

from dynrec import grammars
from dynrec.grammars import END

from grammar_oracles import ALL

binary = st.text(alphabet="01", max_size=14)
FAST = settings(max_examples=150, deadline=None)


def member_strategy(name, max_len):
    return st.sampled_from(grammars.get(name).enumerate(max_len))


@FAST
@given(member_strategy("tomita1", 8), member_strategy("tomita1", 8))
def test_tomita1_2_closed_under_concatenation(u, v):
    assert grammars.get("tomita1").accepts(u + v)
    t2 = grammars.get("tomita2")
    assert t2.accepts("10" * len(u) + "10" * len(v))


@FAST
@given(binary, st.randoms(use_true_random=False))
def test_tomita5_6_invariant_under_permutation(s, r):
    perm = list(s)
    r.shuffle(perm)
    p = "".join(perm)
    for name in ("tomita5", "tomita6", "parity"):
        lang = grammars.get(name)
        assert lang.accepts(s) == lang.accepts(p)


@FAST
@given(binary, st.integers(0, 14), st.integers(0, 14))
def test_tomita4_factor_closed_and_tomita7_subsequence_closed(s, i, j):
    t4, t7 = grammars.get("tomita4"), grammars.get("tomita7")
    if t4.accepts(s):
        assert t4.accepts(s[i:i + j])
    if t7.accepts(s):
        assert t7.accepts(s[:i] + s[i + 1:]) and t7.accepts(s[::2])


@FAST
@given(binary)
def test_tomita3_doubled_strings_are_members_and_leading_zero_is_neutral(s):
    t3 = grammars.get("tomita3")
    assert t3.accepts("".join(c + c for c in s))  # every run even
    assert t3.accepts("0" + s) == t3.accepts(s)  # a 0-run before any 1-run never matters


@FAST
@given(binary)
def test_parity_flips_with_a_one(s):
    par = grammars.get("parity")
    assert par.accepts(s + "1") != par.accepts(s)
    assert par.accepts(s + "0") == par.accepts(s) == par.accepts("11" + s)


@FAST
@given(st.text(alphabet="ab", max_size=14))
def test_anbn_wrapping(s):
    lang = grammars.get("anbn")
    assert lang.accepts("a" + s + "b") == (lang.accepts(s) or s == "")


@FAST
@given(member_strategy("dyck2", 8), member_strategy("dyck2", 8))
def test_dyck_concatenation_and_wrapping(u, v):
    d2 = grammars.get("dyck2")
    assert d2.accepts(u + v) and d2.accepts("(" + u + ")") and d2.accepts("[" + v + "]")
    assert not d2.accepts("(" + u + "]")


@FAST
@given(member_strategy("reber", 14), st.sampled_from("TP"))
def test_embedded_reber_wraps_reber(s, c):
    emb = grammars.get("embedded_reber")
    assert emb.accepts(f"B{c}{s}{c}E")
    assert not emb.accepts(f"B{c}{s}{'P' if c == 'T' else 'T'}E")


COMPLETIONS = {name: grammars.get(name).enumerate(16) for name in
               ("tomita3", "tomita7", "anbn", "dyck1", "parity")}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(COMPLETIONS)), st.data())
def test_next_symbols_consistent_with_accepts(name, data):
    """A legal symbol keeps the prefix a prefix of some member (found among brute-checked members);
    an illegal one never does; END is legal exactly for members."""
    lang = grammars.get(name)
    p = data.draw(st.text(alphabet="".join(lang.alphabet), max_size=7))
    legal = lang.next_symbols(p)
    assert (END in legal) == ALL[name](p)
    for c in lang.alphabet:
        extendable = any(m.startswith(p + c) and ALL[name](m) for m in COMPLETIONS[name])
        assert (c in legal) == extendable
