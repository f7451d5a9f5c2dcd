"""evaluate / generalization_depth against brute-force loops over members, strings and steps;
losses against their formulas; TrainResult as plain data."""

import json
import math

import numpy as np
import pytest
import torch

from dynrec import grammars, models, training
from dynrec.training.losses import prediction_losses, recognition_losses


def _trained_net(task, ensemble=6, hidden=3, epochs=3, seed=0):
    net = models.build("srn", task.n_in, hidden, task.n_out, ensemble=ensemble, seed=seed)
    training.BPTT(lr=0.3, momentum=0.5, epochs=epochs, strings_per_epoch=20).fit(net, task, seed=seed)
    return net


def _brute_prediction(net, task, strings, criterion):
    """Per member: accuracy, string accuracy, mean CE loss, by explicit loops."""
    E = net.ensemble
    right = np.zeros(E)
    counted = np.zeros(E)
    ok = np.ones((E, len(strings)), dtype=bool)
    loss = np.zeros(E)
    for j, s in enumerate(strings):
        b = task.encode([s])
        with torch.no_grad():
            logits, _ = net(b.inputs)
        for e in range(E):
            for t in range(int(b.lengths[0])):
                z = logits[e, 0, t].double()
                target = int(b.targets[0, t])
                loss[e] += float(torch.logsumexp(z, 0) - z[target]) / len(strings)
                if criterion == "argmax":
                    if not b.deterministic[0, t]:
                        continue
                    good = int(z.argmax()) == target
                else:
                    on = {o for o in range(z.numel()) if z[o] > 0}
                    good = on == {o for o in range(z.numel()) if b.legal[0, t, o] > 0.5}
                counted[e] += 1
                right[e] += good
                ok[e, j] &= good
    return right / counted, ok.mean(1), loss, ok


@pytest.mark.parametrize("criterion", ["argmax", "threshold"])
def test_evaluate_prediction_matches_brute_force(anbn_markers, criterion):
    net = _trained_net(anbn_markers)
    strings = [grammars.get("anbn").member(n) for n in (1, 2, 3, 5, 7)]
    m = training.evaluate(net, anbn_markers, strings, criterion=criterion, batch_size=2)
    acc, sacc, loss, _ = _brute_prediction(net, anbn_markers, strings, criterion)
    np.testing.assert_allclose(m["accuracy"], acc, rtol=1e-6)
    np.testing.assert_allclose(m["string_accuracy"], sacc)
    np.testing.assert_allclose(m["loss"], loss, rtol=1e-5)
    assert m["accuracy"].shape == (net.ensemble,)


def test_evaluate_recognition_matches_brute_force(parity_recognition):
    net = models.build("srn", 2, 3, 1, ensemble=4, seed=3)
    strings = ["", "1", "0", "11", "101", "0110", "1111"]
    m = training.evaluate(net, parity_recognition, strings, loss="bce")
    lang = grammars.get("parity")
    expect = np.zeros(4)
    loss = np.zeros(4)
    for s in strings:
        label = float(lang.accepts(s))
        with torch.no_grad():
            h = net.initial_state(1)
            for c in s:
                x = torch.zeros(1, 2)
                x[0, lang.alphabet.index(c)] = 1
                h = net.step(h, x)
            z = net.readout(h)[:, 0, 0].double()
        expect += ((z > 0).numpy() == bool(label))
        p = torch.sigmoid(z)
        loss += (-(label * torch.log(p) + (1 - label) * torch.log(1 - p))).numpy()
    np.testing.assert_allclose(m["accuracy"], expect / len(strings))
    np.testing.assert_allclose(m["recognition_accuracy"], expect / len(strings))
    np.testing.assert_allclose(m["loss"], loss / len(strings), rtol=1e-5)


def test_evaluate_per_member_strings(anbn_markers):
    net = _trained_net(anbn_markers, ensemble=2)
    a, b = ["ab", "aabb"], ["aaabbb", "ab"]
    m = training.evaluate(net, anbn_markers, [a, b])
    ma = training.evaluate(net, anbn_markers, a)
    mb = training.evaluate(net, anbn_markers, b)
    np.testing.assert_allclose(m["loss"], [ma["loss"][0], mb["loss"][1]], rtol=1e-6)
    with pytest.raises(ValueError, match="one list per member"):
        training.evaluate(net, anbn_markers, [a, b, a])


