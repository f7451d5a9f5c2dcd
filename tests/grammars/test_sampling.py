"""Samplers: members only when asked, documented distributions (chi-square, fixed seed), seeds."""

import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from dynrec import grammars

from grammar_oracles import ALL

P_MIN = 1e-3  # a correct sampler fails this with probability 0.001 (fixed seeds: deterministic)


def one_edit_neighbours(s, alphabet):
    out = {s[:i] + s[i + 1:] for i in range(len(s))}
    out |= {s[:i] + c + s[i:] for i in range(len(s) + 1) for c in alphabet}
    out |= {s[:i] + c + s[i + 1:] for i in range(len(s)) for c in alphabet}
    return out


SAMPLE_ARGS = {
    "anbn": {}, "anbncn": {"n_range": (1, 5)}, "parity": {}, "tomita1": {}, "tomita2": {},
    "tomita3": {}, "tomita4": {}, "tomita5": {}, "tomita6": {}, "tomita7": {},
    "reber": {"max_len": 20}, "embedded_reber": {"max_len": 24}, "dyck1": {}, "dyck2": {},
}


@pytest.mark.parametrize("name", sorted(SAMPLE_ARGS))
def test_members_nonmembers_and_seeds(name):
    lang = grammars.get(name)
    kw = SAMPLE_ARGS[name]
    pos = lang.sample(np.random.default_rng(1), 300, **kw)
    assert len(pos) == 300 and all(ALL[name](s) for s in pos)
    neg = lang.sample(np.random.default_rng(2), 300, members=False, **kw)
    assert len(neg) == 300 and not any(ALL[name](s) for s in neg)
    assert lang.sample(7, 50, **kw) == lang.sample(np.random.default_rng(7), 50, **kw)
    assert lang.sample(7, 50, members=False, **kw) == lang.sample(7, 50, members=False, **kw)
    assert lang.sample(7, 50, **kw) != lang.sample(8, 50, **kw)


@pytest.mark.parametrize("name", ["anbn", "tomita4", "dyck2", "reber"])
def test_near_boundary_nonmembers_are_one_edit_from_a_member(name):
    lang = grammars.get(name)
    kw = {"max_len": 20} if name == "reber" else {}
    neg = lang.sample(3, 100, members=False, near_fraction=1.0, **kw)
    for s in neg:
        assert not ALL[name](s)
        assert any(ALL[name](t) for t in one_edit_neighbours(s, lang.alphabet)), s


def test_regular_lengths_in_range_and_uniform_within_a_length():
    t4 = grammars.get("tomita4")
    strings = t4.sample(0, 4000, length_range=(3, 6))
    assert {len(s) for s in strings} == {3, 4, 5, 6}
    # length uniform over lengths that have members
    assert chisquare(list(Counter(len(s) for s in strings).values())).pvalue > P_MIN
    # within a length: uniform over the 24 members of length 5 (no 000)
    s5 = t4.sample(1, 4800, length_range=(5, 5))
    counts = Counter(s5)
    assert len(counts) == t4.count_members(5) == sum(ALL["tomita4"](f"{i:05b}") for i in range(32))
    assert chisquare(list(counts.values())).pvalue > P_MIN
    # non-members of length 5 uniform too (random part only)
    n5 = t4.sample(2, 1600, length_range=(5, 5), members=False, near_fraction=0.0)
    assert len(Counter(n5)) == 8 and chisquare(list(Counter(n5).values())).pvalue > P_MIN


def test_lengths_without_members_are_skipped():
    t2 = grammars.get("tomita2")  # (10)*: only even lengths
    assert {len(s) for s in t2.sample(0, 500, length_range=(1, 7))} == {2, 4, 6}
    with pytest.raises(ValueError, match="no members"):
        t2.sample(0, 5, length_range=(3, 3))


