"""Elman's (1990) two prediction streams, checked against their definitions."""

import numpy as np

from dynrec import grammars


def test_temporal_xor_stream_determines_exactly_every_third_bit():
    task = grammars.PredictionTask(grammars.get("temporal_xor"), stream=True)
    strings = task.sample(np.random.default_rng(3), 200)
    assert all(s[2] == str(int(s[0]) ^ int(s[1])) for s in strings)
    batch = task.encode(strings)
    stream = batch.strings[0]
    det = batch.deterministic[0].numpy()
    # Input position t predicts symbol t+1: bit t+1 is determined iff (t+1) % 3 == 2.
    expected = np.array([(t + 1) % 3 == 2 for t in range(len(stream) - 1)])
    np.testing.assert_array_equal(det, expected)
    targets = batch.targets[0].numpy()
    for t in np.flatnonzero(expected):
        assert task.output_symbols[targets[t]] == str(int(stream[t - 1]) ^ int(stream[t]))


def test_letter_stream_determines_exactly_the_vowels():
    task = grammars.PredictionTask(grammars.get("elman_letters"), stream=True)
    rng = np.random.default_rng(0)
    strings = task.sample(rng, 300)
    # Consonants are drawn uniformly (Elman: random b, d, g).
    counts = {c: sum(s[0] == c for s in strings) for c in "bdg"}
    assert min(counts.values()) > 70
    batch = task.encode(strings)
    stream = batch.strings[0]
    det = batch.deterministic[0].numpy()
    np.testing.assert_array_equal(det, np.array([c in "aiu" for c in stream[1:]]))