def test_generalization_depth_counting_matches_brute_force(anbn_markers):
    net = _trained_net(anbn_markers, ensemble=8, epochs=4)
    lang = grammars.get("anbn")
    depth = training.generalization_depth(net, lang, n_max=12)
    strings = [lang.member(n) for n in range(1, 13)]
    _, _, _, ok = _brute_prediction(net, anbn_markers, strings, "argmax")
    expect = [next((n for n in range(12) if not ok[e, n]), 12) for e in range(8)]
    assert depth.tolist() == expect
    assert depth.max() > 0  # a non-trivial case


def test_generalization_depth_stream_scores_the_next_string_start():
    """In a stream, a^n b^n is right only if the 'a' after the last b is predicted."""
    task = grammars.PredictionTask(grammars.get("anbn"), stream=True, n_range=(1, 3))
    net = models.build("srn", 2, 2, 2, ensemble=1, seed=0)
    # an 'always predict b after b, a after a' network: counts nothing
    from dynrec.models import SRN
    net = SRN.from_weights(U=torch.tensor([[4.0, -4.0]]), W=torch.zeros(1, 1), b=torch.zeros(1),
                           V=torch.tensor([[4.0], [-4.0]]), c=torch.zeros(2), dtype=torch.float32)
    depth = training.generalization_depth(net, task, n_max=5)
    assert depth.tolist() == [0]   # fails at n = 1: predicts b after the final b
    per_string = training.generalization_depth(
        net, grammars.PredictionTask(grammars.get("anbn")), n_max=5)
    assert per_string.tolist() == [5]  # without the stream context every b-after-b is right


def test_generalization_depth_regular_recognition():
    lang = grammars.get("parity")
    task = grammars.RecognitionTask(lang, length_range=(0, 6))
    net = models.build("srn", 2, 3, 1, ensemble=5, seed=7)
    training.BPTT(loss="bce", optimizer="adam", lr=0.05, batch_size=8, epochs=3,
                  strings_per_epoch=40).fit(net, task)
    depth = training.generalization_depth(net, task, n_max=5)
    for e in range(5):
        expect = 5
        for L in range(1, 6):
            strings = ["".join(t) for t in __import__("itertools").product("01", repeat=L)]
            if L == 1:
                strings = [""] + strings  # the empty string is scored with level 1
            m = training.evaluate(net.member(e), task, strings)
            if m["accuracy"][0] < 1:
                expect = L - 1
                break
        assert depth[e] == expect


def test_losses_match_formulas():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 4, 3, generator=g, dtype=torch.float64)
    targets = torch.randint(0, 3, (1, 3, 4), generator=g)
    legal = (torch.rand(1, 3, 4, 3, generator=g) > 0.5).double()
    mask = torch.rand(1, 3, 4, generator=g) > 0.3
    for loss in ("ce", "sse", "bce"):
        for act in ("identity", "sigmoid", "tanh"):
            got = prediction_losses(logits, targets, legal, mask, loss, act)
            for e, b, t in np.ndindex(2, 3, 4):
                z = logits[e, b, t]
                if not mask[0, b, t]:
                    assert got[e, b, t] == 0
                    continue
                if loss == "ce":
                    want = -torch.log_softmax(z, 0)[targets[0, b, t]]
                elif loss == "sse":
                    y = torch.tanh(z) if act == "tanh" else torch.sigmoid(z)
                    tt = torch.nn.functional.one_hot(targets[0, b, t], 3).double()
                    tt = 2 * tt - 1 if act == "tanh" else tt
                    want = 0.5 * ((y - tt) ** 2).sum()
                else:
                    p = (torch.tanh(z) + 1) / 2 if act == "tanh" else torch.sigmoid(z)
                    lg = legal[0, b, t]
                    want = -(lg * torch.log(p) + (1 - lg) * torch.log(1 - p)).sum()
                assert float(got[e, b, t]) == pytest.approx(float(want), rel=1e-9)
    final = torch.randn(2, 5, 2, generator=g, dtype=torch.float64)
    labels = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0]], dtype=torch.float64)
    got = recognition_losses(final, labels, "ce", "identity")
    want = -torch.log_softmax(final, -1).gather(-1, labels.long().expand(2, 5)[..., None])[..., 0]
    torch.testing.assert_close(got, want)


