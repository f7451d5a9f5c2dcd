"""lyapunov_exponents (QR method): closed forms for linear maps, a bound for contracting tanh
networks, and the sum rule sum(lambda) = mean log|det J| checked with torch.func.jacrev."""

import numpy as np
import pytest
import torch
from standins import AffineNet

from dynrec import analysis, models


def _linear(mats):
    """AffineNet stand-in h' = A h (one symbol 'a'), one member per matrix."""
    W = torch.tensor(np.asarray(mats), dtype=torch.float32)[:, None]  # [E,1,S,S]
    return AffineNet(W, torch.zeros(W.shape[0], 1, W.shape[-1]), alphabet="a")


def test_normal_linear_map_gives_log_moduli_of_eigenvalues():
    R = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]   # a fixed orthogonal matrix
    sym = R @ np.diag([1.2, -0.5, 0.2]) @ R.T                       # symmetric (normal)
    rot = 0.9 * np.array([[np.cos(1.0), -np.sin(1.0), 0], [np.sin(1.0), np.cos(1.0), 0], [0, 0, 0.5 / 0.9]])
    net = _linear([sym, rot])
    res = analysis.lyapunov_exponents(net, "a" * 600)
    for e in range(2):
        A = net.W[e, 0].detach().double().numpy()
        want = np.sort(np.log(np.abs(np.linalg.eigvals(A))))[::-1]
        np.testing.assert_allclose(res.exponents[e], want, atol=5e-3)
    # a rotation scaled by 0.9 has two equal exponents log 0.9 (complex pair), and log 0.5
    np.testing.assert_allclose(res.exponents[1], np.log([0.9, 0.9, 0.5]), atol=5e-3)
    assert res.exponents.shape == (2, 3) and res.largest.shape == (2,)


def test_non_normal_linear_map_largest_exponent_is_log_spectral_radius():
    A = np.array([[0.9, 3.0], [0.0, 0.4]])
    res = analysis.lyapunov_exponents(_linear([A]), "a" * 2000)
    np.testing.assert_allclose(res.largest[0], np.log(0.9), atol=2e-3)
    # the exponents sum to log|det A| exactly (product of the R diagonals is the determinant)
    np.testing.assert_allclose(res.exponents[0].sum(), np.log(0.36), atol=1e-6)


def test_contracting_tanh_network_has_all_exponents_negative():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 4))
    W *= 0.8 / np.linalg.norm(W, 2)                                  # ||W||_2 = 0.8, tanh' <= 1
    net = models.SRN.from_weights(U=rng.normal(size=(4, 2)), W=W, b=rng.normal(size=4), V=np.ones((1, 4)),
                                  alphabet="ab")
    strings = ["".join(rng.choice(list("ab"), size=60)) for _ in range(4)]
    res = analysis.lyapunov_exponents(net, strings)
    assert (res.exponents < np.log(0.8) + 1e-12).all() and (res.per_string < np.log(0.8) + 1e-12).all()
    assert res.steps.tolist() == [60] * 4


def test_sum_rule_and_leading_k_on_an_expanding_srn():
    rng = np.random.default_rng(1)
    net = models.build("srn", 2, 3, 1, ensemble=2, seed=4, alphabet="ab", init_range=2.0)
    string = "".join(rng.choice(list("ab"), size=40))
    res = analysis.lyapunov_exponents(net, string, discard=5)
    assert res.steps.tolist() == [35]
    for e in range(2):
        one = net.member(e).double()
        h = one.initial_state(1)[0, 0]
        logdet = []
        for k, c in enumerate(string):
            x = torch.eye(2, dtype=torch.float64)["ab".index(c)].view(1, 1, 2)
            J = torch.func.jacrev(lambda v: one.step(v.view(1, 1, 3), x).view(3))(h)
            if k >= 5:
                logdet.append(np.log(abs(np.linalg.det(J.detach().numpy()))))
            h = one.step(h.view(1, 1, 3), x).view(3).detach()
        np.testing.assert_allclose(res.exponents[e].sum(), np.mean(logdet), rtol=1e-9)
    # the leading k exponents do not depend on the columns after them
    top = analysis.lyapunov_exponents(net, string, discard=5, k=1, member=[1])
    np.testing.assert_allclose(top.exponents[0, 0], res.per_string[1, 0, 0], rtol=1e-10)
    assert top.members == [1] and len(top.to_frame()) == 1 and "member 1" in top.summary()


def test_errors_name_the_value():
    net = _linear([np.eye(2)])
    with pytest.raises(ValueError, match=r"k must be an int in \[1, state_size=2\], got 3"):
        analysis.lyapunov_exponents(net, "aa", k=3)
    with pytest.raises(ValueError, match="no step to count"):
        analysis.lyapunov_exponents(net, "aa", discard=2)
