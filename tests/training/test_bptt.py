"""BPTT.fit: ensemble members train exactly as alone; freezing on divergence and on the
stopping criterion; minibatches; curricula; streams; argument checks."""

import numpy as np
import pytest
import torch

from dynrec import grammars, models, training


def _net(task, ensemble, seed, hidden=3, kind="srn", dtype=torch.float64, **options):
    return models.build(kind, task.n_in, hidden, task.n_out, ensemble=ensemble, seed=seed,
                        dtype=dtype, **options)


@pytest.mark.parametrize("kw,dtype,tol", [
    (dict(mode="full", optimizer="sgd", lr=0.3, momentum=0.9), torch.float64, 1e-10),
    (dict(mode="truncated", k=3, optimizer="adam", lr=0.05, clip=0.5, batch_size=3,
          weight_decay=1e-3), torch.float64, 1e-10),
    (dict(mode="elman", optimizer="sgd", lr=0.1), torch.float32, 1e-6),
])
def test_member_in_ensemble_equals_member_alone(anbn_markers, kw, dtype, tol):
    """Same numbers up to rounding (the ensemble pads to its longest string and batches its
    matrix products, so float32 sums may round differently; float64 agrees to ~1e-15)."""
    seed = 123
    trainer = training.BPTT(loss="ce", epochs=2, strings_per_epoch=6, **kw)
    ens = _net(anbn_markers, 5, seed, dtype=dtype)
    res = trainer.fit(ens, anbn_markers, seed=seed)
    assert not torch.equal(ens.to_flat(), _net(anbn_markers, 5, seed, dtype=dtype).to_flat())
    for i in (0, 3):
        s = models.member_seed(seed, i)
        alone = _net(anbn_markers, 1, s, dtype=dtype)
        res_alone = trainer.fit(alone, anbn_markers, seed=s)
        torch.testing.assert_close(alone.to_flat()[0], ens.to_flat()[i], rtol=0, atol=tol)
        assert res_alone.member_seeds == [res.member_seeds[i]]
        np.testing.assert_allclose(res_alone.history[0]["train_loss"], res.history[i]["train_loss"],
                                   rtol=1e-5)


def test_one_minibatch_update_is_the_mean_gradient(ref, anbn_markers):
    strings = ["aabb", "ab", "aaabbb", "ab"]
    net = _net(anbn_markers, 2, 9)
    start = net.to_flat().clone()
    batch = anbn_markers.encode(strings)

    def fn():
        return ref.ref_chunk_loss(net, batch, 0, batch.inputs.shape[1], net.initial_state(4), "sse",
                                  "prediction")

    params = list(net.parameters())
    grads = torch.autograd.grad(fn().sum(), params)
    expected = start - 0.5 * ref.flat_grads(grads, 2)
    training.BPTT(loss="sse", lr=0.5, batch_size=4, epochs=1, shuffle=False).fit(
        net, anbn_markers, seed=0, strings=strings)
    torch.testing.assert_close(net.to_flat(), expected, rtol=1e-10, atol=1e-12)


def test_online_is_one_update_per_string(anbn_markers):
    """Online SGD over a fixed order equals applying the single-string updates one after another."""
    strings = ["ab", "aabb", "aaabbb"]
    net_a, net_b = _net(anbn_markers, 2, 4), _net(anbn_markers, 2, 4)
    training.BPTT(loss="ce", lr=0.2, epochs=1, shuffle=False).fit(net_a, anbn_markers, strings=strings)
    for s in strings:
        training.BPTT(loss="ce", lr=0.2, epochs=1).fit(net_b, anbn_markers, strings=[s])
    torch.testing.assert_close(net_a.to_flat(), net_b.to_flat(), rtol=1e-12, atol=1e-12)


def test_diverging_member_is_frozen_and_marked(anbn_markers):
    lr = [0.1, 1e37, 0.1]
    seed = 5
    runs = {}
    for epochs in (1, 3):
        net = _net(anbn_markers, 3, seed, dtype=torch.float32)
        res = training.BPTT(loss="ce", lr=lr, momentum=0.5, epochs=epochs, strings_per_epoch=8).fit(
            net, anbn_markers, seed=seed)
        runs[epochs] = (net.to_flat(), res)
    flat1, res1 = runs[1]
    flat3, res3 = runs[3]
    assert res3.diverged == [False, True, False]
    assert torch.isfinite(flat3).all()
    assert torch.equal(flat1[1], flat3[1])            # frozen after diverging in epoch 1
    assert not torch.equal(flat1[0], flat3[0]) and not torch.equal(flat1[2], flat3[2])
    assert res3.strings_seen[1] < 8 <= res3.strings_seen[0] == 24
    assert len(res3.history[1]["epoch"]) == 1 and len(res3.history[0]["epoch"]) == 3
    # the others are not dragged: member 2 equals member 2 trained alone (lr 0.1)
    alone = _net(anbn_markers, 1, models.member_seed(seed, 2), dtype=torch.float32)
    training.BPTT(loss="ce", lr=0.1, momentum=0.5, epochs=3, strings_per_epoch=8).fit(
        alone, anbn_markers, seed=models.member_seed(seed, 2))
    torch.testing.assert_close(alone.to_flat()[0], flat3[2], rtol=1e-5, atol=1e-6)


