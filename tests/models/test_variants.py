"""Leaky-integrator SRN units, stacked layers (srn, lstm, gru) and the LSTM variants, checked against
the plain families, torch.nn's multi-layer modules and direct numpy transcriptions."""

import numpy as np
import pytest
import torch

from dynrec import models
from dynrec.models import fast, stack

from .conftest import sig


def _x(B=3, T=6, I=3, seed=0):
    return torch.randn(B, T, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _np(t):
    return t.detach().double().numpy()


# ------------------------------------------------------------------ leaky units
def test_leak_one_is_the_plain_srn_bit_for_bit():
    plain = models.build("srn", 3, 4, 2, ensemble=3, seed=5, dtype=torch.float64)
    x = _x()
    same = models.build("srn", 3, 4, 2, ensemble=3, seed=5, dtype=torch.float64, leak=1.0)
    assert torch.equal(same(x)[1], plain(x)[1])
    # a per-unit leak of ones runs the leaky code path (torch.lerp), which is exact at alpha = 1;
    # compared with the plain step loop (the fused SRN scan of models.fast sums in another order)
    with fast.disabled():
        lg, st = plain(x)
        for leak in ((1.0,) * 4, [1, 1, 1, 1]):
            leaky = models.build("srn", 3, 4, 2, ensemble=3, seed=5, dtype=torch.float64, leak=leak)
            assert torch.equal(leaky.to_flat(), plain.to_flat())
            lg2, st2 = leaky(x)
            assert torch.equal(lg2, lg) and torch.equal(st2, st)
            h = plain.initial_state(3) + 0.3
            assert torch.equal(leaky.step(h, x[:, 0]), plain.step(h, x[:, 0]))


def _leaky_reference(U, W, b, V, c, h0, xs, alpha):
    """h_t = (1 - alpha) h_{t-1} + alpha tanh(U x_t + W h_{t-1} + b), y_t = V h_t + c."""
    h, hs, ys = np.array(h0, float), [], []
    for x in xs:
        h = (1 - alpha) * h + alpha * np.tanh(U @ x + W @ h + b)
        hs.append(h)
        ys.append(V @ h + c)
    return np.array(hs), np.array(ys)


@pytest.mark.parametrize("leak", [0.3, (0.2, 0.5, 0.9, 1.0), "learned"])
def test_leaky_srn_matches_numpy(leak):
    net = models.build("srn", 3, 4, 2, ensemble=2, seed=1, dtype=torch.float64, leak=leak, h0=0.1)
    if leak == "learned":
        with torch.no_grad():
            net.leak_logit.copy_(torch.linspace(-2, 2, 8, dtype=torch.float64).reshape(2, 4))
    x = _x()
    logits, states = net(x)
    for e in range(2):
        alpha = (1 / (1 + np.exp(-_np(net.leak_logit[e]))) if leak == "learned" else np.asarray(leak, float))
        for b in range(3):
            hs, ys = _leaky_reference(_np(net.w_ih[e]), _np(net.w_hh[e]), _np(net.b_h[e]), _np(net.w_ho[e]),
                                      _np(net.b_o[e]), _np(net.h0[e]), _np(x[b]), alpha)
            np.testing.assert_allclose(_np(states[e, b]), hs, atol=1e-12)
            np.testing.assert_allclose(_np(logits[e, b]), ys, atol=1e-12)


def test_learned_leak_is_trained_and_stays_in_unit_interval():
    net = models.build("srn", 2, 3, 1, ensemble=2, seed=0, leak="learned")
    assert "leak_logit" in dict(net.named_parameters())
    net(_x(I=2).float())[0].sum().backward()
    assert net.leak_logit.grad is not None and torch.count_nonzero(net.leak_logit.grad) > 0
    with torch.no_grad():
        net.leak_logit.fill_(50.0)
    alpha = torch.sigmoid(net.leak_logit)
    assert ((alpha > 0) & (alpha <= 1)).all()


# ---------------------------------------------------------------- stacked layers
@pytest.mark.parametrize("kind,options,width,bias", [
    ("srn", {}, 1, "b_h"), ("srn", {"activation": "sigmoid"}, 1, "b_h"), ("lstm", {}, 2, "b"),
    ("lstm", {"peephole": True}, 2, "b"), ("gru", {}, 1, "b"), ("gru", {"reset_after": True}, 1, "b")])
def test_one_layer_stack_path_equals_the_family_cell(kind, options, width, bias):
    """The stack's per-layer code (used for n_layers > 1 and the variants) at one layer gives the
    family's own one-layer step bit for bit; and n_layers=1 is the unstacked network."""
    net = models.build(kind, 3, 4, 2, ensemble=3, seed=2, dtype=torch.float64, **options)
    one = models.build(kind, 3, 4, 2, ensemble=3, seed=2, dtype=torch.float64, n_layers=1, **options)
    assert one.state_size == net.state_size and torch.equal(one.to_flat(), net.to_flat())
    h = torch.randn(3, 5, net.state_size, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    p = net._project(_x(B=5)[:, 0], False)
    parts = h.split(net._parts(), -1)
    want = net._cell(parts, p)
    got = stack.cell(net, parts, p, width, bias)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        # equal up to the last bit of a vectorised vs. strided sigmoid (LSTM's fused gate sigmoid)
        torch.testing.assert_close(g, w, atol=1e-15, rtol=0)


def test_stack_layer_one_draws_equal_the_unstacked_network():
    flat = models.build("gru", 3, 4, 2, ensemble=2, seed=9)
    deep = models.build("gru", 3, 4, 2, ensemble=2, seed=9, n_layers=3)
    for name in ("w_ih", "w_hh", "b", "w_ho", "b_o"):
        assert torch.equal(getattr(flat, name), getattr(deep, name)), name
    assert deep.w_ih_l1.shape == (2, 12, 4) and deep.w_ih_l2.shape == (2, 12, 4)
    assert not torch.equal(deep.w_hh_l1, deep.w_hh_l2)
    assert deep.state_size == 12


def test_two_layer_lstm_equals_torch_nn_lstm():
    torch.manual_seed(0)  # test-only: the torch modules' own initialisation
    mods = [torch.nn.LSTM(3, 4, num_layers=2, batch_first=True).double() for _ in range(2)]
    lins = [torch.nn.Linear(4, 2).double() for _ in range(2)]
    net = models.LSTM.from_torch(mods, lins)
    assert net.options["n_layers"] == 2 and net.state_size == 16
    x = _x(B=3, T=7)
    logits, states = net(x)
    for e, (m, lin) in enumerate(zip(mods, lins)):
        out, (hn, cn) = m(x)
        torch.testing.assert_close(logits[e], lin(out), atol=1e-6, rtol=0)
        # layout [h1, c1, h2, c2] at the last step = torch's (h_n, c_n) per layer
        last = states[e, :, -1]
        for layer in range(2):
            torch.testing.assert_close(last[:, 8 * layer:8 * layer + 4], hn[layer], atol=1e-6, rtol=0)
            torch.testing.assert_close(last[:, 8 * layer + 4:8 * layer + 8], cn[layer], atol=1e-6, rtol=0)
    # step is the same dynamics
    h = net.initial_state(3)
    for t in range(7):
        h = net.step(h, x[:, t])
    torch.testing.assert_close(h, states[:, :, -1], atol=1e-12, rtol=0)


def test_stacked_srn_and_gru_match_layerwise_numpy(ref):
    x = _x(B=2, T=5)
    srn = models.build("srn", 3, 4, 2, ensemble=2, seed=4, dtype=torch.float64, n_layers=2, h0=0.2)
    gru = models.build("gru", 3, 4, 2, ensemble=2, seed=4, dtype=torch.float64, n_layers=2, reset_after=True)
    for net in (srn, gru):
        logits, states = net(x)
        for e in range(2):
            g = {n: _np(t[e]) for n, t in net._tensors().items()}
            for b in range(2):
                if net.kind == "srn":
                    h1, _ = ref.srn(g["w_ih"], g["w_hh"], g["b_h"], g["w_ho"], g["b_o"], g["h0"][:4], _np(x[b]))
                    h2, ys = ref.srn(g["w_ih_l1"], g["w_hh_l1"], g["b_h_l1"], g["w_ho"], g["b_o"], g["h0"][4:],
                                     h1)
                else:
                    h1, _ = ref.gru(g["w_ih"], g["w_hh"], g["b"], g["w_ho"], g["b_o"], g["h0"][:4], _np(x[b]),
                                    b_hn=g["b_hn"])
                    h2, ys = ref.gru(g["w_ih_l1"], g["w_hh_l1"], g["b_l1"], g["w_ho"], g["b_o"], g["h0"][4:],
                                     h1, b_hn=g["b_hn_l1"])
                np.testing.assert_allclose(_np(states[e, b]), np.concatenate([h1, h2], 1), atol=1e-12)
                np.testing.assert_allclose(_np(logits[e, b]), ys, atol=1e-12)
    # a float h0 fills every layer's hidden units
    assert srn.initial_state(1)[0, 0].tolist() == [0.2] * 8


def test_from_weights_with_layers_equals_the_built_network():
    net = models.build("srn", 2, 3, 2, ensemble=2, seed=3, dtype=torch.float64, n_layers=2, shortcut=True)
    t = net._tensors()
    back = models.SRN.from_weights(U=t["w_ih"], W=t["w_hh"], b=t["b_h"], V=t["w_ho"], c=t["b_o"], D=t["w_io"],
                                   layers=[{"U": t["w_ih_l1"], "W": t["w_hh_l1"], "b": t["b_h_l1"]}])
    assert back.options["n_layers"] == 2 and back.state_size == 3 * 2 + 2
    x = _x(I=2)
    assert torch.equal(back(x)[0], net(x)[0])
    with pytest.raises(ValueError, match=r"layers\[0\] lacks \['W'\]"):
        models.SRN.from_weights(U=t["w_ih"], W=t["w_hh"], V=t["w_ho"], layers=[{"U": t["w_ih_l1"]}])
    with pytest.raises(ValueError, match="n_layers=3 needs the weights"):
        models.SRN.from_weights(U=t["w_ih"], W=t["w_hh"], V=t["w_ho"], n_layers=3)


# ------------------------------------------------------------------ LSTM variants
def _lstm_variant_reference(variant, Wih, Whh, b, V, c, h0, xs, peep=None):
    """Greff et al. 2017 CIFG ("coupled") and Hochreiter & Schmidhuber 1997 ("no_forget"), one member."""
    H = Whh.shape[1]
    h, cell = np.array(h0[:H], float), np.array(h0[H:], float)
    hs, ys = [], []
    for x in xs:
        a = Wih @ x + Whh @ h + b
        first, ag, ao = a[:H], a[H:2 * H], a[2 * H:]
        if peep is not None:
            first = first + peep[0] * cell
        if variant == "coupled":
            f = sig(first)
            cell = f * cell + (1 - f) * np.tanh(ag)
        else:
            cell = cell + sig(first) * np.tanh(ag)
        if peep is not None:
            ao = ao + peep[1] * cell
        h = sig(ao) * np.tanh(cell)
        hs.append(np.concatenate([h, cell]))
        ys.append(V @ h + c)
    return np.array(hs), np.array(ys)


@pytest.mark.parametrize("variant", ["coupled", "no_forget"])
@pytest.mark.parametrize("peephole", [False, True])
def test_lstm_variants_match_numpy(variant, peephole):
    net = models.build("lstm", 3, 4, 2, ensemble=2, seed=6, dtype=torch.float64, variant=variant,
                       peephole=peephole, h0=0.3, init_range=0.8)
    assert net.w_ih.shape == (2, 12, 3) and net.b.shape == (2, 12)
    if peephole:
        assert net.w_peep.shape == (2, 2, 4)
    x = _x(T=8)
    logits, states = net(x)
    for e in range(2):
        for b in range(3):
            hs, ys = _lstm_variant_reference(variant, _np(net.w_ih[e]), _np(net.w_hh[e]), _np(net.b[e]),
                                             _np(net.w_ho[e]), _np(net.b_o[e]), _np(net.h0[e]), _np(x[b]),
                                             _np(net.w_peep[e]) if peephole else None)
            np.testing.assert_allclose(_np(states[e, b]), hs, atol=1e-12)
            np.testing.assert_allclose(_np(logits[e, b]), ys, atol=1e-12)


def test_variant_forget_bias_and_from_weights():
    coupled = models.build("lstm", 2, 3, 1, seed=0, variant="coupled", forget_bias=2.0, init_range=0.1)
    assert (coupled.b[0, :3] > 1.8).all() and (coupled.b[0, 3:].abs() <= 0.1).all()  # rows (f, g, o)
    nf = models.build("lstm", 2, 3, 1, seed=0, variant="no_forget", init_range=0.1)
    assert (nf.b.abs() <= 0.1).all()
    with pytest.raises(ValueError, match="forget_bias=2.0 has no effect with variant='no_forget'"):
        models.build("lstm", 2, 3, 1, variant="no_forget", forget_bias=2.0)
    back = models.LSTM.from_weights(W_ih=nf.w_ih, W_hh=nf.w_hh, b=nf.b, V=nf.w_ho, c=nf.b_o, variant="no_forget")
    x = _x(I=2)
    torch.testing.assert_close(back(x)[0], nf(x)[0].double(), atol=1e-6, rtol=0)


# ------------------------------------------------------------ options, checkpoints
def test_bad_options_name_the_value():
    with pytest.raises(ValueError, match=r"leak must be a float in \(0, 1\].*got 0"):
        models.build("srn", 2, 2, 2, leak=0)
    with pytest.raises(ValueError, match="got 1.5"):
        models.build("srn", 2, 2, 2, leak=1.5)
    with pytest.raises(ValueError, match="leak has 2 values; a per-unit leak needs n_layers \\* n_hidden = 6"):
        models.build("srn", 2, 3, 2, n_layers=2, leak=[0.5, 0.5])
    with pytest.raises(ValueError, match="n_layers must be an int >= 1, got 0"):
        models.build("gru", 2, 2, 2, n_layers=0)
    with pytest.raises(ValueError, match=r"variant='peephole'.*valid: \['standard', 'coupled', 'no_forget'\]"):
        models.build("lstm", 2, 2, 2, variant="peephole")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['n_layers'\] for model kind 'jordan'"):
        models.build("jordan", 2, 2, 2, n_layers=2)


@pytest.mark.parametrize("kind,options", [
    ("srn", {"leak": "learned", "n_layers": 2, "shortcut": True, "h0": "learned"}),
    ("srn", {"leak": [0.5, 0.25, 1.0]}),
    ("lstm", {"variant": "coupled", "peephole": True, "n_layers": 2}),
    ("lstm", {"variant": "no_forget"}),
    ("gru", {"n_layers": 3, "reset_after": True}),
])
def test_new_options_round_trip_and_members_are_independent(tmp_path, kind, options):
    net = models.build(kind, 2, 3, 2, ensemble=3, seed=8, dtype=torch.float64, **options)
    if "leak_logit" in net._tensors():
        with torch.no_grad():
            net.leak_logit.uniform_(-1, 1, generator=torch.Generator().manual_seed(0))
    net.save(tmp_path / "n.safetensors")
    back = models.load(tmp_path / "n.safetensors")
    assert back.options == net.options and back.state_size == net.state_size
    x = _x(I=2)
    assert torch.equal(back(x)[1], net(x)[1])
    single = models.build(kind, 2, 3, 2, ensemble=1, seed=models.member_seed(8, 2), dtype=torch.float64, **options)
    ens = models.build(kind, 2, 3, 2, ensemble=3, seed=8, dtype=torch.float64, **options)
    assert torch.equal(single.to_flat()[0], ens.to_flat()[2])
    torch.testing.assert_close(single(x)[0][0], ens(x)[0][2], atol=1e-13, rtol=0)
