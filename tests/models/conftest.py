"""Direct numpy transcriptions of each family's equations (one member, explicit loops),
the independent definitions the ensemble code is checked against."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # fastcheck.py

ACT = {"tanh": np.tanh, "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0),
       "identity": lambda a: a}


def sig(a):
    return 1 / (1 + np.exp(-a))


def srn(U, W, b, V, c, h0, xs, act="tanh", D=None):
    """Elman 1990: h_t = f(U x_t + W h_{t-1} + b), y_t = V h_t + c (+ D x_t). xs [T,I]."""
    h, hs, ys = np.array(h0, float), [], []
    for x in xs:
        h = ACT[act](U @ x + W @ h + b)
        y = V @ h + c + (D @ x if D is not None else 0)
        hs.append(h)
        ys.append(y)
    return np.array(hs), np.array(ys)


def jordan(U, W, b, V, c, h0, xs, act="tanh", out="sigmoid", mu=0.0):
    """Jordan 1986: h_t = f(U x_t + W s_{t-1} + b), y_t = V h_t + c, s_t = mu s_{t-1} + g(y_t), s_0 = 0."""
    s, hs, ys = np.zeros(V.shape[0]), [], []
    for x in xs:
        h = ACT[act](U @ x + W @ s + b)
        y = V @ h + c
        s = mu * s + ACT[out](y)
        hs.append(np.concatenate([h, s]))
        ys.append(y)
    return np.array(hs), np.array(ys)


def second_order(W, P, h0, xs, act="tanh"):
    """Seed formula with Giles's input mixing: x_t^j = f(sum_s u^s (W[s][j][0] + sum_k W[s][j][k] x^k))."""
    I, H = len(W), len(W[0])
    P = np.atleast_2d(P)
    h, hs, ys = list(map(float, h0)), [], []
    for u in xs:
        new = []
        for j in range(H):
            total = 0.0
            for s in range(I):
                acc = W[s][j][0]
                for k in range(H):
                    acc += W[s][j][k + 1] * h[k]
                total += u[s] * acc
            new.append(ACT[act](total))
        h = new
        hs.append(h)
        ys.append([P[o][0] + sum(P[o][j + 1] * h[j] for j in range(H)) for o in range(len(P))])
    return np.array(hs), np.array(ys)


def lstm(Wih, Whh, b, V, c, h0, xs, peep=None):
    """Gers & Schmidhuber 2001 LSTM, gate rows (i, f, g, o), peepholes rows (i, f, o)."""
    H = Whh.shape[1]
    h, cell = np.array(h0[:H], float), np.array(h0[H:], float)
    hs, ys = [], []
    for x in xs:
        a = Wih @ x + Whh @ h + b
        ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        if peep is not None:
            ai, af = ai + peep[0] * cell, af + peep[1] * cell
        cell = sig(af) * cell + sig(ai) * np.tanh(ag)
        if peep is not None:
            ao = ao + peep[2] * cell
        h = sig(ao) * np.tanh(cell)
        hs.append(np.concatenate([h, cell]))
        ys.append(V @ h + c)
    return np.array(hs), np.array(ys)


def gru(Wih, Whh, b, V, c, h0, xs, b_hn=None):
    """Chung et al. 2014 GRU, rows (r, z, n): h = (1-z) h + z h~; b_hn given -> torch's reset-after form."""
    H = Whh.shape[1]
    h, hs, ys = np.array(h0, float), [], []
    for x in xs:
        gx = Wih @ x + b
        r = sig(gx[:H] + Whh[:H] @ h)
        z = sig(gx[H:2 * H] + Whh[H:2 * H] @ h)
        if b_hn is None:
            cand = np.tanh(gx[2 * H:] + Whh[2 * H:] @ (r * h))
        else:
            cand = np.tanh(gx[2 * H:] + r * (Whh[2 * H:] @ h + b_hn))
        h = (1 - z) * h + z * cand
        hs.append(h)
        ys.append(V @ h + c)
    return np.array(hs), np.array(ys)


@pytest.fixture(scope="session")
def ref():
    return SimpleNamespace(srn=srn, jordan=jordan, second_order=second_order, lstm=lstm, gru=gru)


@pytest.fixture(params=["numba", "torch"])
def always_fused(request, monkeypatch):
    """Each fast-path implementation in turn, for any ensemble size: the compiled kernels
    (numba, a dependency: it must import) and the fused torch ops (normally only from
    FUSED_MIN_ROWS rows, or where numba is missing).  Yields the implementation's name."""
    from dynrec.models import fast

    monkeypatch.setattr(fast, "FUSED_MIN_ROWS", 0)
    if request.param == "numba":
        assert fast.numba_available(), "numba must import (it is in install_requires)"
    else:
        monkeypatch.setattr(fast, "_numba", False)
    return request.param
