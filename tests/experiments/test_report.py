"""`dynrec report`: the Wilson interval against its definition, the tables, and every file on a tiny real run."""

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.optimize import brentq

from dynrec.experiments.report import latex_escape, summary_table, to_latex, wilson_interval, write_report

TINY = """
name = "tiny-report"
seeds = 3
[grammar]
name = "anbn"
[task]
kind = "prediction"
n_range = [1, 3]
[model]
kind = "srn"
n_hidden = 2
[training]
method = "bptt"
epochs = 3
[evaluation]
n_max = 5
[analysis]
[grid]
"model.n_hidden" = [2, 3]
"""


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (5, 10), (10, 10), (1, 3), (17, 100)])
def test_wilson_interval_inverts_the_score_test(k, n):
    """The interval's ends are the p with |k/n - p| = z sqrt(p(1-p)/n), found here by root finding."""
    z = 1.959963984540054
    p_hat = k / n
    g = lambda p: (p_hat - p) ** 2 - z * z * p * (1 - p) / n  # noqa: E731
    lo = 0.0 if k == 0 else brentq(g, 1e-15, min(p_hat, 1 - 1e-12), xtol=1e-15)
    hi = 1.0 if k == n else brentq(g, max(p_hat, 1e-12), 1 - 1e-15, xtol=1e-15)
    assert wilson_interval(k, n) == pytest.approx((lo, hi), abs=1e-12)


def test_wilson_interval_published_value_and_errors():
    # Brown, Cai & DasGupta (2001) / Newcombe (1998): 0/10 -> upper limit 0.2775
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes=4, n=3"):
        wilson_interval(4, 3)


def test_summary_table_counts():
    frame = pd.DataFrame({
        "cell_id": ["c000"] * 4 + ["c001"] * 2, "model.n_hidden": [2] * 4 + [3] * 2, "seed": [0, 1, 2, 3, 0, 1],
        "status": ["ok", "ok", "diverged", "failed", "ok", "ok"],
        "converged": [True, False, False, None, True, True], "epochs_to_criterion": [10, None, None, None, 4, 8],
        "generalization_depth": [12, 3, 0, None, 7, 9],
        "analysis.solution_type": ["oscillating", "none", None, None, "monotonic", "oscillating"]})
    t = summary_table(frame).set_index("cell")
    assert t.loc["c000", "seeds"] == 3 and t.loc["c000", "failed"] == 1 and t.loc["c000", "diverged"] == 1
    assert t.loc["c000", "successes"] == 1 and t.loc["c001", "successes"] == 2
    assert (t.loc["c000", "ci95_low"], t.loc["c000", "ci95_high"]) == pytest.approx(wilson_interval(1, 3))
    assert t.loc["c000", "median_epochs"] == 10 and t.loc["c001", "median_epochs"] == 6
    assert t.loc["c000", "median_depth"] == 3 and t.loc["c001", "max_depth"] == 9
    assert t.loc["c000", "solution_types"] == "none: 1, oscillating: 1"


def test_latex_is_booktabs_and_escaped():
    tex = to_latex(pd.DataFrame({"model.n_hidden": [2], "95% CI": ["[0.1, 0.2]"]}), caption="a_b & c")
    assert r"\toprule" in tex and r"\midrule" in tex and r"\bottomrule" in tex
    assert r"model.n\_hidden & 95\% CI \\" in tex and r"\caption{a\_b \& c}" in tex
    assert latex_escape("$x^2$") == r"\$x\textasciicircum{}2\$"


@pytest.mark.slow
def test_report_on_a_tiny_real_run(tmp_path):
    from dynrec import experiments

    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    run = experiments.run(cfg, out=tmp_path / "run", progress=False)
    report = write_report(run.path)
    out = Path(run.path) / "report"
    assert report == out / "REPORT.md"
    listed = ["summary.md", "summary.csv", "summary.tex"] + [
        f"figures/{n}.{ext}" for n in ("learning_curves_loss", "learning_curves_accuracy", "generalization")
        for ext in ("pdf", "png")]
    for rel in listed:
        assert (out / rel).stat().st_size > 0, rel
    text = report.read_text()
    for rel in listed:
        if rel.endswith(".png") or not rel.startswith("figures"):
            assert f"({rel})" in text, f"REPORT.md does not link {rel}"
    table = pd.read_csv(out / "summary.csv")
    assert list(table["model.n_hidden"]) == [2, 3] and list(table["seeds"]) == [3, 3]
    frame = experiments.load(run.path)
    for _, row in table.iterrows():
        cell = frame[frame["cell_id"] == row["cell"]]
        k = int(cell["converged"].astype(bool).sum())
        assert row["successes"] == k
        assert row["median_depth"] == cell["generalization_depth"].median()
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "nothing-here")
