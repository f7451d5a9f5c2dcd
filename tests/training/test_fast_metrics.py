"""The compiled per-string metrics (training/numba_ce.py ``prediction_metrics``) against an
independent definition (``F.cross_entropy`` and ``argmax`` on contiguous logits) and against
``data_metrics``'s torch path (numba off), in the layouts the networks return."""

import pytest
import torch
import torch.nn.functional as F

from dynrec import grammars, models
from dynrec.models import fast
from dynrec.training import metrics
from dynrec.training.data import per_member, shared
from dynrec.training.numba_ce import prediction_metrics


def _reference(logits, targets, mask, counted):
    """string loss, right count, counted count by the definitions, on contiguous tensors."""
    E, B, T, O = logits.shape
    t = targets.expand(E, B, T)
    m, c = mask.expand(E, B, T), counted.expand(E, B, T)
    ce = F.cross_entropy(logits.reshape(-1, O), t.clamp(min=0).reshape(-1), reduction="none").view(E, B, T)
    loss = torch.where(m, ce, torch.zeros((), dtype=ce.dtype)).sum(-1)
    right = (logits.argmax(-1) == t) & c      # argmax: the first index on ties
    return loss, right.sum(-1), c.sum(-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shared_targets", [True, False])
@pytest.mark.parametrize("layout", ["contiguous", "member-innermost"])
def test_prediction_metrics_match_the_definitions(dtype, shared_targets, layout):
    g = torch.Generator().manual_seed(1)
    E, B, T, O = 9, 4, 6, 3
    # integers in {-1, 0, 1} make ties common: the first index must win
    logits = torch.randint(-1, 2, (E, B, T, O), generator=g).to(dtype)
    logits[2] += torch.randn(B, T, O, generator=g, dtype=dtype)
    if layout == "member-innermost":
        logits = logits.permute(2, 1, 3, 0).contiguous().permute(3, 1, 0, 2)
    lead = 1 if shared_targets else E
    targets = torch.randint(0, O, (lead, B, T), generator=g)
    mask = torch.rand(lead, B, T, generator=g) < 0.8
    counted = mask & (torch.rand(lead, B, T, generator=g) < 0.7)
    targets[~mask & ~counted] = -1         # undefined targets at padding: never read
    loss, right, count = prediction_metrics(logits, targets, mask, counted)
    ref_loss, ref_right, ref_count = _reference(logits.contiguous(), targets, mask, counted)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(loss, ref_loss, rtol=tol, atol=tol)
    assert torch.equal(right, ref_right) and torch.equal(count, ref_count)


def test_prediction_metrics_nan_and_bad_targets():
    logits = torch.zeros(2, 1, 2, 3)
    logits[1, 0, 0, 1] = float("nan")
    targets = torch.tensor([[[1, 2]]])
    loss, right, count = prediction_metrics(logits, targets, torch.ones(1, 1, 2, dtype=torch.bool),
                                            torch.ones(1, 1, 2, dtype=torch.bool))
    assert torch.isnan(loss[1, 0]) and torch.isfinite(loss[0, 0])
    assert right[1, 0] == 0 and count[1, 0] == 2        # a NaN output is never a right prediction
    with pytest.raises(ValueError, match=r"lie in \[0, 3\).*got 3"):
        prediction_metrics(logits, torch.tensor([[[1, 3]]]), torch.ones(1, 1, 2, dtype=torch.bool),
                           torch.ones(1, 1, 2, dtype=torch.bool))


@pytest.mark.parametrize("kind", ["srn", "lstm"])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("per", [False, True])
def test_data_metrics_compiled_equals_torch_path(kind, reduction, per, monkeypatch):
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    net = models.build(kind, 3, 4, 3, ensemble=6, seed=3, dtype=torch.float64)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)                       # confident, varied predictions
    strings = ["a" * n + "b" * n for n in range(1, 6)]
    if per:
        g = torch.Generator().manual_seed(0)
        data = per_member(task, [[strings[i] for i in torch.randperm(5, generator=g)[:3]] for _ in range(6)])
    else:
        data = shared(task, strings)
    calls = []
    real = metrics.compiled_ok
    monkeypatch.setattr(metrics, "compiled_ok", lambda y: calls.append(1) or real(y))
    got = metrics.data_metrics(net, data, "ce", "argmax", reduction)
    assert calls and real(torch.zeros(1, dtype=torch.float64)), "the compiled path was not taken"
    monkeypatch.setattr(fast, "_numba", False)
    want = metrics.data_metrics(net, data, "ce", "argmax", reduction)
    assert set(got) == set(want)
    for k in want:
        if want[k].is_floating_point():
            torch.testing.assert_close(got[k], want[k], rtol=1e-12, atol=1e-12)
        else:
            assert torch.equal(got[k], want[k].to(got[k].dtype)), k
    assert 0 < int(got["positions_right"].sum()) < int(got["positions_counted"].sum())
