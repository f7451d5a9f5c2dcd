"""Bad input gives a ValueError naming the bad value and what is valid."""

import math

import numpy as np
import pytest
import torch

from dynrec import models


def test_wrong_input_size_names_shapes():
    net = models.build("srn", 3, 2, 1, ensemble=4)
    with pytest.raises(ValueError, match=r"input has shape \(2, 5, 2\).*n_in = 3"):
        net(torch.zeros(2, 5, 2))
    with pytest.raises(ValueError, match=r"ensemble size 3 but the network has E = 4"):
        net(torch.zeros(3, 2, 5, 3))
    with pytest.raises(ValueError, match=r"state h has shape \(4, 2, 3\); expected \[E,B,S\] = \(4, 2, 2\)"):
        net.step(torch.zeros(4, 2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"state has batch 2"):
        net.step(torch.zeros(4, 2, 2), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"lengths must be 2 ints in \[0, T=5\]"):
        net(torch.zeros(2, 5, 3), lengths=[1, 6])


def test_non_finite_weights_rejected():
    U = np.ones((2, 3))
    U[0, 1] = math.nan
    with pytest.raises(ValueError, match=r"U \(w_ih\) \(shape \(2, 3\)\) holds non-finite"):
        models.SRN.from_weights(U=U, W=np.eye(2), V=np.ones((1, 2)))
    net = models.build("gru", 2, 2, 1, ensemble=2)
    v = net.to_flat()
    v[1, 0] = math.inf
    with pytest.raises(ValueError, match="non-finite"):
        net.load_flat(v)
    with pytest.raises(ValueError, match=r"load_flat expects shape \(2, 33\).*got \(3, 33\)"):
        net.load_flat(torch.zeros(3, 33))


def test_from_weights_shape_mismatch_and_ensemble_mismatch():
    with pytest.raises(ValueError, match=r"W \(w_hh\) has shape \(3, 3\), expected \(2, 2\)"):
        models.SRN.from_weights(U=np.ones((2, 3)), W=np.eye(3), V=np.ones((1, 2)))
    with pytest.raises(ValueError, match="same ensemble size"):
        models.SRN.from_weights(U=np.ones((4, 2, 3)), W=np.ones((3, 2, 2)), V=np.ones((4, 1, 2)))


def test_registry_options_and_sizes():
    with pytest.raises(ValueError, match="unknown model kind 'rnn'; valid kinds: srn, jordan"):
        models.build("rnn", 2, 2, 2)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['peephole'\] for model kind 'srn'; valid"):
        models.build("srn", 2, 2, 2, peephole=True)
    with pytest.raises(ValueError, match=r"activation='softplus'.*valid: \['tanh', 'sigmoid', 'relu'\]"):
        models.build("srn", 2, 2, 2, activation="softplus")
    with pytest.raises(ValueError, match="ensemble must be an int >= 1, got 0"):
        models.build("lstm", 2, 2, 2, ensemble=0)
    with pytest.raises(ValueError, match="dtype must be torch.float32 or torch.float64"):
        models.build("lstm", 2, 2, 2, dtype=torch.float16)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*63\), got -1"):
        models.build("gru", 2, 2, 2, seed=-1)
    with pytest.raises(ValueError, match="h0 must be one of"):
        models.build("gru", 2, 2, 2, h0="random")
    with pytest.raises(ValueError, match="alphabet must be 2 one-character strings"):
        models.build("gru", 2, 2, 2, alphabet=("a", "b", "c"))
    with pytest.raises(ValueError, match="member index must be an int in \\[0, 2\\)"):
        models.build("gru", 2, 2, 2, ensemble=2).member(2)
    with pytest.raises(ValueError, match="unknown model kind"):
        models.describe("transformer")
    assert set(models.names()) == {"srn", "jordan", "second_order", "lstm", "gru", "window"}
    assert all("\n" not in models.describe(k) for k in models.names())
