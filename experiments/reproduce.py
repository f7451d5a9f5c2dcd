"""``dynrec reproduce NAME``: run a paper's preset and set its numbers beside the paper's.

A preset (``experiments/presets/NAME.toml``, see :mod:`dynrec.experiments.presets`)
is an ordinary experiment plus a ``[preset]`` table. Its claims say, before
anything runs, how each published claim is measured and which rule turns the
measurement into a verdict::

    [[preset.claims]]
    id = "generalizes_to_n18"          # a claim of the paper in published.json
    measure = "max"                    # a function of MEASURES
    args = { metric = "generalization_depth" }
    reproduced = ">= 18"               # verdict rules, fixed in the preset file
    partly = ">= 11"

The verdict is *reproduced* when the measured value satisfies ``reproduced``,
*partly* when it satisfies only ``partly``, *not* otherwise, and *not measured*
when the run cannot produce the number (e.g. every seed diverged). A claim
without a published number has no rule: its verdict is *measured only*. No rule is
ever adjusted to the outcome: the rules are data in the preset, versioned with
it. A claim the preset cannot measure (another method, a figure's shape) is
still listed, as *not measured*, with the reason the preset gives for it::

    [preset.unmeasured]
    rtrl_partial = "RTRL is not implemented in dynrec"

Published values that could not be confirmed from a public source are
marked so in the report (published.json carries ``confirmed`` per claim).

The report (``<run_dir>/REPRODUCTION.md``) holds the table, the preset's
deviations from the paper, how many seeds were run (all of them count; none
are dropped), and the figures; the generic ``dynrec report`` tables are
written beside it.
"""

from __future__ import annotations

import copy
import math
import operator
import re
import shlex
from pathlib import Path

import numpy as np

from dynrec.experiments import presets
from dynrec.experiments.net_measures import NET_MEASURES

__all__ = ["reproduce", "MEASURES", "verdict", "prepare"]

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}


# ----------------------------------------------------------------- preparing
def _set_dotted(config: dict, key: str, value) -> None:
    *path, last = key.split(".")
    node = config
    for p in path:
        node = node.setdefault(p, {})
    node[last] = copy.deepcopy(value)


def prepare(name: str, quick: bool = False) -> tuple[dict, dict]:
    """(experiment config, preset table) of preset ``name``, with the quick overrides applied."""
    data = presets.load(name)
    preset = data.pop("preset")
    config = copy.deepcopy(data)
    config.setdefault("name", name + ("-quick" if quick else ""))
    if quick:
        for key, value in preset.get("quick", {}).items():
            if key == "grid" or key.startswith("grid."):
                raise ValueError(f"preset {name}: quick overrides may not change the grid ({key!r})")
            _set_dotted(config, key, value)
        config["name"] = name + "-quick"
    return config, preset


# ------------------------------------------------------------------ measures
def _rows(frame, cell: dict | None):
    ok = frame[frame["status"].isin(["ok", "diverged"])]
    for key, value in (cell or {}).items():
        if key not in ok.columns:
            raise ValueError(f"cell key {key!r} is not a grid key of this run; columns: {list(ok.columns)}")
        ok = ok[ok[key] == value]
    return ok


def _column(rows, metric: str):
    if metric not in rows.columns:
        return None
    return rows[metric]


def measure_max(frame, ctx, metric: str, cell: dict | None = None):
    """The largest value of ``metric`` over the seeds (of one grid cell)."""
    col = _column(_rows(frame, cell), metric)
    if col is None or col.dropna().empty:
        return None, f"no {metric} recorded"
    best = col.max()
    return float(best), f"max over {col.notna().sum()} seeds"


def measure_median(frame, ctx, metric: str, cell: dict | None = None, among_success: dict | None = None):
    """The median of ``metric`` over the seeds (optionally only the successful ones)."""
    rows = _rows(frame, cell)
    if among_success:
        rows = rows[_success_mask(rows, **among_success)]
    col = _column(rows, metric)
    if col is None or col.dropna().empty:
        return None, f"no {metric} recorded" + (" among successful seeds" if among_success else "")
    return float(col.median()), f"median over {col.notna().sum()} seeds"


