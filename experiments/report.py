"""``dynrec report RUN_DIR``: summary tables and figures of a run directory, linked from REPORT.md.

Writes into ``RUN_DIR/report/``::

    REPORT.md                 the report: run facts, the table, the figures
    summary.md / .csv / .tex  one row per grid cell (LaTeX: booktabs, written by hand)
    figures/*.pdf, *.png      the figures the run's data supports

Per cell: seeds run (``ok`` + ``diverged``; ``failed`` records -- crashed
workers -- are counted apart), successes and the success rate with its Wilson
(1927) score interval at 95% -- the interval that keeps its coverage for the
small counts and the rates near 0 or 1 that seed studies produce (Brown, Cai &
DasGupta 2001) --, the median epochs to criterion over the seeds that met it,
the median (and range) of the generalization depth, and the solution types
found (Rodriguez, Wiles & Elman 1999: oscillating / monotonic / spiral).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np

Z95 = 1.959963984540054  # standard normal quantile at 0.975
SUCCESS_COLUMNS = ("success", "solved", "converged")
EPOCH_COLUMNS = ("epochs_to_criterion",)
DEPTH_COLUMNS = ("generalization_depth",)
FIGURE_FORMATS = ("pdf", "png")


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: ``(low, high)``; ``(nan, nan)`` when n = 0.

    The set of p for which |k/n - p| <= z sqrt(p (1 - p) / n) (Wilson 1927).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, center - half), min(1.0, center + half))


def _first(frame, names) -> str | None:
    for n in names:
        if n in frame.columns:
            return n
    return None


def _solution_column(frame) -> str | None:
    from pandas.api.types import is_numeric_dtype

    cols = [c for c in frame.columns if "solution" in c and not is_numeric_dtype(frame[c])]
    return sorted(cols, key=lambda c: (not c.endswith("type"), len(c)))[0] if cols else None


def grid_keys(frame) -> list[str]:
    """The grid columns of an ``experiments.load`` frame: those between ``cell_id`` and ``seed``."""
    cols = list(frame.columns)
    if "cell_id" in cols and "seed" in cols and cols.index("seed") > cols.index("cell_id"):
        return cols[cols.index("cell_id") + 1: cols.index("seed")]
    return []


def summary_table(frame):
    """One row per grid cell (see the module docstring for the columns) as a pandas DataFrame."""
    import pandas as pd

    keys = grid_keys(frame)
    success = _first(frame, SUCCESS_COLUMNS)
    epochs = _first(frame, EPOCH_COLUMNS)
    depth = _first(frame, DEPTH_COLUMNS)
    solution = _solution_column(frame)
    rows = []
    for cell_id, g in frame.groupby("cell_id", sort=True):
        status = g["status"].astype(str)
        run = g[status != "failed"]
        row = {"cell": cell_id, **{k: g[k].iloc[0] for k in keys}, "seeds": len(run),
               "diverged": int((status == "diverged").sum()), "failed": int((status == "failed").sum())}
        if success is not None:
            ok = run[success].fillna(False).astype(bool) & (run["status"] == "ok")
            k, n = int(ok.sum()), len(run)
            lo, hi = wilson_interval(k, n)
            row.update({"successes": k, "success_rate": k / n if n else math.nan, "ci95_low": lo, "ci95_high": hi})
        if epochs is not None:
            e = pd.to_numeric(run[epochs], errors="coerce").dropna()
            row["median_epochs"] = float(e.median()) if len(e) else math.nan
        if depth is not None:
            d = pd.to_numeric(run[depth], errors="coerce").dropna()
            row.update({"median_depth": float(d.median()) if len(d) else math.nan,
                        "min_depth": float(d.min()) if len(d) else math.nan,
                        "max_depth": float(d.max()) if len(d) else math.nan})
        if solution is not None:
            counts = run[solution].dropna().astype(str).value_counts()
            row["solution_types"] = ", ".join(f"{name}: {c}" for name, c in sorted(counts.items()))
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (float, np.floating)):
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"
    return str(v)


def _display(table):
    """Columns for people: success as 'k/n' and the interval as '[lo, hi]'."""
    out = table.copy()
    if "success_rate" in out.columns:
        out["success"] = [f"{k}/{n}" for k, n in zip(out["successes"], out["seeds"])]
        out["rate"] = [_fmt(r) for r in out["success_rate"]]
        out["95% CI"] = [f"[{lo:.2f}, {hi:.2f}]" if not math.isnan(lo) else "-"
                         for lo, hi in zip(out["ci95_low"], out["ci95_high"])]
        out = out.drop(columns=["successes", "success_rate", "ci95_low", "ci95_high"])
        cols = list(out.columns)
        moved = ["success", "rate", "95% CI"]
        rest = [c for c in cols if c not in moved]
        at = rest.index("failed") + 1
        out = out[rest[:at] + moved + rest[at:]]
    return out


def to_markdown(table) -> str:
    """A GitHub-flavoured markdown table (no extra dependency)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in table.iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]).replace("|", "\\|") for c in cols) + " |")
    return "\n".join(lines) + "\n"


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(c, c) for c in str(text))