def test_stopping_criterion_freezes_member(anbn_markers):
    def only_member0(metrics):
        return np.arange(len(metrics["loss"])) == 0

    flats = {}
    for epochs in (1, 3):
        net = _net(anbn_markers, 3, 1)
        res = training.BPTT(lr=0.1, momentum=0.9, epochs=epochs, strings_per_epoch=4,
                            stop=only_member0).fit(net, anbn_markers, seed=0)
        flats[epochs] = net.to_flat()
    assert res.converged == [True, False, False]
    assert res.epochs_to_criterion == [1, None, None]
    assert res.strings_seen == [4, 12, 12]
    assert torch.equal(flats[1][0], flats[3][0])
    assert not torch.equal(flats[1][1], flats[3][1])


def test_named_stopping_criterion_on_solved_training_set(anbn_markers):
    """'all_correct' holds once every string of the epoch is right: with a training set that a
    constant 'b-after-b' predictor gets right, a trained net converges and stops early."""
    net = _net(anbn_markers, 2, 0, hidden=4)
    res = training.BPTT(lr=0.5, momentum=0.9, epochs=200, stop="all_correct").fit(
        net, anbn_markers, seed=0, strings=["ab"])
    assert res.converged == [True, True]
    assert all(e is not None and e < 200 for e in res.epochs_to_criterion)
    m = training.evaluate(net, anbn_markers, ["ab"])
    assert (m["string_accuracy"] == 1).all()


def test_curriculum_by_epochs_and_by_criterion(anbn_markers):
    cur = training.Curriculum([["ab"], ["aabb"], ["aaabbb"]], advance="epochs", epochs=[1, 2, 1])
    net = _net(anbn_markers, 2, 0)
    res = training.BPTT(lr=0.1, epochs=5, strings_per_epoch=2).fit(net, anbn_markers)  # stage 0
    assert res.history[0]["stage"] == [0] * 5
    res = training.BPTT(lr=0.1, epochs=5, curriculum=cur).fit(net, anbn_markers, seed=0)
    assert res.history[0]["stage"] == [0, 1, 1, 2, 2]
    assert res.strings_seen == [5, 5]

    def member1(metrics):
        return np.array([False, True])

    cur = training.Curriculum([["ab"], ["aabb", "ab"], ["aaabbb"]], advance="criterion",
                              criterion=member1)
    res = training.BPTT(lr=0.1, epochs=4, curriculum=cur, stop=member1).fit(net, anbn_markers, seed=0)
    assert res.history[0]["stage"] == [0, 0, 0, 0]
    assert res.history[1]["stage"] == [0, 1, 2]
    assert res.converged == [False, True] and res.epochs_to_criterion == [None, 3]


def test_curriculum_n_range_stages_sample_the_right_strings():
    task = grammars.PredictionTask(grammars.get("anbn"), markers=True, n_range=(1, 10))
    cur = training.Curriculum.n_range(1, 5, step=2)
    assert [s["n_range"] for s in cur.stages] == [(1, 1), (1, 3), (1, 5)]
    stage = cur.stage_source(task, 1)
    assert stage.markers and stage.n_in == task.n_in
    strings = stage.sample(np.random.default_rng(0), 200)
    assert {len(s) // 2 for s in strings} == {1, 2, 3}


def test_stream_training_runs_and_counts_strings():
    task = grammars.PredictionTask(grammars.get("anbn"), stream=True, n_range=(1, 3))
    net = _net(task, 3, 2, dtype=torch.float32)
    before = net.to_flat()
    res = training.BPTT(mode="truncated", k=4, lr=0.1, epochs=2, strings_per_epoch=5).fit(net, task)
    assert res.strings_seen == [10, 10, 10]
    assert not torch.equal(before, net.to_flat())
    with pytest.raises(ValueError, match="batch_size must be None"):
        training.BPTT(mode="elman", batch_size=2).fit(net, task)


def test_recognition_training_reduces_loss(parity_recognition):
    net = _net(parity_recognition, 4, 0, hidden=4, dtype=torch.float32)
    res = training.BPTT(loss="bce", optimizer="adam", lr=0.05, batch_size=8, epochs=3,
                        strings_per_epoch=32).fit(net, parity_recognition, seed=0)
    first = [h["train_loss"][0] for h in res.history]
    last = [h["train_loss"][-1] for h in res.history]
    assert np.mean(last) < np.mean(first)
    assert set(res.final[0]) >= {"loss", "accuracy", "recognition_accuracy", "string_accuracy"}


@pytest.mark.parametrize("kw,match", [
    ({"mode": "rtrl"}, "mode must be one of"),
    ({"mode": "truncated"}, "k must be an integer"),
    ({"mode": "full", "k": 3}, "k applies only"),
    ({"loss": "mse"}, "loss must be one of"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"batch_size": 0}, "batch_size must be"),
    ({"epochs": 0}, "epochs must be"),
    ({"reduction": "max"}, "reduction must be"),
    ({"stop": "perfect"}, "criterion must be"),
    ({"criterion": "top2"}, "criterion must be one of"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        training.BPTT(**kw)


def test_bad_fit_arguments(anbn_markers):
    net = _net(anbn_markers, 2, 0)
    with pytest.raises(ValueError, match="one seed per member"):
        training.BPTT().fit(net, anbn_markers, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="must not be empty"):
        training.BPTT().fit(net, anbn_markers, strings=[])
    with pytest.raises(ValueError, match="not both"):
        training.BPTT(curriculum=training.Curriculum([["ab"]], epochs=1)).fit(
            net, anbn_markers, strings=["ab"])
