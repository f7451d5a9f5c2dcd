"""Real small results for the figure tests: a two-unit SRN, its fixed points, its states."""

import pytest
import torch

from dynrec import models
from dynrec.analysis.fixed_points import find_fixed_points

STRING = "aaaabbbb"


@pytest.fixture(scope="session")
def net():
    """Two-unit tanh SRN whose a-map has three fixed points (a repeller and two oscillating saddles)
    and whose b-map has one saddle (weights chosen by hand)."""
    return models.SRN.from_weights(
        U=[[[0.3, -0.6], [0.5, -0.5]]], W=[[[2.0, 0.3], [0.2, -1.6]]], V=[[[1.0, 0.0], [0.0, 1.0]]],
        b=[[0.0, 0.1]], c=[[0.0, 0.0]], h0=[[0.2, 0.1]], alphabet=("a", "b"))


@pytest.fixture(scope="session")
def fixed_points(net):
    return {s: find_fixed_points(net, s, member=0, n_random=16, seed=0) for s in ("a", "b")}


@pytest.fixture(scope="session")
def states(net):
    x = torch.zeros(1, len(STRING), 2)
    for t, c in enumerate(STRING):
        x[0, t, "ab".index(c)] = 1.0
    with torch.no_grad():
        _, s = net(x)
    return s[0, 0].double().numpy()


def save_twice(fig, tmp_path, name, formats=("pdf", "png")):
    """Save a figure twice per format; return the bytes of each format (asserting both saves agree).

    PNGs at 100 dpi keep the suite fast; test_house checks 300 dpi and SVG."""
    from dynrec import plots

    out = {}
    for fmt in formats:
        a = plots.savefig(fig, tmp_path / f"{name}_1.{fmt}", dpi=100)[0].read_bytes()
        b = plots.savefig(fig, tmp_path / f"{name}_2.{fmt}", dpi=100)[0].read_bytes()
        assert len(a) > 1000, f"{name}.{fmt} is nearly empty ({len(a)} bytes)"
        assert a == b, f"{name}.{fmt}: two saves of one figure differ"
        out[fmt] = a
    return out


@pytest.fixture
def saved(tmp_path):
    return lambda fig, name, **kw: save_twice(fig, tmp_path, name, **kw)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
