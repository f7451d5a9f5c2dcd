"""Every figure function on real small results: runs headless, files non-empty and deterministic,
content checked against the data drawn."""

import json

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from dynrec import plots
from dynrec.plots.state_space import EIGENVECTOR_GID, FIXED_POINT_GID, NUMBER_GID, TRAJECTORY_GID

from .conftest import STRING


def _offsets(ax, gid):
    return [np.asarray(c.get_offsets()) for c in ax.collections if c.get_gid() == gid]


def test_state_space_points_are_the_states(states, fixed_points, saved):
    ax = plots.state_space(states, STRING, fixed_points=fixed_points, h0=[0.2, 0.1])
    pts = _offsets(ax, TRAJECTORY_GID)
    assert len(pts) == 2  # one scatter per input symbol
    a_idx = [t for t, c in enumerate(STRING) if c == "a"]
    b_idx = [t for t, c in enumerate(STRING) if c == "b"]
    np.testing.assert_allclose(pts[0], states[a_idx])
    np.testing.assert_allclose(pts[1], states[b_idx])
    # one marker per fixed point found, at the fixed point
    fp = np.concatenate(_offsets(ax, FIXED_POINT_GID))
    want = np.concatenate([fixed_points["a"].states, fixed_points["b"].states])
    assert len(fp) == len(want) == 4
    np.testing.assert_allclose(fp, want)
    # numbered 1..T (plus 0 for h0)
    numbers = sorted(int(t.get_text()) for t in ax.texts if t.get_gid() == NUMBER_GID)
    assert numbers == list(range(len(STRING) + 1))
    # two arrows per eigenvector (both directions), two eigenvectors per point
    arrows = [t for t in ax.texts if t.get_gid() == EIGENVECTOR_GID]
    assert len(arrows) == 4 * 2 * 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["input a", "input b", "repelling", "saddle"]
    assert ax.get_xlabel() and ax.get_ylabel()
    saved(ax.figure, "state_space")


def test_state_space_of_analysis_trajectories(net, fixed_points):
    from dynrec.analysis.trajectories import trajectories

    tr = trajectories(net, [STRING, "ab"], member=0)
    ax = plots.state_space(tr, fixed_points=fixed_points)
    pts = np.concatenate(_offsets(ax, TRAJECTORY_GID))
    want = np.concatenate([tr.of(0)[1:][[t for t, c in enumerate(STRING) if c == s]] for s in "ab"]
                          + [tr.of(1)[1:][[t for t, c in enumerate("ab") if c == s]] for s in "ab"])
    assert sorted(map(tuple, pts)) == sorted(map(tuple, want))
    start = np.concatenate(_offsets(ax, "initial-state"))
    np.testing.assert_allclose(start, tr.of(0)[:1])


def test_state_space_arrow_length_is_scale_times_modulus(fixed_points):
    fp = fixed_points["b"]
    ax = plots.state_space(fixed_points={"b": fp}, arrow_scale=0.1)
    arrows = [t for t in ax.texts if t.get_gid() == EIGENVECTOR_GID]
    lengths = sorted(np.hypot(*(np.subtract(a.xy, a.xyann))) for a in arrows)
    want = sorted(np.repeat(0.1 * np.abs(fp.eigenvalues[0]), 2))
    np.testing.assert_allclose(lengths, want)
    # outward along the expanding direction: the tip is farther from h* than the tail
    big = int(np.argmax(np.abs(fp.eigenvalues[0])))
    v = np.real(fp.eigenvectors[0][:, big])
    for a in arrows:
        d_tail, d_tip = (np.linalg.norm(np.subtract(p, fp.states[0])) for p in (a.xyann, a.xy))
        along = abs(np.dot(np.subtract(a.xy, a.xyann), v)) / np.linalg.norm(np.subtract(a.xy, a.xyann))
        if along > 0.99:
            assert d_tip > d_tail


