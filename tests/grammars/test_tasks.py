"""Tasks: encoding round-trips, legal sets and deterministic masks against a slow reference."""

import time

import numpy as np
import pytest
import torch

from dynrec import grammars
from dynrec.grammars import END, START

from grammar_oracles import ALL


def slow_reference(lang, strings, markers):
    """Per-string prediction targets written out with plain loops over next_symbols."""
    rows = []
    for s in strings:
        steps = []
        if markers:
            seq = [START] + list(s)
            for t in range(len(s) + 1):
                nxt = lang.next_symbols(s[:t])
                steps.append((seq[t], s[t] if t < len(s) else END, nxt, len(nxt) == 1))
        else:
            for t in range(len(s) - 1):
                nxt = lang.next_symbols(s[: t + 1])
                steps.append((s[t], s[t + 1], nxt - {END}, len(nxt) == 1))
        rows.append(steps)
    return rows


def check_against(task, batch, rows):
    B, T, _ = batch.inputs.shape
    assert batch.targets.shape == batch.mask.shape == batch.deterministic.shape == (B, T)
    assert batch.legal.shape == (B, T, task.n_out)
    for b, steps in enumerate(rows):
        L = len(steps)
        assert int(batch.lengths[b]) == L
        assert batch.mask[b].tolist() == [t < L for t in range(T)]
        for t, (inp, tgt, legal, det) in enumerate(steps):
            assert batch.inputs[b, t].tolist() == [float(c == inp) for c in task.input_symbols]
            assert task.output_symbols[int(batch.targets[b, t])] == tgt
            assert {c for c, v in zip(task.output_symbols, batch.legal[b, t]) if v} == legal
            assert bool(batch.deterministic[b, t]) == det
            assert batch.legal[b, t, batch.targets[b, t]] == 1  # the true next symbol is legal
        assert not batch.inputs[b, L:].any() and not batch.legal[b, L:].any()
        assert (batch.targets[b, L:] == -1).all() and not batch.deterministic[b, L:].any()
    assert torch.isnan(batch.labels).all()


@pytest.mark.parametrize("name", ["anbn", "anbncn", "tomita2", "tomita3", "dyck2", "reber", "embedded_reber"])
@pytest.mark.parametrize("markers", [False, True])
def test_per_string_encoding_matches_slow_reference(name, markers):
    lang = grammars.get(name)
    task = grammars.PredictionTask(lang, markers=markers)
    strings = task.sample(0, 25) + lang.enumerate(8)[:5]
    batch = task.encode(strings)
    check_against(task, batch, slow_reference(lang, strings, markers))
    assert task.decode(batch) == [s if (markers or len(s) > 1) else "" for s in strings]
    assert batch.strings == tuple(strings)
    assert batch.inputs.dtype == torch.float32 and batch.targets.dtype == torch.long
    assert batch.mask.dtype == torch.bool and batch.lengths.dtype == torch.long


def test_markers_anbn_example():
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    assert task.input_symbols == ("a", "b", START) and task.output_symbols == ("a", "b", END)
    b = task.encode(["aabb"])
    # ^ a a b b -> targets a a b b $ ; after ^ only a; after aab only b; after aabb only $
    assert b.deterministic[0].tolist() == [True, False, False, True, True]
    assert b.targets[0].tolist() == [0, 0, 1, 1, 2]


def test_stream_anbn_deterministic_positions():
    """Every b after the first, and the first a of the next string (Wiles & Elman 1995)."""
    task = grammars.PredictionTask(grammars.get("anbn"), stream=True)
    b = task.encode(["aabb", "ab", "aaabbb"])
    assert b.strings == ("aabbabaaabbb",) and b.inputs.shape == (1, 11, 2)
    stream = "aabbabaaabbb"
    assert "".join("ab"[i] for i in b.inputs[0].argmax(-1)) == stream[:-1]
    assert "".join("ab"[i] for i in b.targets[0]) == stream[1:]
    assert b.deterministic[0].int().tolist() == [0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1]
    # after the last b of a string the legal set is {a}
    assert b.legal[0, 3].tolist() == [1.0, 0.0]


