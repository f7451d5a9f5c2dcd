"""``training.losses.cross_entropy`` gives the numbers of ``torch.nn.functional.cross_entropy``,
and the losses built on it keep their masking: both implementations, each test run once with the
compiled kernel (training/numba_ce.py) and once with the torch ops (max + log-sum-exp over the
output slices)."""

import pytest
import torch
import torch.nn.functional as F

from dynrec.models import fast
from dynrec.training import numba_ce
from dynrec.training.losses import cross_entropy, prediction_losses, recognition_losses


@pytest.fixture(autouse=True, params=["numba", "torch"])
def impl(request, monkeypatch):
    if request.param == "numba":
        assert fast.numba_available(), "numba must import (it is in install_requires)"
        calls = []
        real = numba_ce.cross_entropy
        monkeypatch.setattr(numba_ce, "cross_entropy", lambda *a: calls.append(1) or real(*a))
        yield request.param
        assert calls, "the compiled kernel was not used"
    else:
        monkeypatch.setattr(fast, "_numba", False)
        yield request.param

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def _logits(shape, dtype, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=dtype) * scale).requires_grad_()


def _close(a, b, dtype, what):
    a, b = a.detach(), b.detach()
    scale = max(1.0, float(b.abs().max()))
    err = float((a - b).abs().max())
    assert err <= TOL[dtype] * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_out", [2, 3, 7])
def test_matches_torch_cross_entropy(dtype, n_out):
    logits = _logits((5, 4, 6, n_out), dtype)
    target = torch.randint(0, n_out, (5, 4, 6), generator=torch.Generator().manual_seed(1))
    got = cross_entropy(logits, target)
    want = F.cross_entropy(logits.flatten(0, -2), target.flatten(), reduction="none").view(target.shape)
    _close(got, want, dtype, "loss")
    w = torch.linspace(0.2, 2.0, target.numel(), dtype=dtype).view(target.shape)  # weights per position
    (g_got,) = torch.autograd.grad((got * w).sum(), logits)
    (g_want,) = torch.autograd.grad((want * w).sum(), logits)
    _close(g_got, g_want, dtype, "gradient")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_large_logits_stay_finite(dtype):
    """The max shift keeps exp from overflowing, as log_softmax does."""
    logits = torch.tensor([[1000.0, -1000.0, 999.0], [-500.0, -501.0, -502.0], [88.0, 89.0, 0.0]],
                          dtype=dtype, requires_grad=True)
    target = torch.tensor([2, 0, 1])
    got = cross_entropy(logits, target)
    want = F.cross_entropy(logits, target, reduction="none")
    assert torch.isfinite(got).all()
    _close(got, want, dtype, "loss")
    (g,) = torch.autograd.grad(got.sum(), logits)
    (h,) = torch.autograd.grad(want.sum(), logits)
    _close(g, h, dtype, "gradient")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_prediction_losses_mask_and_broadcast(dtype):
    """Against the previous formula (F.cross_entropy then a where on the mask): values, zero loss
    and zero gradient at masked positions, targets of -1 there, targets shared by members."""
    E, B, L, O = 4, 3, 5, 3
    logits = _logits((E, B, L, O), dtype, seed=2)
    g = torch.Generator().manual_seed(3)
    targets = torch.randint(0, O, (1, B, L), generator=g)
    mask = torch.rand(1, B, L, generator=g) > 0.4
    targets = torch.where(mask, targets, torch.full_like(targets, -1))
    legal = torch.zeros(1, B, L, O, dtype=dtype)
    got = prediction_losses(logits, targets, legal, mask, "ce", "identity")
    safe = targets.clamp(min=0).expand(E, B, L)
    old = F.cross_entropy(logits.flatten(0, -2), safe.flatten(), reduction="none").view(E, B, L)
    want = torch.where(mask, old, torch.zeros((), dtype=dtype))
    _close(got, want, dtype, "loss")
    assert torch.equal(got[:, ~mask[0]], torch.zeros_like(got[:, ~mask[0]]))
    (g_got,) = torch.autograd.grad(got.sum(), logits)
    (g_want,) = torch.autograd.grad(want.sum(), logits)
    _close(g_got, g_want, dtype, "gradient")
    assert torch.equal(g_got[:, ~mask[0]], torch.zeros_like(g_got[:, ~mask[0]]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_recognition_losses_several_units(dtype):
    final = _logits((3, 6, 2), dtype, seed=4)
    labels = torch.tensor([[1, 0, 0, 1, 1, 0]])
    got = recognition_losses(final, labels, "ce", "identity")
    want = F.cross_entropy(final.flatten(0, 1), labels.expand(3, 6).flatten(), reduction="none").view(3, 6)
    _close(got, want, dtype, "loss")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("order", [(3, 1, 0, 2), (0, 1, 2, 3), (1, 3, 0, 2), (2, 0, 3, 1), (2, 1, 0, 3)])
def test_any_memory_layout(dtype, order):
    """Logits that are a permuted view (the compiled SRN returns [E,B,T,O] views of [T,B,O,E]) or
    have the output axis innermost (the compiled LSTM's contiguous logits, read as one transposed
    block), targets broadcast over members: same numbers as on a contiguous copy with F.cross_entropy."""
    shape = (6, 3, 5, 3)                                 # [E, B, T, O]
    base = _logits([shape[d] for d in order], dtype, seed=5).detach()
    inverse = [order.index(d) for d in range(4)]
    logits = base.permute(inverse).requires_grad_()
    assert logits.shape == shape
    target = torch.randint(0, 3, (1, 3, 5), generator=torch.Generator().manual_seed(6)).expand(6, 3, 5)
    got = cross_entropy(logits, target)
    want = F.cross_entropy(logits.contiguous().flatten(0, -2), target.flatten(), reduction="none").view(6, 3, 5)
    _close(got, want, dtype, "loss")
    w = torch.rand(6, 3, 5, generator=torch.Generator().manual_seed(7), dtype=dtype)
    (g_got,) = torch.autograd.grad((got * w).sum(), logits)
    (g_want,) = torch.autograd.grad((want * w).sum(), logits)
    _close(g_got, g_want, dtype, "gradient")


def test_bad_target_names_the_value():
    logits = torch.randn(2, 4, 3)
    target = torch.tensor([[0, 1, 2, 3], [0, 0, 0, 0]])
    with pytest.raises((ValueError, RuntimeError, IndexError), match="3"):
        cross_entropy(logits, target)