def _success_mask(rows, metric: str, at_least: float):
    col = rows[metric] if metric in rows.columns else None
    if col is None:
        return np.zeros(len(rows), dtype=bool)
    return (col.fillna(-math.inf) >= at_least).to_numpy() & (rows["status"] == "ok").to_numpy()


def measure_success_rate(frame, ctx, metric: str, at_least: float, cell: dict | None = None):
    """Fraction of ALL seeds run (diverged ones count as failures) with ``metric >= at_least``."""
    rows = _rows(frame, cell)
    if rows.empty:
        return None, "no finished seeds"
    hits = int(_success_mask(rows, metric, at_least).sum())
    return hits / len(rows), f"{hits} of {len(rows)} seeds with {metric} >= {at_least:g}"


def measure_fraction(frame, ctx, column: str, equals, cell: dict | None = None,
                     among_success: dict | None = None):
    """Fraction of seeds (optionally: of the successful ones) whose ``column`` equals ``equals``."""
    rows = _rows(frame, cell)
    if among_success:
        rows = rows[_success_mask(rows, **among_success)]
    if rows.empty or column not in rows.columns:
        return None, "no seeds to count" if rows.empty else f"no column {column!r}"
    wanted = equals if isinstance(equals, list) else [equals]
    hits = int(rows[column].isin(wanted).sum())
    counts = rows[column].value_counts().to_dict()
    return hits / len(rows), f"{hits} of {len(rows)}; all: {counts}"


def measure_fraction_exceeding(frame, ctx, a: str, b: str, cell: dict | None = None,
                               among_success: dict | None = None):
    """Fraction of seeds (optionally: of the successful ones) with ``a > b``, e.g. the quantised
    automaton's raw states against the minimal DFA's."""
    import pandas as pd

    rows = _rows(frame, cell)
    if among_success:
        rows = rows[_success_mask(rows, **among_success)]
    if rows.empty or a not in rows.columns or b not in rows.columns:
        return None, "no seeds to count" if rows.empty else f"columns {a!r} / {b!r} not recorded"
    va, vb = pd.to_numeric(rows[a], errors="coerce"), pd.to_numeric(rows[b], errors="coerce")
    both = va.notna() & vb.notna()
    if not both.any():
        return None, "no seed with both numbers"
    hits = int((va[both] > vb[both]).sum())
    return hits / int(both.sum()), f"{hits} of {int(both.sum())} seeds with {a} > {b}"


def measure_cell_difference(frame, ctx, metric: str, stat: str, a: dict, b: dict):
    """``stat(metric | cell a) - stat(metric | cell b)`` (stat: median, mean, max, success_rate:<x>)."""
    values = []
    for cell in (a, b):
        rows = _rows(frame, cell)
        if stat.startswith("success_rate:"):
            v, _ = measure_success_rate(frame, ctx, metric, float(stat.split(":")[1]), cell)
        else:
            col = _column(rows, metric)
            v = None if col is None or col.dropna().empty else float(getattr(col, stat)())
        values.append(v)
    if None in values:
        return None, f"{stat} of {metric}: {values[0]} vs {values[1]}"
    return values[0] - values[1], f"{stat} of {metric}: {values[0]:.4g} ({a}) vs {values[1]:.4g} ({b})"


def measure_median_abs_difference(frame, ctx, a: str, b: str, cell: dict | None = None,
                                  among_success: dict | None = None):
    """Median over seeds of |a - b| (e.g. predicted against measured depth); inf counts as inf."""
    import pandas as pd

    rows = _rows(frame, cell)
    if among_success:
        rows = rows[_success_mask(rows, **among_success)]
    if rows.empty or a not in rows.columns or b not in rows.columns:
        return None, "no seeds to compare" if rows.empty else f"columns {a!r} / {b!r} not recorded"
    diff = (pd.to_numeric(rows[a], errors="coerce") - pd.to_numeric(rows[b], errors="coerce")).abs().dropna()
    if diff.empty:
        return None, "no seed with both numbers"
    pairs = list(zip(rows[a].tolist(), rows[b].tolist()))[:10]
    return float(diff.median()), f"median over {len(diff)} seeds; (a, b): {pairs}"