def test_train_result_round_trip(tmp_path, anbn_markers):
    net = models.build("srn", 3, 2, 3, ensemble=3, seed=0)
    res = training.BPTT(lr=[0.1, 1e37, 0.1], epochs=2, strings_per_epoch=3).fit(net, anbn_markers)
    path = res.save(tmp_path / "r.json")
    text = path.read_text()
    json.loads(text)  # strict JSON (no NaN tokens)
    back = training.TrainResult.load(path)
    assert back == res
    frame = back.to_frame()
    assert list(frame["member"].unique()) == [0, 1, 2]
    assert len(frame) == sum(len(h["epoch"]) for h in res.history)
    summary = back.to_frame("summary")
    assert summary["diverged"].tolist() == res.diverged
    assert "final_accuracy" in summary
    assert "3 members" in res.summary()
    with pytest.raises(ValueError, match="unknown TrainResult fields"):
        training.TrainResult.from_dict({**res.to_dict(), "extra": 1})


def test_train_result_checks_lengths_and_plainness():
    ok = dict(method="bptt", config={}, member_seeds=[0], history=[{"loss": [float("nan"), 1.0]}],
              converged=[np.bool_(True)], epochs_to_criterion=[None], strings_seen=[np.int64(3)],
              diverged=[False], final=[{"accuracy": np.float32(0.5)}])
    r = training.TrainResult(**ok)
    assert r.history[0]["loss"][0] is None and r.converged == [True]
    assert type(r.strings_seen[0]) is int and math.isclose(r.final[0]["accuracy"], 0.5)
    with pytest.raises(ValueError, match="entries for 1 members"):
        training.TrainResult(**{**ok, "diverged": [False, True]})
    with pytest.raises(ValueError, match="cannot store"):
        training.TrainResult(**{**ok, "config": {"x": object()}})


def test_recognition_depth_scores_the_empty_string(reference_dir):
    """The published Tomita-1 network started at h0 = (0, 0) rejects the empty string and is
    otherwise exact (published_weights.json): its depth on Tomita 1 (= 1*, empty string
    included) must be 0, not the largest level."""
    import json

    from dynrec import grammars, models, training

    pub = json.loads((reference_dir / "published_weights.json").read_text())["tomita1_dynamical_recognizer"]
    net = models.SecondOrder.from_weights(W=pub["W"], P=pub["P"], h0=[0.0, 0.0])
    lang = grammars.get("tomita1")
    task = grammars.RecognitionTask(lang, length_range=(0, 6))
    wrong = [s for s in [""] + [a + b for a in ("", "0", "1") for b in ("0", "1", "11")]
             if training.evaluate(net, task, [s])["recognition_accuracy"][0] < 1]
    assert wrong == [""]  # the construction is what the test claims
    assert training.generalization_depth(net, task, 6).tolist() == [0]
    started_right = models.SecondOrder.from_weights(W=pub["W"], P=pub["P"], h0=pub["h0"])
    assert training.generalization_depth(started_right, task, 6).tolist() == [6]
    assert training.depth_strings(lang, 2, "recognition")[0] == ["", "0", "1"]


def test_is_argmax_matches_argmax_with_ties_and_undefined_targets():
    from dynrec.training.metrics import is_argmax

    g = torch.Generator().manual_seed(8)
    for _ in range(5):
        base = torch.randint(-2, 3, (7, 4, 3, 9), generator=g).to(torch.float32)  # many exact ties
        logits = base.permute(3, 1, 0, 2)                                          # [E,B,T,O] view
        targets = torch.randint(-1, 3, (4, 7), generator=g)                        # -1: no target
        want = (logits.argmax(-1) == targets) & (targets >= 0)
        assert torch.equal(is_argmax(logits, targets), want)
