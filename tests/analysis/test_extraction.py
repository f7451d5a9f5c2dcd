"""Automaton extraction: the published Tomita-1 network and a hand-built DFA-emulating network."""

import numpy as np
import pytest

from dynrec import analysis, grammars, models
from dynrec.analysis import DFA


def dfa_network(d: DFA, H: float = 8.0):
    """A second-order tanh network whose states are ±1 one-hot codes of d's states (Omlin & Giles 1996).

    Unit j turns on after symbol s iff the previous state k has δ(k, s) = j:
    W_s[j, k] = H·[δ(k,s)=j], bias H·(n_j - 1) with n_j = #{k: δ(k,s)=j} (in the
    ±1 code, Σ_k W_s[j,k] x_k = 2H[δ(c,s)=j] - H n_j, so the sum is ±H). Readout P_j = [j accepting],
    P_0 = A - 1 gives +1 in accepting states and -1 elsewhere.
    """
    n, k = d.n_states, len(d.alphabet)
    W = np.zeros((k, n, n + 1))
    for s in range(k):
        for q in range(n):
            W[s, d.transitions[q, s], 1 + q] = H
        counts = np.bincount(d.transitions[:, s], minlength=n)
        W[s, :, 0] = H * (counts - 1)
    P = np.concatenate([[d.accepting.sum() - 1.0], d.accepting.astype(float)])
    h0 = -np.ones(n)
    h0[d.start] = 1.0
    return models.SecondOrder.from_weights(W=W, P=P, h0=h0, alphabet=d.alphabet)


@pytest.mark.parametrize("method", ["kmeans", "grid", "lstar"])
def test_tomita1_published_network_extracts_one_star(tomita1_net, method):
    net, _ = tomita1_net
    lang = grammars.get("tomita1")
    dfa = analysis.extract_dfa(net, grammars.RecognitionTask(lang), method=method, max_len=8)
    assert dfa.n_states == 2 and dfa == DFA.from_dict(lang.minimal_dfa())
    res = dfa.compare(lang, 10)
    assert res["equivalent"] and res["accuracy"] == 1.0 and dfa.info["fidelity"] == 1.0


@pytest.mark.parametrize("name", ["tomita4", "tomita7", "parity"])
def test_dfa_emulating_network_extracts_its_source(name):
    source = DFA.from_dict(grammars.get(name).minimal_dfa())
    net = dfa_network(source)
    for s in ["", "0", "1", "0110100", "000", "1011"]:  # the construction really emulates the DFA
        logits, _ = net(np.eye(2)[[int(c) for c in s]][None] if s else np.zeros((1, 0, 2)))
        if s:
            assert (logits[0, 0, -1, 0].item() > 0) == source.accepts(s)
    for method, kw in [("kmeans", {}), ("grid", {"q": 2}), ("lstar", {})]:
        dfa = analysis.extract_dfa(net, None, method=method, max_len=7, **kw)
        assert dfa == source, (method, dfa)
    raw = analysis.extract_dfa(net, None, "grid", q=2, max_len=6, minimise=False)
    assert raw.n_states >= source.n_states and raw.minimise() == source


def test_extraction_errors(tomita1_net):
    net, _ = tomita1_net
    with pytest.raises(ValueError, match="method"):
        analysis.extract_dfa(net, None, method="spectral")
    with pytest.raises(ValueError, match="recognition"):
        analysis.extract_dfa(net, grammars.PredictionTask(grammars.get("anbn")))
    with pytest.raises(ValueError, match="member"):
        analysis.extract_dfa(net, None, member=[0])
