"""The trainer's compiled shortcuts against the paths they replace.

Elman's one-step training through the compiled kernel (training/numba_elman.py) against the
torch path (the same ``BPTT.fit`` inside ``models.fast.disabled()``): weights, losses,
divergence, per variant of loss, activation and optimiser setting.  And the padded steps
the compiled networks skip when BPTT gives them the rows' lengths."""

import pytest
import torch

from dynrec import grammars, models, training
from dynrec.models import fast
from dynrec.training import numba_elman


def _fit(net, task, trainer, strings=None):
    return trainer.fit(net, task, seed=5, strings=strings)


def _both(make_net, task, trainer, strings=None, monkeypatch=None):
    calls = []
    real = numba_elman.elman_sgd_kernel
    monkeypatch.setattr(numba_elman, "elman_sgd_kernel", lambda *a: calls.append(1) or real(*a))
    fast_net, slow_net = make_net(), make_net()
    got = _fit(fast_net, task, trainer, strings)
    n_calls = len(calls)
    with fast.disabled():
        want = _fit(slow_net, task, trainer, strings)
    assert len(calls) == n_calls, "the torch path must not call the kernel"
    return n_calls, fast_net, got, slow_net, want


def _assert_same(fast_net, got, slow_net, want, tol):
    for (name, a), (_, b) in zip(fast_net.named_parameters(), slow_net.named_parameters()):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol, msg=name)
    assert got.diverged == want.diverged
    for hg, hw in zip(got.history, want.history):
        assert hg["epoch"] == hw["epoch"]
        for key in ("train_loss", "loss", "accuracy"):
            a = torch.tensor([float("nan") if v is None else v for v in hg[key]], dtype=torch.float64)
            b = torch.tensor([float("nan") if v is None else v for v in hw[key]], dtype=torch.float64)
            torch.testing.assert_close(a, b, rtol=tol, atol=tol, equal_nan=True, msg=key)


@pytest.mark.parametrize("loss,out_act,act", [("sse", "sigmoid", "sigmoid"), ("sse", "tanh", "tanh"),
                                              ("sse", "identity", "relu"), ("ce", "identity", "tanh")])
@pytest.mark.parametrize("opt", [{}, {"momentum": 0.6, "weight_decay": 1e-3}, {"clip": 0.05}])
def test_stream_matches_the_torch_path(loss, out_act, act, opt, monkeypatch):
    task = grammars.PredictionTask(grammars.get("temporal_xor"), stream=True)

    def make():
        return models.build("srn", task.n_in, 3, task.n_out, ensemble=4, seed=2, dtype=torch.float64,
                            activation=act, output_activation=out_act, h0=0.5, init_range=1.0)

    trainer = training.BPTT(mode="elman", loss=loss, optimizer="sgd", lr=[0.2, 0.1, 0.05, 0.02],
                            epochs=3, strings_per_epoch=20, **opt)
    calls, *pair = _both(make, task, trainer, monkeypatch=monkeypatch)
    assert calls == 3                      # one call per epoch (one stream row per member)
    # (learning rates small enough that training is not chaotic: at lr 0.5 the two summation
    # orders' 1e-16 differences grow 1000-fold per epoch, in either implementation)
    _assert_same(*pair, tol=1e-9)


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 2e-4)])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_minibatches_of_padded_strings_match(dtype, tol, reduction, monkeypatch):
    """Several strings per update (rows padded to the longest), per-member data, both dtypes."""
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)

    def make():
        return models.build("srn", 3, 4, 3, ensemble=3, seed=1, dtype=dtype, activation="tanh")

    trainer = training.BPTT(mode="elman", loss="ce", optimizer="sgd", lr=0.1, momentum=0.3,
                            batch_size=4, epochs=2, strings_per_epoch=8, reduction=reduction)
    calls, *pair = _both(make, task, trainer, monkeypatch=monkeypatch)
    assert calls == 4
    _assert_same(*pair, tol=tol)


def test_divergence_freezes_the_same_members(monkeypatch):
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)

    def make():
        return models.build("srn", 3, 3, 3, ensemble=3, seed=0, dtype=torch.float64, activation="relu")

    trainer = training.BPTT(mode="elman", loss="ce", optimizer="sgd", lr=[0.05, 1e200, 1e300],
                            batch_size=2, epochs=2, strings_per_epoch=4)
    calls, *pair = _both(make, task, trainer, ["ab", "aabb", "aaabbb", "ab"], monkeypatch=monkeypatch)
    assert calls > 0
    got = pair[1]
    assert got.diverged[0] is False and any(got.diverged[1:])
    _assert_same(*pair, tol=1e-10)


@pytest.mark.parametrize("case", ["adam", "bce", "learned_h0", "leaky"])
def test_other_settings_take_the_torch_path(case, monkeypatch):
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True)
    options = {"learned_h0": {"h0": "learned"}, "leaky": {"leak": 0.5}}.get(case, {})
    net = models.build("srn", 3, 2, 3, ensemble=2, seed=0, dtype=torch.float64, **options)
    trainer = training.BPTT(mode="elman", loss="bce" if case == "bce" else "sse",
                            optimizer="adam" if case == "adam" else "sgd", lr=0.1, epochs=1,
                            strings_per_epoch=3)
    monkeypatch.setattr(numba_elman, "elman_sgd_kernel", lambda *a: pytest.fail("kernel called"))
    result = trainer.fit(net, task, seed=0)
    assert len(result.history[0]["epoch"]) == 1


@pytest.mark.parametrize("mode,k", [("full", None), ("truncated", 3)])
@pytest.mark.parametrize("kind,task_name", [("srn", "anbn"), ("lstm", "anbn"), ("gru", "anbn"),
                                            ("srn", "parity")])
def test_skipping_padded_steps_changes_no_number(mode, k, kind, task_name, monkeypatch):
    """BPTT hands the compiled networks the rows' lengths (training.unroll.chunk_lengths), so
    padded steps hold the state instead of running: the weights and every metric are those of
    the run without lengths."""
    from dynrec.training import bptt, metrics, unroll

    lang = grammars.get(task_name)
    if task_name == "anbn":
        task, strings = grammars.PredictionTask(lang, markers=True), ["ab", "aaabbb", "aabb", "aaaabbbb"]
    else:
        task, strings = grammars.RecognitionTask(lang), ["1", "0110", "11", "10101", "0"]
    trainer = training.BPTT(mode=mode, k=k, loss="ce", optimizer="adam", lr=0.05,
                            batch_size=len(strings), epochs=4)
    runs, given = [], []
    real = unroll.chunk_lengths

    def spy(*a):
        out = real(*a)
        given.append(out is not None)
        return out

    for patched in (spy, lambda *a: None):
        monkeypatch.setattr(bptt, "chunk_lengths", patched)
        monkeypatch.setattr(metrics, "chunk_lengths", patched)
        net = models.build(kind, task.n_in, 3, task.n_out, ensemble=3, seed=4, dtype=torch.float64)
        runs.append((net, trainer.fit(net, task, seed=0, strings=strings)))
    assert any(given), "no chunk was run with lengths"
    (a, ra), (b, rb) = runs
    _assert_same(a, ra, b, rb, tol=1e-10)
