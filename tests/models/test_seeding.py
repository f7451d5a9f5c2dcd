"""Member seeds against a pure-Python transcription of the documented formula (models/seeding.py):
member 0 keeps the seed, member i > 0 gets ``splitmix64(splitmix64(seed) ^ i) >> 1`` with the
SplitMix64 finaliser of Steele, Lea & Flood (2014), all arithmetic modulo 2**64."""

import pytest

from dynrec import models
from dynrec.models.seeding import member_keys
from dynrec.training.data import resolve_member_seeds

MASK = (1 << 64) - 1


def _splitmix64(z: int) -> int:
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def _reference(seed: int, i: int) -> int:
    return seed if i == 0 else _splitmix64(_splitmix64(seed) ^ i) >> 1


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**62 + 7, 2**63 - 1])
def test_member_seeds_match_the_formula_every_way_they_are_computed(seed):
    E = 40
    want = [_reference(seed, i) for i in range(E)]
    assert [models.member_seed(seed, i) for i in range(E)] == want
    assert [int(k) for k in member_keys(seed, E)] == want
    assert resolve_member_seeds(seed, E) == want
    assert all(0 <= k < 2**63 for k in want)


def test_bad_seed_and_index_are_named():
    with pytest.raises(ValueError, match="-1"):
        models.member_seed(-1, 0)
    with pytest.raises(ValueError, match="2.5"):
        models.member_seed(0, 2.5)