def to_latex(table, caption: str | None = None) -> str:
    """A booktabs ``tabular`` (``\\toprule``/``\\midrule``/``\\bottomrule``); needs ``\\usepackage{booktabs}``."""
    cols = list(table.columns)
    from pandas.api.types import is_numeric_dtype

    align = "".join("r" if is_numeric_dtype(table[c]) else "l" for c in cols)
    lines = [r"\begin{table}", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    lines += [r"\begin{tabular}{" + align + "}", r"\toprule",
              " & ".join(latex_escape(c) for c in cols) + r" \\", r"\midrule"]
    for _, r in table.iterrows():
        lines.append(" & ".join(latex_escape(_fmt(r[c])) for c in cols) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _train_range(run_dir: Path):
    """(n_min, n_max) of the training strings from config.toml's [task] n_range, when set."""
    cfg = run_dir / "config.toml"
    if not cfg.is_file():
        return None
    task = tomllib.loads(cfg.read_text()).get("task", {})
    rng = task.get("n_range")
    return tuple(rng) if isinstance(rng, list) and len(rng) == 2 else None


def _figures(frame, run_dir: Path, fig_dir: Path) -> list[tuple[str, str, list[Path]]]:
    """Draw what the data supports; return ``[(name, caption, files)]``."""
    import matplotlib.pyplot as plt

    from dynrec import plots

    made = []
    hist = plots.history_frame(frame[frame["status"] != "failed"]) if "record" in frame.columns else None
    if hist is not None and not hist.empty:
        for metric in ("loss", "accuracy"):
            if metric in hist.columns and hist[metric].notna().any():
                ax = plots.learning_curves(hist, y=metric)
                files = plots.savefig(ax.figure, fig_dir / f"learning_curves_{metric}", formats=FIGURE_FORMATS)
                plt.close(ax.figure)
                made.append((f"learning_curves_{metric}", f"Training {metric} against "
                             f"{'strings seen' if 'strings_seen' in hist.columns else 'epochs'}: "
                             "median and interquartile range over seeds, per cell.", files))
    depth = _first(frame, DEPTH_COLUMNS)
    if depth is not None:
        import pandas as pd

        ok = frame[frame["status"] != "failed"]
        if pd.to_numeric(ok[depth], errors="coerce").notna().any():
            ax = plots.generalization(ok.assign(**{depth: pd.to_numeric(ok[depth], errors="coerce")}),
                                      depth=depth, train_range=_train_range(run_dir))
            files = plots.savefig(ax.figure, fig_dir / "generalization", formats=FIGURE_FORMATS)
            plt.close(ax.figure)
            made.append(("generalization", "Generalization depth per seed and cell (bar: median; "
                         "band: training range).", files))
    return made


def write_report(run_dir) -> Path:
    """Write ``RUN_DIR/report/`` (tables, figures, REPORT.md) and return the path of REPORT.md."""
    from dynrec.experiments.store import load

    run_dir = Path(run_dir)
    frame = load(run_dir)
    if frame.empty:
        raise ValueError(f"{run_dir} holds no records yet; run the experiment first")
    out = run_dir / "report"
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    table = summary_table(frame)
    table.to_csv(out / "summary.csv", index=False)
    shown = _display(table)
    md_table = to_markdown(shown)
    (out / "summary.md").write_text(md_table)
    name = run_dir.name
    cfg = run_dir / "config.toml"
    if cfg.is_file():
        name = tomllib.loads(cfg.read_text()).get("name", name)
    (out / "summary.tex").write_text(to_latex(shown, caption=f"{name}: results per grid cell"))
    figures = _figures(frame, run_dir, fig_dir)

    lines = [f"# {name}", ""]
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        facts = [f"{k} {m[k]}" for k in ("dynrec", "torch", "python") if m.get(k)]
        if m.get("git_commit"):
            facts.append(f"commit {m['git_commit'][:10]}")
        if facts:
            lines += ["Run with " + ", ".join(facts) + ".", ""]
    keys = grid_keys(frame)
    lines += [f"{len(frame)} records in {frame['cell_id'].nunique()} cell(s)"
              + (f" over the grid {', '.join(keys)}" if keys else "") + ".", "",
              "## Results per cell", "",
              "Success rate with its Wilson 95% interval; epochs: median over the seeds that met the "
              "criterion; depth: generalization depth (median, min, max).", "", md_table,
              "Tables: [summary.md](summary.md), [summary.csv](summary.csv), "
              "[summary.tex](summary.tex) (LaTeX, booktabs).", ""]
    if figures:
        lines += ["## Figures", ""]
        for fname, caption, files in figures:
            png = next(f for f in files if f.suffix == ".png")
            pdf = next(f for f in files if f.suffix == ".pdf")
            lines += [f"![{fname}](figures/{png.name})", "", f"{caption} ([PDF](figures/{pdf.name}))", ""]
    report = out / "REPORT.md"
    report.write_text("\n".join(lines))
    return report
