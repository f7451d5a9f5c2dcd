"""The fast LSTM paths (models/numba_lstm.py, models/fast_lstm.py) give the numbers of the plain step loop.

Every comparison runs the same network twice: through ``net(...)`` with one fast
path forced on (the ``always_fused`` fixture: each implementation in turn, for
any size) and inside ``fast.disabled()``
(the loop over ``LSTM._cell``, i.e. ``step``'s arithmetic), and compares
logits, states and the gradients of every parameter, of the input and of a
given initial state.  Options the fused node does not implement must fall back.
"""

import pytest
import torch

from dynrec import models
from dynrec.models import fast
from dynrec.models.fast_lstm import lstm_forward
from dynrec.models.lstm import LSTM
from fastcheck import check_finite_differences, compare_to_plain  # tests/models/fastcheck.py

def _data(shape, dtype, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _uses_fused(net, x):
    """Whether ``net(x)`` would take a fast path (dispatch check, no computation)."""
    return fast.select(net, x) is not None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("peephole", [False, True])
def test_matches_plain_loop(always_fused, dtype, peephole):
    # init_range 0.5: gates away from 1/2, so every term of the backward matters
    net = models.build("lstm", 3, 4, 3, ensemble=5, seed=3, dtype=dtype, peephole=peephole, init_range=0.5)
    x = _data((4, 9, 3), dtype)
    assert _uses_fused(net, x)
    compare_to_plain(net, x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("peephole", [False, True])
def test_per_member_inputs_padding_and_given_h0(always_fused, dtype, peephole):
    net = models.build("lstm", 2, 3, 2, ensemble=4, seed=1, dtype=dtype, peephole=peephole, init_range=0.5)
    x = _data((4, 5, 7, 2), dtype)
    lengths = torch.tensor([7, 0, 3, 1, 6])
    h0 = _data((4, 5, 6), dtype, seed=2)
    logits, states, _ = compare_to_plain(net, x, lengths=lengths, h0=h0)
    # a row of length 0 holds (h0, c0) throughout; a row of length 3 holds its state after step 3
    assert torch.equal(states[:, 1], h0[:, 1, None].expand(-1, 7, -1))
    assert torch.equal(states[:, 2, 3:], states[:, 2, 2:3].expand(-1, 4, -1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_learned_h0_torch_init_and_forget_bias(always_fused, dtype):
    net = models.build("lstm", 3, 5, 2, ensemble=3, seed=5, dtype=dtype, h0="learned", init="torch",
                       forget_bias=2.0, output_activation="identity")
    with torch.no_grad():
        net.h0.copy_(_data(net.h0.shape, dtype, seed=9))  # non-zero h and c to start from
    compare_to_plain(net, _data((3, 6, 3), dtype), lengths=torch.tensor([6, 2, 4]))
    assert net.h0.requires_grad


def test_states_follow_public_step(always_fused):
    """Fused states equal a hand loop over the public ``step`` (float64), peepholes on."""
    net = models.build("lstm", 3, 3, 2, ensemble=3, seed=7, dtype=torch.float64, peephole=True, init_range=0.5)
    x = _data((2, 8, 3), torch.float64)
    logits, states = net(x)
    h = net.initial_state(2)
    for t in range(8):
        h = net.step(h, x[:, t])
        assert torch.allclose(states[:, :, t], h, atol=1e-13, rtol=0)
    assert torch.allclose(logits, net.readout(states.contiguous()), atol=1e-13, rtol=0)


def test_gradients_match_finite_differences(always_fused):
    net = models.build("lstm", 2, 2, 2, ensemble=2, seed=4, dtype=torch.float64, peephole=True, init_range=0.6)
    check_finite_differences(net, _data((3, 5, 2), torch.float64), torch.tensor([5, 2, 4]),
                             ("w_hh", "w_ih", "b", "w_peep", "w_ho"), stride=5)


def test_dispatch_rules(monkeypatch):
    x = torch.zeros(2, 3, 3)
    monkeypatch.setattr(fast, "FUSED_MIN_ROWS", 0)
    for opts in ({}, {"peephole": True}, {"init": "torch", "h0": "learned", "forget_bias": 0.0}):
        net = models.build("lstm", 3, 2, 3, ensemble=2, seed=0, **opts)
        assert _uses_fused(net, x), opts
    net = models.build("lstm", 3, 2, 3, ensemble=2, seed=0)
    with fast.disabled():
        assert not _uses_fused(net, x)
    # variants and stacks the fused node does not implement run the plain loop
    for opts in ({"variant": "coupled"}, {"variant": "no_forget"}, {"n_layers": 2},
                 {"n_layers": 2, "peephole": True}):
        other = models.build("lstm", 3, 2, 3, ensemble=2, seed=0, **opts)
        assert not _uses_fused(other, x), opts

    class Custom(LSTM):
        def _cell(self, parts, p):
            return super()._cell(parts, p)

    assert not _uses_fused(Custom(3, 2, 3, 2), x)
    assert fast.select(net, x) == "numba_lstm"  # compiled kernels for every CPU size
    monkeypatch.setattr(fast, "_numba", False)
    assert fast.select(net, x) == "torch_lstm"
    monkeypatch.setattr(fast, "FUSED_MIN_ROWS", 4096)
    assert not _uses_fused(net, x)  # without numba small runs stay on the plain loop


def test_fallback_variants_still_run(always_fused):
    """A variant that falls back gives the plain loop's numbers (the dispatch does not break it)."""
    net = models.build("lstm", 3, 2, 3, ensemble=2, seed=0, variant="coupled", dtype=torch.float64)
    x = _data((2, 4, 3), torch.float64)
    with fast.disabled():
        want = net(x)
    got = net(x)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])


def test_second_derivative_refuses(always_fused):
    net = models.build("lstm", 3, 2, 3, ensemble=2, seed=0, dtype=torch.float64)
    logits, _ = net(torch.randn(2, 4, 3, dtype=torch.float64))
    (g,) = torch.autograd.grad(logits.sum(), net.w_hh, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_direct_call_shapes():
    net = models.build("lstm", 3, 4, 2, ensemble=3, seed=0)
    x = _data((5, 6, 3), torch.float32)
    logits, states = lstm_forward(net, x, False, net.initial_state(5), None)
    assert logits.shape == (3, 5, 6, 2) and states.shape == (3, 5, 6, 8)
