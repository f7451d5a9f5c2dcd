"""Each family against a direct numpy transcription of its equations (options the torch layers lack),
and gradients of every family against finite differences (torch.autograd.gradcheck, float64)."""

import numpy as np
import pytest
import torch

from dynrec import models

E, B, T, I, H, O = 2, 3, 5, 3, 3, 2


def _u(rng, *shape):
    return rng.uniform(-1, 1, (E, *shape))


def _x(rng):
    return rng.uniform(-1, 1, (B, T, I))


def _check(net, fn, x, args_of):
    logits, states = net(torch.as_tensor(x))
    for e in range(E):
        for b in range(B):
            hs, ys = fn(*args_of(e), x[b])
            np.testing.assert_allclose(states[e, b].detach().numpy(), hs, atol=1e-12, rtol=0)
            np.testing.assert_allclose(logits[e, b].detach().numpy(), ys, atol=1e-12, rtol=0)


@pytest.mark.parametrize("act", ["sigmoid", "relu"])
def test_srn_with_shortcut_matches_transcription(ref, act):
    rng = np.random.default_rng(0)
    U, W, b, V, c, D, h0 = _u(rng, H, I), _u(rng, H, H), _u(rng, H), _u(rng, O, H), _u(rng, O), _u(rng, O, I), _u(rng, H)
    net = models.SRN.from_weights(U=U, W=W, b=b, V=V, c=c, D=D, h0=h0, activation=act)
    assert net.options["shortcut"] and net.state_size == H + I
    x = _x(rng)
    logits, states = net(torch.as_tensor(x))
    for e in range(E):
        for r in range(B):
            hs, ys = ref.srn(U[e], W[e], b[e], V[e], c[e], h0[e], x[r], act=act, D=D[e])
            np.testing.assert_allclose(states[e, r, :, :H].detach().numpy(), hs, atol=1e-12, rtol=0)
            np.testing.assert_allclose(states[e, r, :, H:].detach().numpy(), x[r], atol=0, rtol=0)
            np.testing.assert_allclose(logits[e, r].detach().numpy(), ys, atol=1e-12, rtol=0)
    # the readout of the initial state has no input term
    h_init = net.initial_state(1)
    torch.testing.assert_close(net.readout(h_init)[:, 0], torch.as_tensor(np.einsum("eoh,eh->eo", V, h0) + c))


@pytest.mark.parametrize("mu", [0.0, 0.5])
def test_jordan_matches_transcription(ref, mu):
    rng = np.random.default_rng(1)
    U, W, b, V, c = _u(rng, H, I), _u(rng, H, O), _u(rng, H), _u(rng, O, H), _u(rng, O)
    net = models.Jordan.from_weights(U=U, W=W, b=b, V=V, c=c, decay=mu, output_activation="tanh")
    assert net.state_size == H + O
    _check(net, lambda *a: ref.jordan(*a, out="tanh", mu=mu), _x(rng),
           lambda e: (U[e], W[e], b[e], V[e], c[e], None))


def test_lstm_with_peepholes_matches_transcription(ref):
    rng = np.random.default_rng(2)
    Wih, Whh, b, P, V, c, h0 = (_u(rng, 4 * H, I), _u(rng, 4 * H, H), _u(rng, 4 * H), _u(rng, 3, H),
                                _u(rng, O, H), _u(rng, O), _u(rng, 2 * H))
    net = models.LSTM.from_weights(W_ih=Wih, W_hh=Whh, b=b, peephole=P, V=V, c=c, h0=h0)
    assert net.options["peephole"] and net.state_size == 2 * H
    _check(net, lambda wih, whh, b_, v, c_, h, p, xs: ref.lstm(wih, whh, b_, v, c_, h, xs, peep=p),
           _x(rng), lambda e: (Wih[e], Whh[e], b[e], V[e], c[e], h0[e], P[e]))


@pytest.mark.parametrize("reset_after", [False, True])
def test_gru_matches_transcription(ref, reset_after):
    rng = np.random.default_rng(3)
    Wih, Whh, b, bhn, V, c, h0 = (_u(rng, 3 * H, I), _u(rng, 3 * H, H), _u(rng, 3 * H), _u(rng, H),
                                  _u(rng, O, H), _u(rng, O), _u(rng, H))
    net = models.GRU.from_weights(W_ih=Wih, W_hh=Whh, b=b, b_hn=bhn if reset_after else None, V=V, c=c, h0=h0)
    assert net.options["reset_after"] is reset_after
    _check(net, lambda wih, whh, b_, v, c_, h, bh, xs: ref.gru(wih, whh, b_, v, c_, h, xs, b_hn=bh),
           _x(rng), lambda e: (Wih[e], Whh[e], b[e], V[e], c[e], h0[e], bhn[e] if reset_after else None))


CASES = [("srn", {}), ("srn", {"shortcut": True, "activation": "sigmoid", "h0": "learned"}),
         ("jordan", {"decay": 0.3}), ("second_order", {"h0": "learned"}),
         ("lstm", {}), ("lstm", {"peephole": True, "h0": "learned"}),
         ("gru", {}), ("gru", {"reset_after": True})]


@pytest.mark.parametrize("kind,options", CASES)
def test_gradcheck_every_family(kind, options):
    net = models.build(kind, 2, 2, 2, ensemble=2, seed=3, dtype=torch.float64, init_range=0.8, **options)
    x = torch.randn(2, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    names = [n for n, _ in net.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in net.named_parameters()]

    def run(x, *ps):
        out = torch.func.functional_call(net, dict(zip(names, ps)), (x,), {"lengths": torch.tensor([3, 2])})
        return out[0], out[1]

    assert torch.autograd.gradcheck(run, (x, *params), eps=1e-6, atol=1e-7)
