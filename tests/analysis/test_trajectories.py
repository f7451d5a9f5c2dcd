"""Trajectories against the network's own forward pass; vector field; PCA; weight-space paths."""

import numpy as np
import pytest
import torch

from dynrec import analysis, models


def test_trajectories_match_forward_and_labels():
    net = models.build("srn", 2, 4, 2, ensemble=3, seed=5, alphabet="ab")
    strings = ["abba", "", "b"]
    tr = analysis.trajectories(net, strings)
    x = torch.zeros(3, 4, 2, dtype=torch.float64)
    for i, s in enumerate(strings):
        for t, c in enumerate(s):
            x[i, t, "ab".index(c)] = 1
    _, states = net.double()(x, lengths=torch.tensor([4, 0, 1]))
    h0 = net.initial_state(1)[:, 0]
    for k, s in enumerate(strings):
        for m in range(3):
            got = tr.of(k, member=m)
            assert got.shape == (len(s) + 1, 4)
            assert np.allclose(got[0], h0[m].detach().numpy())
            assert np.allclose(got[1:], states[m, k, : len(s)].detach().numpy(), atol=1e-12)
    df = tr.to_frame(member=1)
    assert df.loc[df.string == "abba", "symbol"].tolist() == ["", "a", "b", "b", "a"]
    assert df.loc[df.string == "abba", "position"].tolist() == [0, 1, 2, 3, 4]
    coords, pca = tr.pca(4, member=2)  # full rank: a rotation, so distances are kept
    X = tr.states[2]
    d0 = np.linalg.norm(X[:, None] - X[None], axis=-1)
    d1 = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    assert np.allclose(d0, d1, atol=1e-10)
    with pytest.raises(ValueError, match="pick one"):
        tr.pca(2)
    with pytest.raises(ValueError, match="not in the alphabet"):
        analysis.trajectories(net, ["abc"])


def test_vector_field_is_step_minus_state():
    net = models.build("srn", 2, 2, 2, ensemble=2, seed=1, alphabet="ab")
    vf = analysis.vector_field(net, "b", grid=7)
    assert vf.points.shape == (2, 49, 2) and vf.shape == (7, 7)
    U, W, b = (p.detach().double().numpy() for p in (net.w_ih, net.w_hh, net.b_h))
    for e in range(2):
        want = np.tanh(vf.points[e] @ W[e].T + U[e][:, 1] + b[e]) - vf.points[e]
        assert np.allclose(vf.delta[e], want, atol=1e-12)
    # a word composes the maps; a plane through an origin
    vf2 = analysis.vector_field(net, "ab", grid=3, member=0, plane=[[1, 1], [1, -1]], origin=[0.1, 0.0])
    p = vf2.points[0]
    assert np.allclose(p[0], [0.1 - 2, 0.0])
    h1 = np.tanh(p @ W[0].T + U[0][:, 0] + b[0])
    assert np.allclose(vf2.delta[0], np.tanh(h1 @ W[0].T + U[0][:, 1] + b[0]) - p, atol=1e-12)


def test_weight_path_finds_the_pitchfork():
    # h -> tanh(w h): one fixed point for w <= 1, three for w > 1 (pitchfork at w = 1)
    a = models.SRN.from_weights(U=[[0.0]], W=[[0.5]], V=[[1.0]], alphabet="a")
    b = models.SRN.from_weights(U=[[0.0]], W=[[2.5]], V=[[1.0]], alphabet="a")
    path = analysis.weight_path(a, b, "a", steps=9)
    w = 0.5 + 2.0 * path.alphas
    assert path.counts().tolist() == [1 if wi <= 1 else 3 for wi in w]
    origin = path.points.select(stability=("attracting", "repelling", "marginal"))
    lam0 = {int(m): fp.eigenvalues[0].real for m, fp in zip(origin.member, origin) if abs(fp.state[0]) < 1e-9}
    assert np.allclose([lam0[i] for i in range(9)], w)  # eigenvalue of the origin is w
    df = path.eigenvalue_frame()
    assert np.allclose(sorted(set(df.alpha)), path.alphas)
    flat = analysis.weight_path(a.to_flat()[0], b.to_flat()[0], "a", net=a, alphas=[0.0, 1.0])
    assert flat.counts().tolist() == [1, 3]
