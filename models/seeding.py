"""Seeds of ensemble members and the counter-based uniform draws that initialise them.

Every member of an ensemble is drawn from its own *member key*; member ``i`` of
an ensemble built with ``seed=s`` uses the key ``member_seed(s, i)``, and
``member_seed(s, 0) == s``.  So member ``i`` of a seeded ensemble is exactly the
one-member network built with ``seed=member_seed(s, i)``: results do not depend
on the ensemble size E (docs/CONTRACTS.md).

Instead of one ``torch.Generator`` per member (about 10 microseconds each, and a
Python loop over E), the draws come from a counter-based generator: value
``k`` of parameter ``name`` of the member with key ``K`` is
``U(K, name, k) = splitmix64(splitmix64(K ^ tag(name)) + (k + 1) * G) / 2**64``
(Steele, Lea & Flood 2014, "Fast splittable pseudorandom number generators",
the SplitMix64 finaliser), computed for all members and all entries at once in
numpy uint64 arithmetic.  A parameter's draws depend only on (key, name, index),
so switching an option that adds a parameter (e.g. LSTM peepholes) does not
change the others, and float32 and float64 networks get the same numbers up to
rounding.  Nothing here touches a global random state.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["member_seed", "member_keys", "uniform"]

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
SEED_LIMIT = 1 << 63


def _splitmix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wraps modulo 2**64; arrays never warn)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int in [0, 2**63), got {seed!r}")
    seed = int(seed)
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed must be an int in [0, 2**63), got {seed}")
    return seed


def _keys(seed: int, members: np.ndarray) -> np.ndarray:
    """Keys of the members with indices ``members`` (uint64 array) of an ensemble built with ``seed``."""
    mixed = _splitmix(_splitmix(np.full(members.shape, seed, dtype=np.uint64)) ^ members) >> np.uint64(1)
    return np.where(members == 0, np.uint64(seed), mixed)


def member_keys(seed: int, ensemble: int) -> np.ndarray:
    """Keys of members 0..E-1 of an ensemble built with ``seed``: uint64 array [E]."""
    return _keys(_check_seed(seed), np.arange(ensemble, dtype=np.uint64))


def member_seed(seed: int, i: int) -> int:
    """Seed of member ``i`` of an ensemble built with ``seed`` (an int in [0, 2**63)).

    ``member_seed(seed, 0) == seed``; for ``i > 0`` a SplitMix64 mix of the two.
    ``models.build(..., ensemble=1, seed=member_seed(s, i))`` equals member ``i``
    of ``models.build(..., ensemble=E, seed=s)`` for every E > i.  (Member i's key
    alone: a loop over i costs O(E), not O(E^2); ``member_keys`` gives them all.)
    """
    if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)) or i < 0:
        raise ValueError(f"member index must be an int >= 0, got {i!r}")
    return int(_keys(_check_seed(seed), np.array([i], dtype=np.uint64))[0])


def _tag(name: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little"))


def uniform(keys: np.ndarray, name: str, size: int) -> np.ndarray:
    """Uniform draws in [0, 1), float64 [E, size]: entry (e, k) is U(keys[e], name, k)."""
    base = _splitmix(keys.astype(np.uint64) ^ _tag(name))
    k = np.arange(1, size + 1, dtype=np.uint64) * _STREAM
    bits = _splitmix(base[:, None] + k[None, :]) >> np.uint64(11)
    return bits.astype(np.float64) * (1.0 / (1 << 53))
