"""TrainResult's plain-data conversion and the columnar per-member history, against the
obvious per-element definitions."""

import math

import numpy as np
import pytest
import torch

from dynrec.training.result import MemberHistory, plain


def _plain_reference(value):
    """The definition: containers recursively, numpy/torch through tolist, non-finite -> None."""
    if isinstance(value, dict):
        return {str(k): _plain_reference(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_reference(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _plain_reference(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def test_plain_matches_the_recursive_definition():
    value = {"a": [1.0, float("nan"), 2.5, float("inf")], 3: (1, True, None, "x"),
             "np": np.array([[1.0, np.nan], [2.0, -np.inf]]), "t": torch.tensor([1, 2]),
             "mixed": [1.0, np.float32(2.0), np.int64(3), [float("-inf")]], "empty": [],
             "scalars": [np.bool_(True), np.float64(np.nan), 7]}
    got = plain(value)
    assert got == _plain_reference(value)
    assert type(got["mixed"][1]) is float and type(got["mixed"][2]) is int
    assert type(got["scalars"][0]) is bool and got["scalars"][1] is None
    with pytest.raises(ValueError, match="cannot store object"):
        plain([1.0, object()])


@pytest.mark.parametrize("prefix", [True, False])
def test_member_history_equals_per_member_appends(prefix):
    rng = np.random.default_rng(0)
    E, epochs = 7, 9
    hist = MemberHistory(E, {"epoch": int, "loss": float, "ok": bool})
    naive = [{"epoch": [], "loss": [], "ok": []} for _ in range(E)]
    stop = rng.integers(0, epochs + 1, E)
    for ep in range(1, epochs + 1):
        live = ep <= stop if prefix else rng.random(E) < 0.6
        loss = rng.normal(size=E)
        loss[rng.random(E) < 0.2] = np.nan
        ok = rng.random(E) < 0.5
        hist.record(live, epoch=ep, loss=loss, ok=ok)
        for e in np.flatnonzero(live):
            naive[e]["epoch"].append(ep)
            naive[e]["loss"].append(float(loss[e]))
            naive[e]["ok"].append(bool(ok[e]))
    got = hist.lists()
    assert plain(got) == plain(naive)
    assert all(type(v) is int for h in got for v in h["epoch"])
    assert all(type(v) is bool for h in got for v in h["ok"])


def test_member_history_checks_its_columns():
    hist = MemberHistory(2, {"epoch": int, "loss": float})
    assert hist.lists() == [{"epoch": [], "loss": []}, {"epoch": [], "loss": []}]
    with pytest.raises(ValueError, match="exactly the columns"):
        hist.record([True, True], epoch=1)
