"""Counting mechanisms: labels from the fixed points, depth predicted from the linearisation vs simulation."""

import math

import numpy as np
import pytest
import torch
from standins import AffineNet

from dynrec import analysis, grammars


def _linear_counter(la, lb, h0=1.0):
    """1-D maps a: h -> la h, b: h -> lb h (points at 0), like the linearised counter."""
    return AffineNet(torch.tensor([[[[la]], [[lb]]]]).double(), torch.zeros(1, 2, 1).double(), h0=[h0],
                     alphabet="ab")


def _simulated_depth(net, la, lb, n_max=200):
    """Count with net.step; the b-phase ends when |h| crosses θ, θ centring the crossing at n = 1."""
    theta = math.exp(0.5 * math.log(abs(lb)) + math.log(abs(la)))
    a, b = torch.eye(2, dtype=torch.float64)
    depth = 0
    for n in range(1, n_max + 1):
        h = net.double().initial_state(1)
        for _ in range(n):
            h = net.step(h, a[None, None])
        m = 0
        while abs(h.item()) < theta and m < 10 * n_max:
            h = net.step(h, b[None, None])
            m += 1
        if m != n:
            break
        depth = n
    return depth


def _best_simulated_depth(net, la, lb, n_max=60, grid=400):
    """Count with net.step for a fine grid of readout thresholds at once (one batch row each);
    the depth of the best threshold. Any threshold that gets n = 1 right has offset
    K = ln θ / ln|λ_b| in (-r, 1 - r], so the grid spans that interval."""
    r = -math.log(abs(la)) / math.log(abs(lb))
    K = torch.linspace(-r, 1 - r, grid + 2, dtype=torch.float64)[1:-1]
    theta = torch.exp(K * math.log(abs(lb)))
    a, b = torch.eye(2, dtype=torch.float64)
    net = net.double()
    ok = torch.ones(grid, dtype=torch.bool)
    depth = torch.zeros(grid, dtype=torch.long)
    for n in range(1, n_max + 1):
        h = net.initial_state(grid)
        for _ in range(n):
            h = net.step(h, a[None, None])
        crossed = torch.full((grid,), -1, dtype=torch.long)
        for m in range(1, 3 * n + 3):
            h = net.step(h, b[None, None])
            crossed = torch.where((crossed < 0) & (h[0, :, 0].abs() >= theta), m, crossed)
        ok &= crossed == n
        depth = torch.where(ok, n, depth)
        if not ok.any():
            break
    return int(depth.max())


@pytest.mark.parametrize("la,lb", [(-0.5, -1.9), (0.6, 1.5), (-0.3, -3.1), (0.45, 2.4), (-0.7, -1.3)])
def test_predicted_depth_matches_simulated_linear_counter(la, lb):
    net = _linear_counter(la, lb)
    cs = analysis.counting_solution(net, grammars.get("anbn"))
    rec = cs[0]
    assert rec["type"] == ("oscillating" if la < 0 else "monotonic")
    assert np.isclose(rec["lambda_a"], la) and np.isclose(rec["lambda_b"], lb)
    assert np.isclose(rec["product"], abs(la * lb))
    # default: the best offset (margin 1), against the best of many thresholds
    assert rec["predicted_depth"] == _best_simulated_depth(net, la, lb)
    # margin 1/2: the crossing centred in its step at n = 1
    centred = analysis.counting_solution(net, grammars.get("anbn"), margin=0.5)[0]
    assert centred["predicted_depth"] == _simulated_depth(net, la, lb)


def test_balanced_products_count_forever_and_spiral_and_none():
    assert analysis.predicted_depth(0.5, 2.0) == math.inf
    # spiral: 2-D rotations, contracting under a and expanding under b
    rot = lambda r, t: r * np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    net = AffineNet(torch.tensor(np.stack([rot(0.6, 2.5), rot(1.6, 2.5)]))[None], torch.zeros(1, 2, 2).double(),
                    h0=[1.0, 0.0], alphabet="ab")
    rec = analysis.counting_solution(net, "anbn")[0]
    assert rec["type"] == "spiral" and np.isclose(abs(rec["lambda_a"]), 0.6) and np.isclose(abs(rec["lambda_b"]), 1.6)
    # no expanding point under b: not a counter
    rec = analysis.counting_solution(_linear_counter(0.5, 0.8), "anbn")[0]
    assert rec["type"] == "none" and "expanding" in rec["reason"]
    rec = analysis.counting_solution(_linear_counter(1.5, 2.0), "anbn")[0]
    assert rec["type"] == "none" and "attracting" in rec["reason"]


def test_anbncn_uses_both_directions_of_the_b_saddle():
    # 2-D diagonal maps: a contracts x, b expands x and contracts y, c expands y
    W = np.stack([np.diag([-0.9, -0.5]), np.diag([-2.1, -0.4]), np.diag([0.5, -2.4])])
    net = AffineNet(torch.tensor(W)[None], torch.zeros(1, 3, 2).double(), h0=[1.0, 1.0], alphabet="abc")
    cs = analysis.counting_solution(net, grammars.get("anbncn"))
    rec = cs[0]
    assert np.isclose(rec["lambda_b_stable"], -0.4) and np.isclose(rec["lambda_c"], -2.4)
    assert rec["type"] == "oscillating"
    want = min(analysis.predicted_depth(-0.9, -2.1), analysis.predicted_depth(-0.4, -2.4))
    assert rec["predicted_depth"] == want
    assert list(cs.to_frame().columns[:3]) == ["member", "type", "reason"]


def test_counting_checks_input():
    with pytest.raises(ValueError, match="alphabet"):
        analysis.counting_solution(_linear_counter(0.5, 2.0), grammars.get("tomita1"))
