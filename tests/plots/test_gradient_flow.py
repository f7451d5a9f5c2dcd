"""plots.gradient_flow on real GradientFlow results of an SRN and an LSTM on the same strings."""

import numpy as np
import pytest

from dynrec import analysis, models, plots
from dynrec.plots.gradient_flow import LINE_GID

STRINGS = ["abbab", "aab", "babba"]


@pytest.fixture(scope="module")
def flows():
    srn = models.build("srn", 2, 3, 2, ensemble=3, seed=0, alphabet="ab", init_range=1.0)
    lstm = models.build("lstm", 2, 3, 2, ensemble=2, seed=0, alphabet="ab", init_range=1.0)
    return {"SRN": analysis.gradient_flow(srn, STRINGS, loss_position="all"),
            "LSTM": analysis.gradient_flow(lstm, STRINGS, loss_position="all")}


def _lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == LINE_GID]


def test_one_line_per_member_per_series_with_the_data(flows, saved):
    ax = plots.gradient_flow(flows)
    lines = _lines(ax)
    assert len(lines) == 3 + 2
    assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SRN", "LSTM"]
    # the SRN's lines share one colour, the LSTM's another
    assert len({ln.get_color() for ln in lines[:3]}) == 1 and lines[0].get_color() != lines[3].get_color()
    for ln, (name, e) in zip(lines, [("SRN", 0), ("SRN", 1), ("SRN", 2), ("LSTM", 0), ("LSTM", 1)]):
        curve = flows[name].by_distance()[e]
        np.testing.assert_allclose(ln.get_ydata(), curve[: len(ln.get_ydata())])
        assert ln.get_xdata().tolist() == list(range(len(ln.get_xdata())))
    saved(ax.figure, "gradient_flow")


def test_single_result_member_subset_and_errors(flows):
    ax = plots.gradient_flow(flows["SRN"], what="spectral_norm", members=[1])
    assert len(_lines(ax)) == 1 and ax.get_legend() is None
    np.testing.assert_allclose(_lines(ax)[0].get_ydata()[1:], flows["SRN"].by_distance("spectral_norm")[1, 1:])
    with pytest.raises(ValueError, match="what must be one of"):
        plots.gradient_flow(flows, what="gain")
    with pytest.raises(ValueError, match="not a GradientFlow"):
        plots.gradient_flow([np.zeros(3)])
    with pytest.raises(ValueError, match="member position 5 out of range"):
        plots.gradient_flow(flows, members=[5])
