"""The sliding-window baseline (NetTalk): a hand-written feedforward computation on the last k
inputs, a pure shifting step, published-weights construction and checkpoints."""

import numpy as np
import pytest
import torch

from dynrec import models


def _x(B=3, T=6, I=3, seed=0):
    return torch.randn(B, T, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _feedforward(A, a, V, c, window, act):
    """y = V f(A w + a) + c, one window (numpy)."""
    f = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0)}[act]
    return V @ f(A @ window + a) + c


@pytest.mark.parametrize("k,act", [(1, "sigmoid"), (3, "tanh"), (8, "relu")])
def test_window_equals_hand_written_feedforward(k, act):
    I, T = 3, 6
    net = models.build("window", I, 5, 2, ensemble=2, seed=3, k=k, activation=act, dtype=torch.float64)
    assert net.state_size == k * I and net.k == k
    x = _x(I=I, T=T)
    logits, states = net(x)
    for e in range(2):
        A, a = net.w_wh[e].detach().numpy(), net.b_h[e].detach().numpy()
        V, c = net.w_ho[e].detach().numpy(), net.b_o[e].detach().numpy()
        for b in range(3):
            xs = x[b].numpy()
            for t in range(T):
                # the last k inputs, oldest first, zeros before the string
                window = np.concatenate([xs[s] if s >= 0 else np.zeros(I) for s in range(t - k + 1, t + 1)])
                np.testing.assert_array_equal(states[e, b, t].detach().numpy(), window)
                np.testing.assert_allclose(logits[e, b, t].detach().numpy(), _feedforward(A, a, V, c, window, act),
                                           atol=1e-12)


def test_step_shifts_and_strings_with_equal_suffix_are_indistinguishable():
    net = models.build("window", 2, 4, 1, ensemble=3, seed=1, k=2, dtype=torch.float64)
    h = torch.arange(3 * 1 * 4, dtype=torch.float64).reshape(3, 1, 4)
    nxt = net.step(h, torch.tensor([[7.0, 8.0]], dtype=torch.float64))
    assert nxt[:, 0].tolist() == [[2, 3, 7, 8], [6, 7, 7, 8], [10, 11, 7, 8]]
    eye = torch.eye(2, dtype=torch.float64)
    # "aab" and "bab" agree on their last k = 2 symbols: same output at the end, whatever came before
    s1 = torch.stack([eye[0], eye[0], eye[1]])[None]
    s2 = torch.stack([eye[1], eye[0], eye[1]])[None]
    assert torch.equal(net(s1)[0][:, 0, -1], net(s2)[0][:, 0, -1])
    assert not torch.equal(net(s1)[0][:, 0, 0], net(s2)[0][:, 0, 0])


def test_from_weights_h0_and_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    A, a, V, c = rng.normal(size=(4, 6)), rng.normal(size=4), rng.normal(size=(2, 4)), rng.normal(size=2)
    net = models.Window.from_weights(A=A, a=a, V=V, c=c, k=3, h0=np.full(6, 0.5), alphabet="ab")
    assert net.n_in == 2 and net.k == 3 and net.options["h0"] == "fixed" and net.dtype == torch.float64
    x = _x(B=1, T=1, I=2)
    window = np.concatenate([np.full(4, 0.5), x[0, 0].numpy()])
    np.testing.assert_allclose(net(x)[0][0, 0, 0].detach().numpy(), _feedforward(A, a, V, c, window, "sigmoid"), atol=1e-12)
    net.save(tmp_path / "w.safetensors")
    back = models.load(tmp_path / "w.safetensors")
    assert type(back) is models.Window and back.options == net.options and back.alphabet == ("a", "b")
    assert torch.equal(back(x)[0], net(x)[0])
    # a float h0 fills the whole initial window
    assert models.build("window", 2, 3, 1, k=2, h0=0.25).initial_state(1)[0, 0].tolist() == [0.25] * 4
    with pytest.raises(ValueError, match="last dimension must be k \\* n_in with k = 4"):
        models.Window.from_weights(A=A, V=V, k=4)
    with pytest.raises(ValueError, match="option k \\(window length\\) must be an int >= 1, got 0"):
        models.build("window", 2, 3, 1, k=0)


def test_window_trains_with_torch_optimiser():
    """Gradients reach every parameter through the readout (the step itself has none)."""
    net = models.build("window", 2, 3, 1, ensemble=2, seed=0, k=2)
    net(_x(I=2).float())[0].sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.count_nonzero(p.grad) > 0, name
