"""Fixed points against bisection, closed forms, an independent root finder and iteration of the map."""

import numpy as np
import pytest
import torch
from scipy.optimize import brentq, root
from standins import AffineNet

from dynrec import analysis, models


def _one_unit(w, b, u=(0.0, 0.0)):
    return models.SRN.from_weights(U=[[u[0], u[1]]], W=[[w]], b=[b], V=[[1.0]], c=[0.0], alphabet="ab")


def _bisection_roots(g, lo=-1.5, hi=1.5, n=3001):
    xs = np.linspace(lo, hi, n)
    v = g(xs)
    return np.array([brentq(g, xs[i], xs[i + 1], xtol=1e-15) for i in range(n - 1) if v[i] * v[i + 1] < 0])


@pytest.mark.parametrize("w,b,u", [(3.0, 0.1, (0.0, 0.5)), (0.8, -0.3, (0.2, 0.0)), (5.0, 0.0, (1.0, -2.0))])
def test_one_unit_fixed_points_match_bisection(w, b, u):
    net = _one_unit(w, b, u)
    for k, sym in enumerate("ab"):
        bias = b + u[k]
        truth = _bisection_roots(lambda h: np.tanh(w * h + bias) - h)
        fp = analysis.find_fixed_points(net, sym)
        assert np.allclose(np.sort(fp.states[:, 0]), truth, atol=1e-12)
        assert (fp.residuals < 1e-10).all()
        order = np.argsort(fp.states[:, 0])
        slope = w * (1 - np.tanh(w * truth + bias) ** 2)  # closed-form derivative at each root
        assert np.allclose(fp.eigenvalues[order, 0].real, slope, atol=1e-10)
        expect = np.where(np.abs(slope) < 1, "attracting", "repelling")
        assert list(fp.stability[order]) == list(expect)


def test_linear_map_closed_forms():
    W = np.array([[[0.5, 0.2], [0.1, -0.7]],     # real eigenvalues, one negative dominant
                  [[0.0, -0.9], [0.9, 0.0]],     # rotation by 90 deg scaled 0.9: spiral
                  [[2.0, 0.0], [0.3, 0.4]]])     # saddle, dominant 2 (monotonic)
    b = np.array([[0.3, -0.2], [0.1, 0.4], [0.5, -0.1]])
    net = AffineNet(torch.tensor(W)[None].double(), torch.tensor(b)[None].double(), alphabet="abc")
    labels = [("attracting", "oscillating"), ("attracting", "spiral"), ("saddle", "monotonic")]
    for k, sym in enumerate("abc"):
        fp = analysis.find_fixed_points(net, sym)
        assert len(fp) == 1 and fp.residuals[0] < 1e-10
        assert np.allclose(fp.states[0], np.linalg.solve(np.eye(2) - W[k], b[k]), atol=1e-12)
        want = np.linalg.eigvals(W[k])
        assert np.allclose(np.sort_complex(fp.eigenvalues[0]), np.sort_complex(want), atol=1e-12)
        assert np.allclose(fp.jacobians[0], W[k], atol=1e-12)
        for j in range(2):  # J v = λ v
            v = fp.eigenvectors[0][:, j]
            assert np.allclose(W[k] @ v, fp.eigenvalues[0][j] * v, atol=1e-10)
        assert (fp.stability[0], fp.dominant[0]) == labels[k]


def _seed_formula(ref, h, s):
    W = np.asarray(ref["W"][s])
    return np.tanh(W[:, 0] + W[:, 1:] @ h)


def test_published_network_fixed_points(tomita1_net):
    net, ref = tomita1_net
    for s, sym in enumerate(ref["symbols"]):
        fp = analysis.find_fixed_points(net, sym)
        assert len(fp) >= 1 and (fp.residuals < 1e-10).all()
        for h in fp.states:  # the map in plain numpy (the published formula) fixes every point
            assert np.linalg.norm(_seed_formula(ref, h, s) - h) < 1e-10
        # independent search: scipy's hybrid root finder from a dense grid of starts
        found = []
        for x0 in np.stack(np.meshgrid(np.linspace(-1, 1, 15), np.linspace(-1, 1, 15)), -1).reshape(-1, 2):
            sol = root(lambda h: _seed_formula(ref, h, s) - h, x0, tol=1e-14)
            if sol.success and np.linalg.norm(_seed_formula(ref, sol.x, s) - sol.x) < 1e-10:
                if not any(np.linalg.norm(sol.x - f) < 1e-6 for f in found):
                    found.append(sol.x)
        assert len(found) == len(fp)
        for f in found:
            assert np.min(np.linalg.norm(fp.states - f, axis=1)) < 1e-9
        # iterating the map from many states ends on the attracting points
        h = np.random.default_rng(0).uniform(-1, 1, (50, 2))
        for _ in range(300):
            h = np.stack([_seed_formula(ref, x, s) for x in h])
        att = fp.select(stability="attracting").states
        assert len(att) >= 1
        assert np.all(np.min(np.linalg.norm(h[:, None] - att[None], axis=-1), axis=1) < 1e-9)
    # symbol "1" has two attractors split by a saddle (1* vs dead state: Tomita 1)
    fp1 = analysis.find_fixed_points(net, "1")
    assert sorted(fp1.stability.tolist()) == ["attracting", "attracting", "saddle"]


