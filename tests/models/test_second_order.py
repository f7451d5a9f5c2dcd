"""Second-order network against a direct transcription of the seed formula, and the
published 2-unit Tomita-1 recognizer (COMP9444 lecture, ../shared/reference/published_weights.json)."""

import itertools
import json

import numpy as np
import pytest
import torch

from dynrec import models


def _random_weights(rng, I=3, H=4, O=2):
    return rng.uniform(-1.5, 1.5, (I, H, H + 1)), rng.uniform(-1, 1, (O, H + 1)), rng.uniform(-1, 1, H)


def test_one_hot_inputs_match_seed_formula(ref):
    rng = np.random.default_rng(0)
    W, P, h0 = _random_weights(rng)
    net = models.SecondOrder.from_weights(W=list(W), P=P, h0=h0)
    symbols = rng.integers(0, 3, size=(5, 8))
    x = np.eye(3)[symbols]  # [B,T,I] one-hot
    logits, states = net(torch.as_tensor(x))
    for b in range(5):
        hs, ys = ref.second_order(W, P, h0, x[b])
        np.testing.assert_allclose(states[0, b].detach().numpy(), hs, atol=1e-12, rtol=0)
        np.testing.assert_allclose(logits[0, b].detach().numpy(), ys, atol=1e-12, rtol=0)


def test_non_one_hot_inputs_mix_the_matrices(ref):
    """Giles et al. 1992's tensor form: the input weights the per-symbol matrices (bias column included)."""
    rng = np.random.default_rng(1)
    W, P, h0 = _random_weights(rng)
    net = models.SecondOrder.from_weights(W=W, P=P, h0=h0, activation="sigmoid")
    x = rng.uniform(-1, 1, (3, 5, 3))
    logits, states = net(torch.as_tensor(x))
    for b in range(3):
        hs, ys = ref.second_order(W, P, h0, x[b], act="sigmoid")
        np.testing.assert_allclose(states[0, b].detach().numpy(), hs, atol=1e-12, rtol=0)
        np.testing.assert_allclose(logits[0, b].detach().numpy(), ys, atol=1e-12, rtol=0)


def test_single_output_P_vector_and_ensemble_shapes():
    rng = np.random.default_rng(2)
    W, P, h0 = _random_weights(rng, O=1)
    net = models.SecondOrder.from_weights(W=W, P=P[0], h0=h0)
    assert (net.ensemble, net.n_in, net.n_hidden, net.n_out) == (1, 3, 4, 1)
    assert net.output_activation == "tanh" and net.dtype == torch.float64
    ens = models.SecondOrder.from_weights(W=np.stack([W, 2 * W]), P=np.stack([P[0], P[0]]), h0=np.stack([h0, h0]))
    assert ens.ensemble == 2 and ens.n_out == 1
    np.testing.assert_array_equal(ens.w[1].detach().numpy(), 2 * W)
    with pytest.raises(ValueError, match=r"W has shape \(3, 4, 4\)"):
        models.SecondOrder.from_weights(W=W[..., :4], P=P)


def _tomita1_net(reference_dir, h0):
    data = json.loads((reference_dir / "published_weights.json").read_text())["tomita1_dynamical_recognizer"]
    return models.SecondOrder.from_weights(W=data["W"], P=data["P"], h0=data["h0"] if h0 is None else h0,
                                           alphabet=data["symbols"]), data


def _accepts(net, strings):
    """Accept when z = tanh(readout) > 0 after the last symbol (readout of h0 for the empty string)."""
    lengths = torch.tensor([len(s) for s in strings])
    T = int(lengths.max())
    x = torch.zeros(len(strings), T, 2, dtype=torch.float64)
    for b, s in enumerate(strings):
        for t, ch in enumerate(s):
            x[b, t, net.alphabet.index(ch)] = 1.0
    logits, states = net(x, lengths=lengths)
    z = torch.where(lengths[:, None] > 0, net.squash(logits[0, :, -1]),
                    net.squash(net.readout(net.initial_state(len(strings))))[0])
    return (z[:, 0] > 0).tolist()


def test_published_tomita1_recognizer_accepts_exactly_1star(reference_dir):
    net, data = _tomita1_net(reference_dir, None)
    assert data["h0"] == [0.5, 0.5]
    strings = ["".join(p) for n in range(11) for p in itertools.product("01", repeat=n)]
    assert len(strings) == 2 ** 11 - 1
    got = _accepts(net, strings)
    want = [set(s) <= {"1"} for s in strings]
    wrong = [s for s, g, w in zip(strings, got, want) if g != w]
    assert not wrong, f"misclassified: {wrong[:10]}"


def test_published_tomita1_from_zero_state_rejects_empty_string(reference_dir):
    """The file's note: from h0 = (0, 0) it rejects the empty string and is otherwise exact."""
    net, _ = _tomita1_net(reference_dir, [0.0, 0.0])
    strings = ["".join(p) for n in range(9) for p in itertools.product("01", repeat=n)]
    got = _accepts(net, strings)
    want = [set(s) <= {"1"} and s != "" for s in strings]
    assert got == want
