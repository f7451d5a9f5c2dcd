"""BPTT gradients of every variant against finite differences of an independent loop-based loss."""

import pytest
import torch

from dynrec import training
from dynrec.training.data import shared
from dynrec.training.unroll import chunk_bounds


STRINGS = ["aabb", "ab", "aaabbb"]
REC_STRINGS = ["", "1", "0110", "10"]


def _check_variant(ref, net, task, strings, mode, k, loss, reduction="sum"):
    data = shared(task, strings).to(torch.float64, "cpu")
    batch = task.encode(strings)
    chunks = training.chunk_gradients(net, data, mode, k, loss, net.output_activation, reduction)
    assert [(c[0], c[1]) for c in chunks] == chunk_bounds(data.steps, mode, k)
    for t0, t1, h_start, member_loss, grads in chunks:
        def fn():
            return ref.ref_chunk_loss(net, batch, t0, t1, h_start, loss, task.kind, reduction)

        with torch.no_grad():
            torch.testing.assert_close(member_loss, fn(), rtol=1e-10, atol=1e-12)
        fd = ref.finite_difference(fn, net)
        analytic = ref.flat_grads(grads, net.ensemble)
        torch.testing.assert_close(analytic, fd, rtol=1e-5, atol=1e-7)
    return chunks


@pytest.mark.parametrize("mode,k", [("full", None), ("truncated", 2), ("elman", None)])
@pytest.mark.parametrize("loss", ["ce", "sse", "bce"])
def test_srn_prediction_gradients_match_finite_differences(ref, anbn_markers, mode, k, loss):
    net = ref.build("srn", anbn_markers, hidden=2, seed=3)
    chunks = _check_variant(ref, net, anbn_markers, STRINGS, mode, k, loss)
    # the truncated gradient really is cut: some chunk starts from a non-initial state
    if mode != "full":
        assert len(chunks) > 1 and not torch.equal(chunks[1][2], chunks[0][2])


@pytest.mark.parametrize("kind,options", [("lstm", {}), ("gru", {}), ("second_order", {}),
                                          ("srn", {"h0": "learned"})])
def test_other_families_full_and_truncated(ref, anbn_markers, kind, options):
    net = ref.build(kind, anbn_markers, hidden=2, seed=1, **options)
    _check_variant(ref, net, anbn_markers, STRINGS[:2], "full", None, "ce")
    _check_variant(ref, net, anbn_markers, STRINGS[:2], "truncated", 3, "sse")


@pytest.mark.parametrize("mode,k", [("full", None), ("truncated", 2)])
@pytest.mark.parametrize("loss", ["ce", "sse"])
def test_recognition_gradients(ref, parity_recognition, mode, k, loss):
    net = ref.build("srn", parity_recognition, hidden=2, seed=5)
    _check_variant(ref, net, parity_recognition, REC_STRINGS, mode, k, loss)


def test_second_order_recognition_uses_tanh_targets(ref, parity_recognition):
    net = ref.build("second_order", parity_recognition, hidden=2, seed=2)
    assert net.output_activation == "tanh"
    _check_variant(ref, net, parity_recognition, REC_STRINGS, "full", None, "sse")


def test_mean_reduction(ref, anbn_markers):
    net = ref.build("srn", anbn_markers, hidden=2, seed=4)
    _check_variant(ref, net, anbn_markers, STRINGS, "truncated", 4, "ce", reduction="mean")


def test_truncation_at_least_length_is_full_bptt(ref, anbn_markers):
    net = ref.build("srn", anbn_markers, hidden=3, seed=7)
    data = shared(anbn_markers, STRINGS).to(torch.float64, "cpu")
    full = training.chunk_gradients(net, data, "full", None, "ce", net.output_activation)
    for k in (data.steps, data.steps + 5):
        trunc = training.chunk_gradients(net, data, "truncated", k, "ce", net.output_activation)
        assert len(trunc) == 1
        for a, b in zip(full[0][4], trunc[0][4]):
            assert torch.equal(a, b)


def test_truncated_chunk_gradients_sum_differs_from_full(ref, anbn_markers):
    """Truncation changes the gradient (otherwise the tests above could not tell the modes apart)."""
    net = ref.build("srn", anbn_markers, hidden=3, seed=7)
    data = shared(anbn_markers, STRINGS).to(torch.float64, "cpu")
    full = ref.flat_grads(training.chunk_gradients(net, data, "full", None, "ce", "identity")[0][4], 2)
    chunks = training.chunk_gradients(net, data, "truncated", 2, "ce", "identity")
    summed = sum(ref.flat_grads(c[4], 2) for c in chunks)
    losses = sum(c[3] for c in chunks)
    full_loss = training.chunk_gradients(net, data, "full", None, "ce", "identity")[0][3]
    torch.testing.assert_close(losses, full_loss)  # the losses add up to the full loss ...
    assert (summed - full).abs().max() > 1e-4      # ... the gradients do not


def test_elman_equals_truncated_k1_in_training(ref, anbn_markers):
    """Elman's one-step scheme (net.step, context copied) trains exactly like truncated k=1."""
    nets = [ref.build("srn", anbn_markers, hidden=3, ensemble=3, seed=11) for _ in range(2)]
    kw = dict(loss="sse", lr=0.2, momentum=0.5, epochs=2, strings_per_epoch=6)
    r1 = training.BPTT(mode="elman", **kw).fit(nets[0], anbn_markers, seed=2)
    r2 = training.BPTT(mode="truncated", k=1, **kw).fit(nets[1], anbn_markers, seed=2)
    torch.testing.assert_close(nets[0].to_flat(), nets[1].to_flat(), rtol=1e-12, atol=1e-12)
    assert r1.history[0]["train_loss"] == pytest.approx(r2.history[0]["train_loss"], rel=1e-12)
    assert not torch.equal(nets[0].to_flat(), ref.build("srn", anbn_markers, 3, 3, 11).to_flat())