def test_stream_matches_slow_reference_and_multiple_rows():
    for name in ("anbncn", "tomita1", "tomita3", "dyck1", "reber"):
        lang = grammars.get(name)
        task = grammars.PredictionTask(lang, stream=True)
        assert task.output_symbols == lang.alphabet
        first = lang.next_symbols("") - {END}
        rows = [task.sample(r, 6) for r in range(4)] + [["" if lang.accepts("") else lang.enumerate(8)[0]]]
        batch = task.encode_streams(rows)
        assert len(batch) == len(rows)
        for b, row in enumerate(rows):
            stream = "".join(row)
            legal_sets = []
            for s in row:
                for i in range(1, len(s) + 1):
                    nxt = lang.next_symbols(s[:i])
                    legal_sets.append((nxt - {END}) | (first if END in nxt else set()))
            L = max(len(stream) - 1, 0)
            assert int(batch.lengths[b]) == L and batch.strings[b] == stream
            for t in range(L):
                assert lang.alphabet[int(batch.inputs[b, t].argmax())] == stream[t]
                assert lang.alphabet[int(batch.targets[b, t])] == stream[t + 1]
                got = {c for c, v in zip(lang.alphabet, batch.legal[b, t]) if v}
                assert got == legal_sets[t] and stream[t + 1] in got
                assert bool(batch.deterministic[b, t]) == (len(legal_sets[t]) == 1)
            assert not batch.mask[b, L:].any()


def test_recognition_encoding_and_balance():
    lang = grammars.get("tomita3")
    task = grammars.RecognitionTask(lang, length_range=(0, 10))
    assert task.kind == "recognition" and task.n_out == 1 and task.n_in == 2
    strings = task.sample(np.random.default_rng(0), 101)
    assert sum(map(ALL["tomita3"], strings)) == 51 and all(len(s) <= 10 for s in strings)
    assert task.sample(3, 20) == task.sample(3, 20)
    batch = task.encode(strings + [""])
    assert batch.labels.tolist() == [float(ALL["tomita3"](s)) for s in strings + [""]]
    assert int(batch.lengths[-1]) == 0 and not batch.mask[-1].any()
    assert ["".join("01"[i] for i in batch.inputs[b, : len(s)].argmax(-1)) for b, s in enumerate(strings)] == strings
    assert (batch.inputs.sum(-1) == batch.mask.float()).all()
    assert (batch.targets == -1).all() and not batch.legal.any() and not batch.deterministic.any()


def test_recognition_counting_and_unbalanced():
    task = grammars.RecognitionTask(grammars.get("anbn"), length_range=(1, 12), balance=False)
    strings = task.sample(0, 400)
    assert all(1 <= len(s) <= 12 for s in strings)
    assert task.encode(strings).labels.sum() < 40  # random strings are rarely members
    bal = grammars.RecognitionTask(grammars.get("anbn"), length_range=(1, 12), n_range=(1, 3))
    s = bal.sample(1, 40)
    members = [x for x in s if ALL["anbn"](x)]
    assert len(members) == 20 and max(map(len, members)) <= 6


def test_encode_speed_10000_strings_of_length_20():
    rng = np.random.default_rng(0)
    t3 = grammars.get("tomita3")
    strings = t3.sample(rng, 10000, length_range=(20, 20))
    timings = {}
    for label, task, data in [
        ("prediction", grammars.PredictionTask(t3), strings),
        ("markers", grammars.PredictionTask(t3, markers=True), strings),
        ("recognition", grammars.RecognitionTask(t3), [s[::-1] for s in strings]),
        ("stream anbn", grammars.PredictionTask(grammars.get("anbn"), stream=True),
         ["a" * 10 + "b" * 10] * 10000),
    ]:
        start = time.perf_counter()
        batch = task.encode(data)
        timings[label] = time.perf_counter() - start
        assert batch.mask.sum() > 0
    # "well under a second" on an idle core; generous bound for a shared machine
    assert max(timings.values()) < 1.5, timings