@pytest.mark.parametrize("distribution", ["uniform", "skewed"])
def test_counting_n_distribution_matches_documented_form(distribution):
    lang = grammars.get("anbn")
    strings = lang.sample(np.random.default_rng(5), 5000, n_range=(1, 11), distribution=distribution)
    n = Counter(len(s) // 2 for s in strings)
    ns, p = grammars.n_probabilities((1, 11), distribution)
    # the documented closed forms, written out independently
    expected_p = [1 / 11] * 11 if distribution == "uniform" else \
        [(1 / k) / sum(1 / m for m in range(1, 12)) for k in range(1, 12)]
    assert np.allclose(p, expected_p)
    observed = [n.get(int(k), 0) for k in ns]
    assert chisquare(observed, 5000 * np.asarray(expected_p)).pvalue > P_MIN
    if distribution == "skewed":
        assert observed[0] > 5 * observed[-1]


def test_counting_length_range_restricts_n():
    lang = grammars.get("anbncn")
    s = lang.sample(0, 200, length_range=(4, 13))
    assert {len(x) // 3 for x in s} == {2, 3, 4}
    s = lang.sample(0, 200, n_range=(1, 10), length_range=(0, 6))
    assert {len(x) // 3 for x in s} == {1, 2}


def test_reber_walk_probabilities_are_two_to_minus_choices():
    """Every symbol between B and E is a p=0.5 branch, so P(s) = 2**-(len(s)-2)."""
    reber = grammars.get("reber")
    strings = reber.sample(np.random.default_rng(11), 6000)
    lengths = Counter(len(s) for s in strings)
    members = reber.enumerate(9)
    probs = [sum(2.0 ** -(L - 2) for m in members if len(m) == L) for L in range(5, 10)]
    observed = [lengths.get(L, 0) for L in range(5, 10)]
    rest_p = 1 - sum(probs)
    rest = 6000 - sum(observed)
    assert chisquare(observed + [rest], 6000 * np.array(probs + [rest_p])).pvalue > P_MIN
    assert math.isclose(sum(probs[:1]), 2 * 2.0 ** -3)  # BTXSE and BPVVE, 1/8 each


def test_reber_max_len_rejects_long_walks_and_conditions():
    reber = grammars.get("reber")
    strings = reber.sample(0, 3000, max_len=6)
    assert max(map(len, strings)) <= 6
    c = Counter(strings)
    # conditioned on length <= 6: BTXSE, BPVVE (1/8 each) and BTSXSE, BPTVVE, BPVPSE (1/16 each)
    six = [s for s in reber.enumerate(6) if len(s) == 6]
    assert set(c) == set(reber.enumerate(6)) and sorted(six) == sorted(["BTSXSE", "BPTVVE", "BPVPSE"])
    exp = np.array([2 if len(s) == 5 else 1 for s in sorted(c)], float)
    assert chisquare([c[s] for s in sorted(c)], 3000 * exp / exp.sum()).pvalue > P_MIN
    with pytest.raises(ValueError, match="shortest"):
        reber.sample(0, 3, max_len=4)


def test_embedded_reber_branches_balanced():
    emb = grammars.get("embedded_reber")
    strings = emb.sample(4, 2000)
    assert all(s[1] == s[-2] for s in strings)
    assert chisquare(list(Counter(s[1] for s in strings).values())).pvalue > P_MIN


def test_dyck_uniform_over_words_of_a_length():
    d1, d2 = grammars.get("dyck1"), grammars.get("dyck2")
    c1 = Counter(d1.sample(0, 2500, length_range=(6, 6)))
    assert len(c1) == 5 and chisquare(list(c1.values())).pvalue > P_MIN  # Catalan(3) = 5
    c2 = Counter(d2.sample(0, 4000, length_range=(4, 4)))
    assert len(c2) == 8 and chisquare(list(c2.values())).pvalue > P_MIN  # Catalan(2) * 2**2


def test_members_none_gives_uniform_random_strings():
    t1 = grammars.get("tomita1")
    s = t1.sample(0, 4000, length_range=(3, 3), members=None)
    c = Counter(s)
    assert len(c) == 8 and chisquare(list(c.values())).pvalue > P_MIN


@pytest.mark.parametrize("name", ["anbn", "anbncn"])
@pytest.mark.parametrize("distribution", ["uniform", "skewed"])
def test_counting_draws_are_numpys_choice(name, distribution):
    """The members drawn are exactly those of ``Generator.choice(ns, p=p)`` from the same
    generator (the documented draw), and the generator is left in the same state."""
    from dynrec.grammars.counting import n_probabilities

    lang = grammars.get(name)
    for seed in range(30):
        for n_range in [(1, 10), (3, 7), (2, 2)]:
            count = seed % 13
            g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
            got = lang.sample(g1, count, n_range, distribution)
            ns, p = n_probabilities(n_range, distribution)
            want = [lang.member(int(n)) for n in g2.choice(ns, size=count, p=p)]
            assert got == want
            assert g1.random() == g2.random()


def _exact_sample_by_length(lang, rng, count, length_range, members):
    """The documented draw written length by length (the definition the DFA sampler follows):
    lengths uniform over those with a string, then per length L one block of uniforms [n_L, L]
    and each symbol chosen by the inverse CDF of the completion counts."""
    lo, hi = length_range
    counts = lang._counts(members, hi)
    lengths = [L for L in range(lo, hi + 1) if counts[L][lang._q0] > 0]
    drawn = np.asarray(lengths)[rng.integers(len(lengths), size=count)]
    out = [None] * count
    for L in np.unique(drawn):
        rows = np.flatnonzero(drawn == L)
        u = rng.random((len(rows), L))
        for r, ur in zip(rows, u):
            q, s = lang._q0, ""
            for t in range(L):
                w = counts[L - t - 1][lang._delta[q]]
                cdf = np.cumsum(w)
                c = int((cdf < ur[t] * cdf[-1]).sum())
                s += lang.alphabet[c]
                q = lang._delta[q, c]
            out[r] = s
    return out


@pytest.mark.parametrize("name", ["tomita1", "tomita3", "tomita5", "tomita7", "parity"])
@pytest.mark.parametrize("members", [True, False])
def test_dfa_sampler_equals_the_per_length_definition(name, members):
    lang = grammars.get(name)
    for seed in range(12):
        for length_range in [(0, 10), (3, 6), (1, 1)]:
            count = 5 * seed
            g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
            try:
                want = _exact_sample_by_length(lang, g2, count, length_range, members)
            except ValueError:          # no string of that kind in range: the sampler says so too
                with pytest.raises(ValueError):
                    lang._exact_sample(g1, max(count, 1), length_range, members)
                continue
            assert lang._exact_sample(g1, count, length_range, members) == want
            assert g1.random() == g2.random()