MEASURES = {
    "max": measure_max,
    "median": measure_median,
    "success_rate": measure_success_rate,
    "fraction": measure_fraction,
    "fraction_exceeding": measure_fraction_exceeding,
    "cell_difference": measure_cell_difference,
    "median_abs_difference": measure_median_abs_difference,
    **NET_MEASURES,  # measures that open the checkpoints and records: net_measures.py
}


# ------------------------------------------------------------------ verdicts
_RULE = re.compile(r"^\s*(>=|<=|>|<|==)\s*(-?[0-9.eE+-]+)\s*$|^\s*in\s*\[\s*(-?[0-9.eE+-]+)\s*,\s*(-?[0-9.eE+-]+)\s*\]\s*$")


def _holds(rule: str | None, value: float) -> bool:
    if rule is None:
        return False
    m = _RULE.match(rule)
    if not m:
        raise ValueError(f"verdict rule {rule!r} must look like '>= 10', '< 0.5' or 'in [a, b]'")
    if m.group(1):
        return _OPS[m.group(1)](value, float(m.group(2)))
    return float(m.group(3)) <= value <= float(m.group(4))


def verdict(value, reproduced: str | None, partly: str | None = None) -> str:
    """'reproduced', 'partly', 'not' or 'not measured' by the preset's fixed rules; 'measured only'
    when the claim has no rule (the paper gives no number to compare with)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not measured"
    if reproduced is None:
        return "measured only"
    if _holds(reproduced, value):
        return "reproduced"
    if _holds(partly, value):
        return "partly"
    return "not"


# ---------------------------------------------------------------- reproduce
def reproduce(name: str, quick: bool = False, seeds: int | None = None, workers: int = 1,
              out: str | Path | None = None, overrides=(), progress: bool = True) -> Path:
    """Run preset ``name`` (reduced with ``quick``); return the path of its REPRODUCTION.md.

    ``overrides`` are ``"section.key=value"`` strings applied after the quick
    ones (the CLI's ``--set``); the report lists them, since they change the
    experiment.
    """
    from dynrec import experiments
    from dynrec.experiments.report import write_report

    config, preset = prepare(name, quick)
    paper = presets.published(preset["paper"])
    claims = {c["id"]: c for c in paper.get("claims", [])}
    for spec in preset.get("claims", []):
        if spec["id"] not in claims:
            raise ValueError(f"preset {name}: claim {spec['id']!r} is not in published.json "
                             f"[{preset['paper']}]; known: {sorted(claims)}")
        if spec["measure"] not in MEASURES:
            raise ValueError(f"preset {name}: unknown measure {spec['measure']!r}; valid: {sorted(MEASURES)}")
    for claim_id in preset.get("unmeasured", {}):
        if claim_id not in claims:
            raise ValueError(f"preset {name}: unmeasured claim {claim_id!r} is not in published.json "
                             f"[{preset['paper']}]; known: {sorted(claims)}")
    out = Path(out) if out is not None else Path("runs") / config["name"]
    overrides = list(overrides)
    run_dir = experiments.run(config, seeds=seeds, workers=workers, out=out, overrides=overrides,
                              progress=progress)
    frame = experiments.load(run_dir)
    exp = experiments.load_config(run_dir.path / "config.toml")
    ctx = {"run_dir": run_dir.path, "preset": preset, "paper": paper, "task": _task(exp)}
    rows = []
    for spec in preset.get("claims", []):
        value, detail = MEASURES[spec["measure"]](frame, ctx, **spec.get("args", {}))
        rows.append({"spec": spec, "published": claims[spec["id"]], "value": value, "detail": detail,
                     "verdict": verdict(value, spec.get("reproduced"), spec.get("partly"))})
    figures = _figures(preset.get("figures", []), frame, ctx)
    try:
        generic = write_report(run_dir.path)
    except Exception as err:  # noqa: BLE001 - the reproduction table must survive a figure bug
        generic = f"(generic report failed: {err})"
    command = "dynrec reproduce " + name + (" --quick" if quick else "")
    if seeds is not None:
        command += f" --seeds {seeds}"
    command += "".join(f" --set {shlex.quote(o)}" for o in overrides)
    command += f" --out {shlex.quote(str(out))}"
    text = _markdown(name, quick, preset, paper, frame, rows, figures, generic, command, run_dir.path)
    path = run_dir.path / "REPRODUCTION.md"
    from dynrec.experiments.store import atomic_write

    atomic_write(path, text)
    return path


def _task(exp):
    """The task of the experiment's first cell (presets keep the task fixed across the grid)."""
    from dynrec.experiments.worker import build_task

    cell = exp.cells()[0] if hasattr(exp, "cells") else None
    spec = cell.spec() if cell is not None and hasattr(cell, "spec") else None
    if spec is None:
        return None
    return build_task(spec)[1]


def _cell(text) -> str:
    """A markdown table cell: pipes escaped, no line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt(v) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _markdown(name, quick, preset, paper, frame, rows, figures, generic, command, run_dir) -> str:
    n_seeds = len(frame)
    status = frame["status"].value_counts().to_dict() if n_seeds else {}
    lines = [f"# {preset.get('title', name)}" + (" (quick)" if quick else ""), "",
             f"Paper: {paper.get('paper', preset['paper'])}", "",
             f"Command: `{command}`", "",
             f"Seeds run: {n_seeds} ({', '.join(f'{k}: {v}' for k, v in status.items())}); "
             "every seed counts, none is dropped.", ""]
    if quick:
        lines += ["This is the reduced (`--quick`) version: fewer seeds and a smaller budget than "
                  "the paper; verdicts speak of this run only.", ""]
    if preset.get("deviations"):
        lines += ["## Where this set-up differs from the paper", ""]
        lines += [f"- {d}" for d in preset["deviations"]] + [""]
    lines += ["## Claims", "",
              "| claim | published | source | measured | rule (reproduced / partly) | verdict |",
              "|---|---|---|---|---|---|"]
    for r in rows:
        pub, spec = r["published"], r["spec"]
        value, comparison = pub.get("value"), pub.get("comparison", "")
        if value is None:
            shown = "—"
        elif comparison in ("qualitative", "range", ""):
            shown = str(value)
        else:
            shown = f"{comparison} {value}"
        if not pub.get("confirmed", False):
            shown += " (unverified published number)"
        rule = spec.get("reproduced") or "— (no published number)"
        rule += f" / {spec['partly']}" if spec.get("partly") else ""
        cells = [pub["claim"], shown, pub.get("source", ""), f"{_fmt(r['value'])} ({r['detail']})", rule]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + f" | **{r['verdict']}** |")
    measured = {r["spec"]["id"] for r in rows}
    reasons = preset.get("unmeasured", {})
    for pub in paper.get("claims", []):
        if pub["id"] not in measured:
            why = reasons.get(pub["id"], "this preset has no measure for it")
            cells = [pub["claim"], str(pub.get("value") if pub.get("value") is not None else "—"),
                     pub.get("source", ""), f"— ({why})", "—"]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " | **not measured** |")
    lines.append("")
    if figures:
        lines += ["## Figures", ""]
        for caption, rel in figures:
            lines += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    lines += ["## More", "", f"Per-cell tables and generic figures: {generic}", "",
              f"Run directory: `{run_dir}`", ""]
    return "\n".join(lines)


# ------------------------------------------------------------------ figures
def _best_member(frame, metric: str = "generalization_depth"):
    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        return None
    if metric in ok.columns and ok[metric].notna().any():
        return ok.loc[ok[metric].astype(float).idxmax()]
    return ok.iloc[0]


def _figures(names, frame, ctx) -> list[tuple[str, str]]:
    """Draw the preset's figures into <run_dir>/figures; return (caption, relative path) pairs."""
    from dynrec.experiments import figures as figure_makers

    out = []
    folder = Path(ctx["run_dir"]) / "figures"
    folder.mkdir(exist_ok=True)
    for name in names:
        maker = figure_makers.FIGURES.get(name)
        if maker is None:
            raise ValueError(f"unknown preset figure {name!r}; valid: {sorted(figure_makers.FIGURES)}")
        try:
            made = maker(frame, ctx, folder)
        except Exception as err:  # noqa: BLE001 - a figure failure is reported, the table survives
            out.append((f"{name}: could not be drawn ({type(err).__name__}: {err})", ""))
            continue
        for caption, path in made:
            out.append((caption, str(Path(path).relative_to(ctx["run_dir"]))))
    return out
