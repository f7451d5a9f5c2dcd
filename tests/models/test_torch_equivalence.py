"""SRN / LSTM / GRU ensembles equal torch.nn.RNN / LSTM / GRU (+ Linear), member by member,
to 1e-6 in float64, outputs and gradients (weights copied across with from_torch)."""

import pytest
import torch

from dynrec import models

E, B, T, I, H, O = 3, 4, 6, 3, 4, 2


def _torch_members(cls, seed, **kw):
    g = torch.Generator().manual_seed(seed)
    rnns, lins = [], []
    for _ in range(E):
        r = cls(I, H, batch_first=True, **kw).double()
        lin = torch.nn.Linear(H, O).double()
        with torch.no_grad():
            for p in list(r.parameters()) + list(lin.parameters()):
                p.copy_(torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1)
        rnns.append(r)
        lins.append(lin)
    return rnns, lins


def _compare(net, rnns, lins, grad_pairs, lstm=False):
    g = torch.Generator().manual_seed(7)
    x = torch.randn(B, T, I, generator=g, dtype=torch.float64, requires_grad=True)
    w_out = torch.randn(E, B, T, O, generator=g, dtype=torch.float64)
    logits, states = net(x)
    (logits * w_out).sum().backward()
    grad_x = x.grad.clone()
    x.grad = None
    total = 0
    for e in range(E):
        hs, _ = rnns[e](x)
        y = lins[e](hs)
        torch.testing.assert_close(logits[e], y, atol=1e-6, rtol=0)
        torch.testing.assert_close(states[e, ..., :H], hs, atol=1e-6, rtol=0)
        total = total + (y * w_out[e]).sum()
    total.backward()
    torch.testing.assert_close(grad_x, x.grad, atol=1e-6, rtol=0)
    for ours, theirs in grad_pairs:
        for e in range(E):
            torch.testing.assert_close(ours(e), theirs(e), atol=1e-6, rtol=0)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_srn_equals_torch_rnn(nonlinearity):
    rnns, lins = _torch_members(torch.nn.RNN, 1, nonlinearity=nonlinearity)
    net = models.SRN.from_torch(rnns, lins, dtype=torch.float64)
    assert net.options["activation"] == nonlinearity and net.ensemble == E
    _compare(net, rnns, lins, [
        (lambda e: net.w_ih.grad[e], lambda e: rnns[e].weight_ih_l0.grad),
        (lambda e: net.w_hh.grad[e], lambda e: rnns[e].weight_hh_l0.grad),
        (lambda e: net.b_h.grad[e], lambda e: rnns[e].bias_hh_l0.grad),
        (lambda e: net.w_ho.grad[e], lambda e: lins[e].weight.grad),
        (lambda e: net.b_o.grad[e], lambda e: lins[e].bias.grad)])


def test_lstm_equals_torch_lstm():
    rnns, lins = _torch_members(torch.nn.LSTM, 2)
    net = models.LSTM.from_torch(rnns, lins, dtype=torch.float64)
    _compare(net, rnns, lins, [
        (lambda e: net.w_ih.grad[e], lambda e: rnns[e].weight_ih_l0.grad),
        (lambda e: net.w_hh.grad[e], lambda e: rnns[e].weight_hh_l0.grad),
        (lambda e: net.b.grad[e], lambda e: rnns[e].bias_ih_l0.grad),
        (lambda e: net.w_ho.grad[e], lambda e: lins[e].weight.grad)])
    # the cell half of the state is torch's c_n at the last step
    x = torch.randn(B, T, I, dtype=torch.float64)
    _, states = net(x)
    for e in range(E):
        _, (h_n, c_n) = rnns[e](x)
        torch.testing.assert_close(states[e, :, -1, H:], c_n[0], atol=1e-6, rtol=0)


def test_gru_equals_torch_gru_with_z_swapped():
    rnns, lins = _torch_members(torch.nn.GRU, 3)
    net = models.GRU.from_torch(rnns, lins, dtype=torch.float64)
    assert net.options["reset_after"] is True
    # torch's update gate z' = 1 - z: our z rows are torch's negated, so their gradients are negated too
    sign = torch.ones(3 * H, 1, dtype=torch.float64)
    sign[H:2 * H] = -1
    _compare(net, rnns, lins, [
        (lambda e: net.w_ih.grad[e], lambda e: rnns[e].weight_ih_l0.grad * sign),
        (lambda e: net.w_hh.grad[e], lambda e: rnns[e].weight_hh_l0.grad * sign),
        (lambda e: net.b_hn.grad[e], lambda e: rnns[e].bias_hh_l0.grad[2 * H:]),
        (lambda e: net.w_ho.grad[e], lambda e: lins[e].weight.grad)])


def test_gru_from_torch_refuses_reset_before():
    rnns, lins = _torch_members(torch.nn.GRU, 3)
    with pytest.raises(ValueError, match="reset_after"):
        models.GRU.from_torch(rnns, lins, reset_after=False)


def test_torch_init_bounds_match_torch_modules():
    """init="torch" draws within torch's own bounds: 1/sqrt(H) for the cell, 1/sqrt(fan_in) for Linear."""
    for kind, n_rows in (("srn", 1), ("lstm", 4), ("gru", 3)):
        net = models.build(kind, I, 9, O, ensemble=50, seed=0, init="torch", dtype=torch.float64)
        bound = 1 / 9 ** 0.5
        w = net.w_hh.detach()
        assert w.shape == (50, n_rows * 9, 9)
        assert w.abs().max() <= bound and w.abs().max() > 0.95 * bound
        assert net.w_ho.detach().abs().max() <= bound
