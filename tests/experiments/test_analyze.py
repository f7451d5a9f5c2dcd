"""`dynrec analyze`: a saved network's fixed points printed and drawn, checked against the finder itself."""

import re

import numpy as np
import pytest

from dynrec import models
from dynrec.analysis.fixed_points import find_fixed_points
from dynrec.experiments.analyze import analyze_checkpoint, example_string


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    net = models.SRN.from_weights(
        U=[[[0.3, -0.6], [0.5, -0.5]]], W=[[[2.0, 0.3], [0.2, -1.6]]], V=[[[1.0, 0.0], [0.0, 1.0]]],
        b=[[0.0, 0.1]], c=[[0.0, 0.0]], h0=[[0.2, 0.1]], alphabet=("a", "b"))
    path = tmp_path_factory.mktemp("ck") / "net.safetensors"
    net.save(path)
    return path, net


def test_fixed_points_printed_match_the_finder(checkpoint):
    path, net = checkpoint
    text = analyze_checkpoint(path, member=0, fixed_points=True)
    assert "srn: n_in=2 n_hidden=2 n_out=2" in text
    for s in "ab":
        block = text.split(f"fixed points of F_{s}")[1].split("fixed points of F_")[0]
        printed = np.array([[float(v) for v in m.split(",")] for m in re.findall(r"h\* = \(([^)]*)\)", block)])
        want = find_fixed_points(net, s, member=0).states
        assert printed.shape == want.shape
        np.testing.assert_allclose(printed[np.lexsort(printed.T)], want[np.lexsort(want.T)], atol=1e-4)


@pytest.mark.slow
def test_plots_written(checkpoint, tmp_path):
    path, _ = checkpoint
    text = analyze_checkpoint(path, dfa=True, plot_dir=tmp_path / "figs")
    assert "extracted automaton" in text
    for name in ("state_space", "outputs", "vector_field", "dfa"):
        for ext in ("pdf", "png"):
            f = tmp_path / "figs" / f"{name}.{ext}"
            assert f.stat().st_size > 1000 and str(f) in text


def test_errors(checkpoint, tmp_path):
    path, _ = checkpoint
    with pytest.raises(ValueError, match=r"member must be an int in 0..0"):
        analyze_checkpoint(path, member=3)
    with pytest.raises(FileNotFoundError):
        analyze_checkpoint(tmp_path / "missing.safetensors")


def test_example_string():
    assert example_string(("a", "b")) == "aaaabbbb"
    assert example_string(("a", "b", "c")) == "aaaabbbbcccc"
    s = example_string(("0", "1"))
    assert set(s) == {"0", "1"} and len(s) == 10
