"""The compiled GRU (models/numba_gru.py) gives the numbers of the plain step loop.

Each comparison runs the same network through ``net(...)`` (the compiled kernels, the default
on CPU) and inside ``fast.disabled()`` (the loop over ``GRU._cell``, i.e. ``step``'s
arithmetic): logits, states and the gradients of every parameter, of the input and of a given
initial state (tests/models/fastcheck.py), for both reset conventions, odd and even widths
(the batched backward takes gate rows two at a time), padding and per-member inputs.
"""

import pytest
import torch

from dynrec import models
from dynrec.models import fast
from dynrec.models.gru import GRU
from fastcheck import check_finite_differences, compare_to_plain  # tests/models/fastcheck.py


def _data(shape, dtype, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset_after", [False, True])
@pytest.mark.parametrize("hidden", [3, 4])
def test_matches_plain_loop(dtype, reset_after, hidden):
    # init_range 0.8: gates away from 1/2, so every term of the backward matters
    net = models.build("gru", 3, hidden, 3, ensemble=5, seed=3, dtype=dtype, reset_after=reset_after,
                       init_range=0.8)
    x = _data((4, 9, 3), dtype)
    assert fast.select(net, x) == "numba_gru"
    compare_to_plain(net, x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset_after", [False, True])
def test_per_member_inputs_padding_and_given_h0(dtype, reset_after):
    net = models.build("gru", 2, 3, 2, ensemble=4, seed=1, dtype=dtype, reset_after=reset_after,
                       init_range=0.8)
    x = _data((4, 5, 7, 2), dtype)
    lengths = torch.tensor([7, 0, 3, 1, 6])
    h0 = _data((4, 5, 3), dtype, seed=2)
    _, states, _ = compare_to_plain(net, x, lengths=lengths, h0=h0)
    # a row of length 0 holds h0 throughout; a row of length 3 holds its state after step 3
    assert torch.equal(states[:, 1], h0[:, 1, None].expand(-1, 7, -1))
    assert torch.equal(states[:, 2, 3:], states[:, 2, 2:3].expand(-1, 4, -1))


def test_learned_h0_and_one_hot_inputs():
    net = models.build("gru", 3, 5, 2, ensemble=3, seed=5, dtype=torch.float64, h0="learned",
                       init="torch", output_activation="identity")
    with torch.no_grad():
        net.h0.copy_(_data(net.h0.shape, torch.float64, seed=9))
    x = torch.nn.functional.one_hot(torch.randint(0, 3, (3, 6), generator=torch.Generator().manual_seed(1)),
                                    3).double()          # zero inputs are skipped in the kernels
    compare_to_plain(net, x, lengths=torch.tensor([6, 2, 4]))
    assert net.h0.requires_grad


def test_gradients_match_finite_differences():
    net = models.build("gru", 2, 3, 2, ensemble=2, seed=4, dtype=torch.float64, reset_after=True,
                       init_range=0.8)
    check_finite_differences(net, _data((3, 5, 2), torch.float64), torch.tensor([5, 2, 4]),
                             ("w_hh", "w_ih", "b", "b_hn", "w_ho"))


def test_dispatch_rules(monkeypatch):
    x = torch.zeros(2, 3, 3)
    for opts in ({}, {"reset_after": True}, {"init": "torch", "h0": "learned"}):
        assert fast.select(models.build("gru", 3, 2, 3, ensemble=2, seed=0, **opts), x) == "numba_gru"
    net = models.build("gru", 3, 2, 3, ensemble=2, seed=0)
    with fast.disabled():
        assert fast.select(net, x) is None
    assert fast.select(models.build("gru", 3, 2, 3, ensemble=2, seed=0, n_layers=2), x) is None

    class Custom(GRU):
        def _cell(self, parts, p):
            return super()._cell(parts, p)

    assert fast.select(Custom(3, 2, 3, 2), x) is None
    monkeypatch.setattr(fast, "_numba", False)
    assert fast.select(net, x) is None        # no fused torch GRU: the plain loop


def test_second_derivative_refuses():
    net = models.build("gru", 3, 2, 3, ensemble=2, seed=0, dtype=torch.float64)
    logits, _ = net(torch.randn(2, 4, 3, dtype=torch.float64))
    (g,) = torch.autograd.grad(logits.sum(), net.w_hh, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()
