"""The ensemble contract: members are independent, results do not depend on E, step is the
single source of the dynamics, padded batches hold each row's final state."""

import numpy as np
import pytest
import torch

from dynrec import models

KINDS = models.names()


def _x(B=4, T=6, I=3, seed=0, dtype=torch.float64):
    return torch.randn(B, T, I, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_member_i_equals_single_network_with_member_seed(kind):
    ens = models.build(kind, 3, 4, 2, ensemble=5, seed=11, dtype=torch.float64)
    x = _x()
    logits, states = ens(x)
    for i in (0, 3, 4):
        single = models.build(kind, 3, 4, 2, ensemble=1, seed=models.member_seed(11, i), dtype=torch.float64)
        assert torch.equal(single.to_flat()[0], ens.to_flat()[i])
        lg, st = single(x)
        torch.testing.assert_close(lg[0], logits[i], atol=1e-13, rtol=0)
        torch.testing.assert_close(st[0], states[i], atol=1e-13, rtol=0)
        # and through member(): a copy with the same outputs
        lg_m, _ = ens.member(i)(x)
        torch.testing.assert_close(lg_m[0], logits[i], atol=1e-13, rtol=0)


def test_members_do_not_depend_on_ensemble_size():
    small = models.build("lstm", 2, 3, 2, ensemble=3, seed=5, peephole=True)
    big = models.build("lstm", 2, 3, 2, ensemble=40, seed=5, peephole=True)
    assert torch.equal(small.to_flat(), big.to_flat()[:3])
    assert models.member_seed(5, 0) == 5 and len({models.member_seed(5, i) for i in range(1000)}) == 1000


@pytest.mark.parametrize("kind", KINDS)
def test_member_independence_perturb_and_train_member_3(kind):
    net = models.build(kind, 3, 3, 2, ensemble=6, seed=2)
    x = _x(dtype=torch.float32)
    before_logits, before_states = net(x)
    flat = net.to_flat()
    # perturb member 3 through load_flat
    v = flat.clone()
    v[3] += 0.5
    net.load_flat(v)
    logits, states = net(x)
    assert torch.equal(logits[:3], before_logits[:3]) and torch.equal(states[:3], before_states[:3])
    assert not torch.equal(logits[3], before_logits[3])
    # train member 3 only: the loss reads member 3, every other member's gradient is exactly zero
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        net(x)[0][3].pow(2).sum().backward()
        for p in net.parameters():
            assert torch.count_nonzero(p.grad[:3]) == 0 and torch.count_nonzero(p.grad[4:]) == 0
        opt.step()
    after = net.to_flat()
    assert torch.equal(after[:3], flat[:3]) and torch.equal(after[4:], flat[4:])
    assert not torch.equal(after[3], v[3])


@pytest.mark.parametrize("kind", KINDS)
def test_forward_is_step_unrolled(kind):
    net = models.build(kind, 3, 4, 2, ensemble=3, seed=1, dtype=torch.float64, h0=0.25)
    x = _x(B=2, T=5)
    logits, states = net(x)
    h = net.initial_state(2)
    for t in range(5):
        h = net.step(h, x[:, t])            # x shared by members: [B,I]
        torch.testing.assert_close(states[:, :, t], h, atol=1e-13, rtol=0)
        torch.testing.assert_close(logits[:, :, t], net.readout(h), atol=1e-13, rtol=0)
    # per-member inputs [E,B,T,I] equal the broadcast ones when all members see the same string
    lg_e, st_e = net(x.expand(3, *x.shape))
    torch.testing.assert_close(lg_e, logits, atol=1e-13, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_lengths_hold_each_rows_final_state(kind):
    net = models.build(kind, 3, 3, 2, ensemble=2, seed=4, dtype=torch.float64)
    x = _x(B=3, T=5)
    lengths = torch.tensor([5, 2, 0])
    logits, states = net(x, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        if n:
            _, st = net(x[b:b + 1, :n])
            torch.testing.assert_close(states[:, b, :n], st[:, 0], atol=1e-13, rtol=0)
            final = states[:, b, n - 1]
        else:
            final = net.initial_state(1)[:, 0]
        # held exactly after the last real input
        assert torch.equal(states[:, b, n:], final[:, None].expand(-1, 5 - n, -1))
        held = logits[:, b, n:]
        assert torch.equal(held, held[:, :1].expand_as(held))
        # the readout of that state (a fast path computes V h + c in its own order: rounding only)
        torch.testing.assert_close(held, net.readout(final)[:, None].expand_as(held), atol=1e-14, rtol=0)


def test_select_copies_and_orders_members():
    net = models.build("gru", 2, 2, 1, ensemble=4, seed=0, alphabet="ab")
    sub = net.select([2, 0])
    assert sub.ensemble == 2 and sub.alphabet == ("a", "b") and sub.options == net.options
    assert torch.equal(sub.to_flat(), net.to_flat()[[2, 0]])
    with torch.no_grad():
        sub.w_hh.add_(1.0)
    assert torch.equal(net.to_flat()[2], models.build("gru", 2, 2, 1, ensemble=4, seed=0).to_flat()[2])


def test_learned_h0_is_a_parameter_and_trains():
    net = models.build("srn", 2, 3, 1, ensemble=2, seed=0, h0="learned")
    assert "h0" in dict(net.named_parameters())
    net(_x(B=2, T=3, I=2, dtype=torch.float32))[0].sum().backward()
    assert net.h0.grad.abs().sum() > 0
    fixed = models.build("srn", 2, 3, 1, ensemble=2, seed=0, h0=0.5)
    assert "h0" not in dict(fixed.named_parameters())
    assert torch.equal(fixed.initial_state(1), torch.full((2, 1, 3), 0.5))
    assert fixed.n_params_per_member == net.n_params_per_member - 3


def test_uniform_init_range_and_distribution():
    net = models.build("srn", 10, 20, 10, ensemble=50, seed=9, init_range=0.3, dtype=torch.float64)
    w = net.to_flat().numpy().ravel()
    assert np.abs(w).max() <= 0.3
    # uniform on [-0.3, 0.3]: mean 0, variance 0.03; 50 * 530 draws
    assert abs(w.mean()) < 0.005 and abs(w.var() - 0.03) < 0.001
    hist, _ = np.histogram(w, bins=10, range=(-0.3, 0.3))
    assert hist.min() > 0.9 * len(w) / 10
    lstm = models.build("lstm", 2, 4, 1, ensemble=3, seed=0, forget_bias=2.0, init_range=0.1)
    forget = lstm.b.detach()[:, 4:8]
    assert (forget > 1.85).all() and (forget < 2.15).all() and lstm.b.detach()[:, :4].abs().max() <= 0.1


def test_float32_and_float64_draw_the_same_numbers():
    a = models.build("second_order", 2, 3, 1, ensemble=3, seed=1, dtype=torch.float32)
    b = models.build("second_order", 2, 3, 1, ensemble=3, seed=1, dtype=torch.float64)
    torch.testing.assert_close(a.to_flat().double(), b.to_flat(), atol=1e-7, rtol=0)
    assert a.dtype == torch.float32 and b.dtype == torch.float64