def test_state_space_pca_and_3d(saved):
    rng = np.random.default_rng(0)
    # 5-unit states: PCA to 2-D reproduces sklearn's projection
    x = rng.normal(size=(12, 5))
    ax = plots.state_space(x, "aaaabbbbcccc", dims=2)
    from sklearn.decomposition import PCA

    proj = PCA(2).fit(x).transform(x)
    pts = np.concatenate(_offsets(ax, TRAJECTORY_GID))
    order = [t for s in "abc" for t, c in enumerate("aaaabbbbcccc") if c == s]
    np.testing.assert_allclose(np.abs(pts), np.abs(proj[order]), atol=1e-12)
    assert ax.get_xlabel().startswith("PC1")
    # 3 units: a 3-D axes (the star of Chalup & Blair), with a complex (spiral) fixed point
    x3 = rng.normal(size=(12, 3))
    fp = {"a": dict(states=np.zeros((1, 3)), eigenvalues=np.array([[0.6 + 0.5j, 0.6 - 0.5j, 1.2]]),
                    eigenvectors=(np.eye(3) + 0j)[None], stability=["saddle"])}
    fp = {"a": type("FP", (), fp["a"])()}
    ax3 = plots.state_space(x3, "aaaabbbbcccc", fixed_points=fp)
    assert ax3.name == "3d"
    assert len(_offsets(ax3, FIXED_POINT_GID)) == 1
    saved(ax3.figure, "state_space_3d", formats=("pdf", "png"))


def test_state_space_bad_input():
    with pytest.raises(ValueError, match="3 states but 2 symbols"):
        plots.state_space(np.zeros((3, 2)), "ab")
    with pytest.raises(ValueError, match="dims"):
        plots.state_space(np.zeros((3, 2)), "abb", dims=3)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="projection='3d'"):
        plots.state_space(np.zeros((3, 3)), "abb", ax=ax)


def test_vector_field_of_analysis(net, fixed_points, saved):
    from dynrec.analysis.trajectories import vector_field

    fields = {s: vector_field(net, s, grid=9, member=0) for s in "ab"}
    axs = plots.vector_field(fields, nullclines=True, fixed_points=fixed_points)
    assert len(axs) == 2
    for ax, s in zip(axs, "ab"):
        q = [c for c in ax.collections if c.get_gid() == "vector-field"][0]
        delta = fields[s].delta[0]
        # arrows drawn at the grid points, in the direction of F_x(h) - h
        np.testing.assert_allclose(np.asarray(q.get_offsets()), fields[s].coords)
        np.testing.assert_allclose(np.arctan2(q.V, q.U).ravel(), np.arctan2(delta[:, 1], delta[:, 0]), atol=1e-9)
        assert len(np.concatenate(_offsets(ax, FIXED_POINT_GID))) == len(fixed_points[s])
        assert ax.get_title() == f"input {s}"
    lines = [c for c in axs[0].collections if c.get_gid() in ("nullcline-1", "nullcline-2")]
    assert len(lines) == 2
    saved(axs[0].figure, "vector_field")
    with pytest.raises(ValueError, match="delta must have shape"):
        plots.vector_field((np.zeros(3), np.zeros(4), np.zeros((3, 4, 2))))


def test_learning_curves_median_and_iqr(saved):
    rows = []
    for seed, stop in enumerate([3, 5, 5, 4]):
        for e in range(1, stop + 1):
            rows.append({"cell": "n_hidden=2", "seed": seed, "epoch": e, "loss": 10.0 * seed + e})
    frame = pd.DataFrame(rows)
    ax = plots.learning_curves(frame, y="loss")
    line = ax.get_lines()[0]
    x, y = line.get_data()
    # at epoch 5 every seed is held at its last value: 3, 15, 25, 34 -> median 20
    assert list(x) == [1, 2, 3, 4, 5]
    assert y[-1] == pytest.approx(np.median([3, 15, 25, 34]))
    assert y[0] == pytest.approx(np.median([1, 11, 21, 31]))
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx(np.percentile([3, 15, 25, 34], 75))
    assert "n=4" in ax.get_legend().get_texts()[0].get_text()
    saved(ax.figure, "learning_curves")


def test_learning_curves_from_train_result():
    from dynrec.training.result import TrainResult

    hist = [{"epoch": [1, 2, 3], "loss": [1.0, 0.5, 0.25], "accuracy": [0.1, 0.5, 1.0]},
            {"epoch": [1, 2], "loss": [2.0, 1.0], "accuracy": [0.0, 0.2]}]
    res = TrainResult(method="bptt", config={}, member_seeds=[0, 1], history=hist, converged=[True, False],
                      epochs_to_criterion=[3, None], strings_seen=[30, 20], diverged=[False, False],
                      final=[{}, {}])
    frame = plots.history_frame(res)
    assert len(frame) == 5 and set(frame["seed"]) == {0, 1}
    ax = plots.learning_curves(res, y="accuracy")
    np.testing.assert_allclose(ax.get_lines()[0].get_data()[1], [0.05, 0.35, 0.6])
    assert ax.get_yscale() == "linear"


