"""The fast SRN paths (models/numba_srn.py, models/fast_srn.py) give the numbers of the plain step loop.

Every comparison runs the same network twice: through ``net(...)`` with one fast
path forced on (the ``always_fused`` fixture: each implementation in turn, for
any size) and inside ``fast.disabled()``
(the loop over ``_cell``, i.e. ``step``'s arithmetic), and compares logits,
states and the gradients of every parameter, of the input and of a given h0.
"""

import pytest
import torch

from dynrec import models
from dynrec.models import fast
from dynrec.models.srn import SRN
from fastcheck import check_finite_differences, compare_to_plain  # tests/models/fastcheck.py

def _data(E, B, T, I, dtype, per_member, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (E, B, T, I) if per_member else (B, T, I)
    return torch.randn(shape, generator=g, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_matches_plain_loop(always_fused, dtype, activation):
    net = models.build("srn", 3, 2, 3, ensemble=6, seed=3, dtype=dtype, activation=activation)
    compare_to_plain(net, _data(6, 4, 9, 3, dtype, per_member=False))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_per_member_inputs_padding_and_given_h0(always_fused, dtype):
    net = models.build("srn", 2, 3, 2, ensemble=5, seed=1, dtype=dtype)
    x = _data(5, 4, 7, 2, dtype, per_member=True)
    lengths = torch.tensor([7, 0, 3, 1])
    h0 = torch.randn(5, 4, 3, generator=torch.Generator().manual_seed(2), dtype=dtype)
    logits, states, _ = compare_to_plain(net, x, lengths=lengths, h0=h0)
    # a row of length 0 holds h0 throughout; a row of length 3 holds its state after step 3
    assert torch.equal(states[:, 1], h0[:, 1, None].expand(-1, 7, -1))
    assert torch.equal(states[:, 2, 3:], states[:, 2, 2:3].expand(-1, 4, -1))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_learned_h0_and_larger_hidden(always_fused, dtype):
    net = models.build("srn", 3, fast.SRN_MAX_HIDDEN, 2, ensemble=4, seed=5, dtype=dtype, h0="learned",
                       activation="sigmoid")
    compare_to_plain(net, _data(4, 3, 6, 3, dtype, per_member=False), lengths=torch.tensor([6, 2, 4]))
    assert net.h0.requires_grad


def test_step_is_the_reference(always_fused):
    """Fused states equal a hand loop over the public ``step`` (float64)."""
    net = models.build("srn", 3, 2, 3, ensemble=3, seed=7, dtype=torch.float64)
    x = _data(3, 2, 8, 3, torch.float64, per_member=False)
    logits, states = net(x)
    h = net.initial_state(2)
    for t in range(8):
        h = net.step(h, x[:, t])
        assert torch.allclose(states[:, :, t], h, atol=1e-13, rtol=0)
    assert torch.allclose(logits, net.readout(states.contiguous()), atol=1e-13, rtol=0)


def test_truncated_chunks_with_detached_start(always_fused):
    """Truncated BPTT calls ``net(x_chunk, h0=state.detach())`` per chunk: same gradients as the plain path."""
    net = models.build("srn", 3, 2, 3, ensemble=4, seed=2, dtype=torch.float64)
    x = _data(4, 3, 9, 3, torch.float64, per_member=True)
    results = []
    for fused in (True, False):
        net.zero_grad(set_to_none=True)
        h = net.initial_state(3)
        ctx = fast.disabled() if not fused else torch.enable_grad()
        with ctx:
            for t0 in range(0, 9, 4):
                logits, states = net(x[:, :, t0:t0 + 4], h0=h.detach())
                logits.pow(2).sum().backward()
                h = states[:, :, -1]
        results.append([p.grad.clone() for p in net.parameters()])
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12, rtol=0)


def test_gradients_match_finite_differences(always_fused):
    net = models.build("srn", 2, 2, 2, ensemble=2, seed=4, dtype=torch.float64)
    check_finite_differences(net, _data(2, 3, 5, 2, torch.float64, per_member=False), torch.tensor([5, 2, 4]),
                             ("w_hh", "w_ih", "b_h", "w_ho", "b_o"))


def test_dispatch_rules(monkeypatch):
    x = torch.zeros(2, 3, 3)
    net = models.build("srn", 3, 2, 3, ensemble=2, seed=0)
    # compiled kernels for every CPU size, up to NUMBA_SRN_MAX_HIDDEN units
    assert fast.select(net, x) == "numba_srn"
    wide = models.build("srn", 3, fast.NUMBA_SRN_MAX_HIDDEN + 1, 3, ensemble=2, seed=0)
    assert fast.select(wide, x) is None
    with fast.disabled():
        assert not fast.is_enabled()
        assert fast.select(net, x) is None
        assert fast.fast_forward(net, x, False, net.initial_state(2), None) is None
    assert fast.is_enabled()
    # options the fused code does not implement fall back to the plain loop
    for opts in ({"shortcut": True}, {"leak": 0.5}, {"n_layers": 2}):
        other = models.build("srn", 3, 2, 3, ensemble=2, seed=0, **opts)
        assert fast.select(other, x) is None, opts
    jordan = models.build("jordan", 3, 2, 3, ensemble=2, seed=0)
    assert fast.select(jordan, x) is None

    class Custom(SRN):
        def _cell(self, parts, p):
            return super()._cell(parts, p)

    assert fast.select(Custom(3, 2, 3, 2), x) is None
    # without numba: the fused torch ops, only from FUSED_MIN_ROWS rows and SRN_MAX_HIDDEN units
    monkeypatch.setattr(fast, "_numba", False)
    assert fast.select(net, x) is None
    monkeypatch.setattr(fast, "FUSED_MIN_ROWS", 0)
    assert fast.select(net, x) == "torch_srn"
    big = models.build("srn", 3, fast.SRN_MAX_HIDDEN + 1, 3, ensemble=2, seed=0)
    assert fast.select(big, x) is None


def test_second_derivative_refuses(always_fused):
    net = models.build("srn", 3, 2, 3, ensemble=2, seed=0, dtype=torch.float64)
    logits, _ = net(torch.randn(2, 4, 3, dtype=torch.float64))
    (g,) = torch.autograd.grad(logits.sum(), net.w_hh, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_default_dispatch_on_a_large_ensemble():
    """With the default threshold a large ensemble takes the fused path and still matches."""
    E, B = fast.FUSED_MIN_ROWS // 8, 8
    net = models.build("srn", 3, 2, 3, ensemble=E, seed=0)
    x = _data(E, B, 5, 3, torch.float32, per_member=False)
    assert fast.fast_forward(net, x, False, net.initial_state(B), None) is not None
    compare_to_plain(net, x)


def test_keep_freed_memory_reports_what_it_did():
    """glibc takes the two malloc thresholds (mallopt returns 1 for each); any other C library
    makes it report False without touching anything."""
    import platform

    assert fast.keep_freed_memory() is (platform.libc_ver()[0] == "glibc")