def test_ensemble_batch_equals_members_and_indices():
    net = models.build("srn", 2, 3, 2, ensemble=4, seed=3, alphabet="ab")
    with torch.no_grad():
        net.w_hh.mul_(4.0)  # several fixed points per member
    all_fp = analysis.find_fixed_points(net, "a", seed=1)
    assert set(all_fp.member.tolist()) <= {0, 1, 2, 3}
    for m in range(4):
        one = analysis.find_fixed_points(net.member(m), "a", seed=1)
        mine = all_fp.select(member=m)
        assert len(one) == len(mine)
        for h in one.states:
            assert np.min(np.linalg.norm(mine.states - h, axis=1)) < 1e-9
    sub = analysis.find_fixed_points(net, "a", member=[2, 3], seed=1)
    assert set(sub.member.tolist()) <= {2, 3} and sub.members.tolist() == [2, 3]


def test_period_two_points_match_bisection():
    net = _one_unit(-3.0, 0.2)
    fp = analysis.find_fixed_points(net, "a", period=2)
    f = lambda h: np.tanh(-3.0 * h + 0.2)
    truth = _bisection_roots(lambda h: f(f(h)) - h)
    assert np.allclose(np.sort(fp.states[:, 0]), truth, atol=1e-11)
    fixed = np.abs(f(fp.states[:, 0]) - fp.states[:, 0]) < 1e-9
    assert fixed.sum() == 1 and list(fp.minimal_period[fixed]) == [1]
    assert list(fp.minimal_period[~fixed]) == [2, 2]
    # "ab" is F_b after F_a: check against the composed map
    net2 = _one_unit(2.0, 0.0, (0.5, -0.7))
    fab = analysis.find_fixed_points(net2, "ab")
    comp = lambda h: np.tanh(2.0 * np.tanh(2.0 * h + 0.5) - 0.7)
    assert np.allclose(np.sort(fab.states[:, 0]), _bisection_roots(lambda h: comp(h) - h), atol=1e-11)


def test_slow_point_of_a_saddle_node_ghost():
    w = 1.5
    u = np.arctanh(-np.sqrt(1 / 3))
    b = u + w * np.sqrt(1 / 3) + 0.02  # just past the saddle-node: the left pair has vanished
    net = _one_unit(w, b)
    plain = analysis.find_fixed_points(net, "a")
    assert len(plain) == 1 and plain.kind.tolist() == ["fixed"]
    fp = analysis.find_fixed_points(net, "a", slow_points=True)
    slow = fp.select(kind="slow")
    assert len(slow) == 1 and slow.residuals[0] > 1e-3
    g = lambda h: np.tanh(w * h + b) - h
    dq = lambda h: g(h) * (w * (1 - np.tanh(w * h + b) ** 2) - 1)  # q'(h) for q = g^2/2
    assert abs(slow.states[0, 0] - brentq(dq, -0.9, -0.3, xtol=1e-15)) < 1e-6


def test_result_object_roundtrip_and_selection(tmp_path):
    net = _one_unit(3.0, 0.1)
    fp = analysis.find_fixed_points(net, "a")
    path = fp.save(tmp_path / "fp.npz")
    back = analysis.FixedPoints.load(path)
    assert np.array_equal(back.states, fp.states) and np.array_equal(back.eigenvalues, fp.eigenvalues)
    assert back.stability.tolist() == fp.stability.tolist() and back.word == "a"
    df = fp.to_frame()
    assert len(df) == 3 and {"member", "stability", "h0", "lambda0", "residual"} <= set(df.columns)
    assert len(fp.select(stability="attracting")) == 2 and len(list(fp)) == 3
    assert "3 points" in fp.summary()
    with pytest.raises(ValueError, match="stability"):
        fp.select(stability="stable")
    with pytest.raises(ValueError, match="not in the alphabet"):
        analysis.find_fixed_points(net, "c")
    with pytest.raises(ValueError, match="out of range"):
        analysis.find_fixed_points(net, 0, member=5)
    with pytest.raises(ValueError, match="period"):
        analysis.find_fixed_points(net, "a", period=0)


def test_explicit_input_vector():
    net = _one_unit(3.0, 0.1, (0.4, -0.4))
    fp = analysis.find_fixed_points(net, np.array([0.5, 0.5]))  # bias 0.1 + 0 = same as no input
    assert np.allclose(np.sort(fp.states[:, 0]), _bisection_roots(lambda h: np.tanh(3 * h + 0.1) - h), atol=1e-12)
