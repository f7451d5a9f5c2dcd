"""Helpers for the training tests: tiny real networks and tasks, and an independent
reference loss written with explicit loops over time (no code shared with dynrec.training)."""

import numpy as np
import pytest
import torch

from dynrec import grammars, models


def build(kind, task, hidden=3, ensemble=2, seed=0, dtype=torch.float64, **options):
    return models.build(kind, task.n_in, hidden, task.n_out, ensemble=ensemble, seed=seed,
                        dtype=dtype, **options)


@pytest.fixture
def anbn_markers():
    return grammars.PredictionTask(grammars.get("anbn"), markers=True, n_range=(1, 4))


@pytest.fixture
def parity_recognition():
    return grammars.RecognitionTask(grammars.get("parity"), length_range=(0, 5))


def ref_position_loss(z, target, legal, loss, activation):
    """Loss of one output vector z [O] (float64) against one position's targets, by the formulas."""
    if loss == "ce":
        return torch.logsumexp(z, 0) - z[target]
    if loss == "sse":
        y = torch.tanh(z) if activation == "tanh" else torch.sigmoid(z)
        t = torch.zeros_like(z)
        t[target] = 1.0
        if activation == "tanh":
            t = 2 * t - 1
        return 0.5 * ((y - t) ** 2).sum()
    zz = 2 * z if activation == "tanh" else z
    p = torch.sigmoid(zz)
    return -(legal * torch.log(p) + (1 - legal) * torch.log(1 - p)).sum()


def ref_recognition_loss(z, label, loss, activation):
    z = z[0]
    if loss == "sse":
        y = torch.tanh(z) if activation == "tanh" else torch.sigmoid(z)
        t = (2 * label - 1) if activation == "tanh" else label
        return 0.5 * (y - t) ** 2
    zz = 2 * z if activation == "tanh" else z
    p = torch.sigmoid(zz)
    return -(label * torch.log(p) + (1 - label) * torch.log(1 - p))


def ref_chunk_loss(net, batch, t0, t1, h_start, loss, kind, reduction="sum"):
    """Per member [E]: the mean over rows of each row's loss at positions t0 <= t < t1,
    starting from h_start [E,B,S]; loops over rows, steps and members one at a time,
    with the formulas written out above (only net.step / net.readout are shared)."""
    act = net.output_activation
    E, B = net.ensemble, batch.inputs.shape[0]
    total = torch.zeros(E, dtype=torch.float64)
    for b in range(B):
        h = h_start[:, b:b + 1]
        L = int(batch.lengths[b])
        row = torch.zeros(E, dtype=torch.float64)
        if kind == "recognition" and L == 0 and t0 == 0:
            z = net.readout(h)[:, 0]
            row = row + torch.stack([ref_recognition_loss(z[e], batch.labels[b].double(), loss, act)
                                     for e in range(E)])
        for t in range(t0, t1):
            h = net.step(h, batch.inputs[b:b + 1, t].double())
            z = net.readout(h)[:, 0]
            if kind == "prediction" and t < L:
                pos = torch.stack([ref_position_loss(z[e], int(batch.targets[b, t]),
                                                     batch.legal[b, t].double(), loss, act)
                                   for e in range(E)])
                row = row + (pos / L if reduction == "mean" else pos)
            elif kind == "recognition" and t == L - 1:
                row = row + torch.stack([ref_recognition_loss(z[e], batch.labels[b].double(), loss, act)
                                         for e in range(E)])
        total = total + row / B
    return total


def flat_grads(grads, E):
    return torch.cat([g.reshape(E, -1) for g in grads], 1)


def finite_difference(fn, net, eps=1e-6):
    """Central differences of the per-member losses fn() -> [E] w.r.t. net.to_flat(): [E, P].

    Members are independent, so column j of every member is perturbed at once and
    member e's loss change gives d loss_e / d theta_ej."""
    base = net.to_flat().clone()
    out = torch.zeros_like(base)
    for j in range(base.shape[1]):
        diff = 0.0
        for sign in (1, -1):
            v = base.clone()
            v[:, j] += sign * eps
            net.load_flat(v)
            with torch.no_grad():
                diff = diff + sign * fn()
        out[:, j] = diff / (2 * eps)
    net.load_flat(base)
    return out


def rng(seed=0):
    return np.random.default_rng(seed)


@pytest.fixture(scope="session")
def ref():
    """The helpers above as one namespace (test modules cannot import conftest with
    --import-mode=importlib)."""
    import types

    return types.SimpleNamespace(build=build, finite_difference=finite_difference,
                                 flat_grads=flat_grads, ref_chunk_loss=ref_chunk_loss,
                                 ref_position_loss=ref_position_loss,
                                 ref_recognition_loss=ref_recognition_loss, rng=rng)
