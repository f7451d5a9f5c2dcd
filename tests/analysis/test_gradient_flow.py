"""gradient_flow: the norms equal autograd's gradients on an explicitly unrolled graph, the Jacobian
spectra equal those of explicit products of torch.func.jacrev Jacobians."""

import numpy as np
import pytest
import torch

from dynrec import analysis, grammars, models

STRINGS = ["abba", "ab", "baaab"]


def _onehot(strings, symbols="ab"):
    T = max(map(len, strings))
    x = torch.zeros(len(strings), T, len(symbols), dtype=torch.float64)
    for b, s in enumerate(strings):
        for t, c in enumerate(s):
            x[b, t, symbols.index(c)] = 1.0
    return x


@pytest.fixture(scope="module")
def nets():
    srn = models.build("srn", 2, 3, 2, ensemble=2, seed=0, alphabet="ab", init_range=1.5)
    lstm = models.build("lstm", 2, 3, 2, ensemble=2, seed=0, alphabet="ab", init_range=1.0)
    return {"srn": srn, "lstm": lstm}


def _direct_norms(net, e, strings, t, loss_fn):
    """||dL_t/dh_tau|| for tau = 0..t by retain_grad on an unrolled member-e graph (float64)."""
    one = net.member(e).double()
    x = _onehot(strings)
    h = one.initial_state(len(strings)).clone().requires_grad_(True)
    hs = [h]
    for k in range(t):
        h = one.step(h, x[:, k])
        h.retain_grad()
        hs.append(h)
    loss_fn(one.readout(h)[0]).sum().backward()  # rows are independent: row b's grads are its own
    return torch.stack([s.grad[0].norm(dim=-1) for s in hs], -1).numpy()  # [B, t+1]


@pytest.mark.parametrize("kind", ["srn", "lstm"])
def test_norms_equal_autograd_on_the_unrolled_graph(nets, kind):
    net = nets[kind]
    res = analysis.gradient_flow(net, STRINGS, loss_position="all")
    assert res.norms.shape == (2, 3, 6, 6) and res.loss == "sum"
    lengths = [len(s) for s in STRINGS]
    for e in range(2):
        for t in range(1, 6):
            want = _direct_norms(net, e, STRINGS, t, lambda y: y.sum(-1))
            for b, n in enumerate(lengths):
                if t <= n:
                    np.testing.assert_allclose(res.norms[e, b, t, :t + 1], want[b], rtol=1e-10, atol=1e-14)
                    assert np.isnan(res.norms[e, b, t, t + 1:]).all()
                else:
                    assert np.isnan(res.norms[e, b, t]).all()


def test_default_loss_position_is_each_rows_last_state(nets):
    res = analysis.gradient_flow(nets["srn"], STRINGS, member=1)
    assert res.members == [1]
    full = analysis.gradient_flow(nets["srn"], STRINGS, loss_position="all")
    for b, s in enumerate(STRINGS):
        assert res.positions[b].nonzero()[0].tolist() == [len(s)]
        np.testing.assert_allclose(res.norms[0, b, len(s)], full.norms[1, b, len(s)], rtol=1e-12)
    frame = res.to_frame()
    assert len(frame) == sum(len(s) + 1 for s in STRINGS)
    assert set(frame.columns) >= {"member", "row", "t", "tau", "distance", "norm", "radius", "spectral_norm"}
    assert (frame["member"] == 1).all()


def test_cross_entropy_on_a_prediction_batch_equals_autograd():
    task = grammars.PredictionTask(grammars.get("embedded_reber"), markers=True)
    strings = task.sample(np.random.default_rng(1), 2)
    batch = task.encode(strings)
    net = models.build("lstm", task.n_in, 3, task.n_out, ensemble=1, seed=3, init_range=1.0)
    res = analysis.gradient_flow(net, batch, loss_position=3)
    assert res.loss == "ce"
    one = net.double()
    x = batch.inputs.double()
    h = one.initial_state(2).clone()
    hs = []
    for k in range(3):
        h = h.detach().requires_grad_(True) if k == 0 else h
        if k == 0:
            hs.append(h)
        h = one.step(h, x[:, k])
        h.retain_grad()
        hs.append(h)
    torch.nn.functional.cross_entropy(one.readout(h)[0], batch.targets[:, 2], reduction="sum").backward()
    want = torch.stack([s.grad[0].norm(dim=-1) for s in hs], -1).detach().numpy()
    np.testing.assert_allclose(res.norms[0, :, 3, :4], want, rtol=1e-10)


def test_jacobian_spectra_equal_explicit_jacrev_products(nets):
    net = nets["lstm"]
    res = analysis.gradient_flow(net, STRINGS, loss_position=-1)
    x = _onehot(STRINGS)
    for e in (0, 1):
        one = net.member(e).double()
        S = one.state_size
        for b, s in enumerate(STRINGS):
            n = len(s)
            h = one.initial_state(1)[0, 0]
            Js = []
            for k in range(n):
                f = lambda v, k=k: one.step(v.view(1, 1, S), x[b:b + 1, k].view(1, 1, 2)).view(S)  # noqa: E731
                Js.append(torch.func.jacrev(f)(h).detach().numpy())
                h = f(h).detach()
            for tau in range(n + 1):
                P = np.eye(S)
                for k in range(n, tau, -1):   # J_n J_{n-1} ... J_{tau+1}
                    P = P @ Js[k - 1]
                np.testing.assert_allclose(res.radius[e, b, n, tau], np.abs(np.linalg.eigvals(P)).max(),
                                           rtol=1e-8, atol=1e-14)
                np.testing.assert_allclose(res.spectral_norm[e, b, n, tau], np.linalg.norm(P, 2), rtol=1e-8,
                                           atol=1e-14)


def test_step_jacobians_equal_jacrev():
    net = models.build("gru", 2, 3, 1, ensemble=2, seed=5, dtype=torch.float64, n_layers=2)
    g = torch.Generator().manual_seed(0)
    h = torch.randn(2, 4, 6, dtype=torch.float64, generator=g)
    x = torch.randn(4, 2, dtype=torch.float64, generator=g)
    J = analysis.step_jacobians(net, h, x)
    for e in range(2):
        one = net.member(e)
        for n in range(4):
            want = torch.func.jacrev(lambda v: one.step(v.view(1, 1, 6), x[n].view(1, 1, 2)).view(6))(h[e, n])
            torch.testing.assert_close(J[e, n], want, atol=1e-13, rtol=0)


def test_by_distance_and_errors(nets):
    res = analysis.gradient_flow(nets["srn"], ["abab"])
    curve = res.by_distance()
    assert curve.shape == (2, 5)
    np.testing.assert_allclose(curve[:, ::-1], res.norms[:, 0, 4, :], rtol=1e-12)  # one row, one position
    assert "member 0" in res.summary()
    with pytest.raises(ValueError, match="loss='ce' needs targets"):
        analysis.gradient_flow(nets["srn"], ["ab"], loss="ce")
    with pytest.raises(ValueError, match="loss_position must be"):
        analysis.gradient_flow(nets["srn"], ["ab"], loss_position=0)
    with pytest.raises(ValueError, match="loss must be one of"):
        analysis.gradient_flow(nets["srn"], ["ab"], loss="hinge")