def test_generalization(saved):
    frame = pd.DataFrame({"cell_id": ["c000"] * 5 + ["c001"] * 5, "model.n_hidden": [2] * 5 + [3] * 5,
                          "seed": range(10), "generalization_depth": [3, 12, 10, 11, 18, 5, 6, 7, 9, 30]})
    ax = plots.generalization(frame, train_range=(1, 10))
    pts = _offsets(ax, "depths")
    assert [sorted(p[:, 1]) for p in pts] == [[3, 10, 11, 12, 18], [5, 6, 7, 9, 30]]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["n_hidden=2", "n_hidden=3"]
    b1 = saved(ax.figure, "generalization")
    b2 = saved(plots.generalization(frame, train_range=(1, 10)).figure, "generalization_again")
    assert b1 == b2  # seeded jitter: the same file every time
    ax = plots.generalization(frame, kind="hist", train_range=(1, 10))
    assert ax.get_xlabel().startswith("generalization depth")
    with pytest.raises(ValueError, match="kind must be one of"):
        plots.generalization(frame, kind="violin")


def test_outputs_over_time(net, saved):
    import torch

    x = torch.zeros(1, len(STRING), 2)
    for t, c in enumerate(STRING):
        x[0, t, "ab".index(c)] = 1.0
    with torch.no_grad():
        logits, _ = net(x)
    out = torch.sigmoid(logits[0, 0]).numpy()
    ax = plots.outputs_over_time(out, inputs=STRING, output_symbols=("a", "b"), targets=(out > 0.5) * 1.0)
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "outputs"]
    assert len(lines) == 2
    for o, ln in enumerate(lines):
        np.testing.assert_allclose(ln.get_ydata(), out[:, o], rtol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(STRING)
    saved(ax.figure, "outputs")
    err = np.tile([0.4, 0.5, 0.05], 4)  # temporal XOR: error dips every third bit
    ax = plots.outputs_over_time(err, kind="error", period=3)
    assert ax.get_ylabel() == "error" and len([ln for ln in ax.get_lines() if ln.get_gid() == "outputs"]) == 1
    with pytest.raises(ValueError, match="inputs has 3 symbols"):
        plots.outputs_over_time(out, inputs="abc")


def test_bifurcation_along_a_weight_path(net, saved):
    from dynrec.analysis.weight_path import weight_path

    small = net.member(0)
    small.load_flat(net.to_flat() * 0.3)
    path = weight_path(small, net, "a", steps=5, n_random=8, seed=0)
    ax = plots.bifurcation(path)
    pts = np.concatenate(_offsets(ax, "eigenvalues"))
    want_x = path.alphas[path.points.member].repeat(2)
    want_y = np.abs(path.points.eigenvalues).ravel()
    got = pts[np.lexsort((pts[:, 1], pts[:, 0]))]
    want = np.stack([want_x, want_y], 1)
    np.testing.assert_allclose(got, want[np.lexsort((want[:, 1], want[:, 0]))], atol=1e-12)
    assert ax.get_lines()[0].get_ydata()[0] == 1.0  # the unit circle |lambda| = 1
    saved(ax.figure, "bifurcation")


def test_dfa_of_the_published_tomita1_network(reference_dir, saved):
    """Giles-style extraction from the published Tomita-1 network gives the 2-state DFA of 1*."""
    from dynrec import models
    from dynrec.analysis.extraction import extract_dfa

    ref = json.loads((reference_dir / "published_weights.json").read_text())["tomita1_dynamical_recognizer"]
    net = models.SecondOrder.from_weights(W=ref["W"], P=ref["P"], h0=ref["h0"], alphabet=tuple(ref["symbols"]))
    d = extract_dfa(net, None, member=0)
    ax = plots.dfa(d)
    nodes = [c for c in ax.collections if c.get_gid() == "dfa-states"][0]
    assert len(nodes.get_offsets()) == d.n_states == 2
    texts = [t.get_text() for t in ax.texts]
    assert "0,1" in texts  # the sink's two self-loops share one arrow
    assert len([t for t in ax.texts if t.get_gid() == "start-arrow"]) == 1
    saved(ax.figure, "dfa")
    g = nx.DiGraph()
    g.add_node("q", accepting=False)
    assert len([c for c in plots.dfa(g).collections if c.get_gid() == "dfa-states"][0].get_offsets()) == 1
    with pytest.raises(ValueError, match="to_networkx"):
        plots.dfa(object())
