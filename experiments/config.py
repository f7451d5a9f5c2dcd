"""Experiment files: TOML -> a validated, typed :class:`Experiment` -> grid cells.

An experiment file (TOML, read with the standard library's ``tomllib``)::

    name = "tomita3-srn"          # optional; default: the file's stem
    seeds = 20                    # a count (seeds 0..19) or a list of distinct ints >= 0
    chunk_size = 50               # seeds of a cell trained as one ensemble, at most this many

    [grammar]                     # grammars.get(name, **other keys)
    name = "tomita3"

    [task]                        # grammars.PredictionTask | RecognitionTask(lang, **other keys)
    kind = "recognition"
    length_range = [0, 10]

    [model]                       # models.build(kind, n_in, n_hidden, n_out, **other keys)
    kind = "srn"
    n_hidden = 3

    [training]                    # training.BPTT | training.Evolution(**other keys)
    method = "bptt"
    epochs = 200

    [evaluation]
    n_max = 20                    # generalization depth checked up to n (0: off)
    test_count = 0                # fresh test strings (0: off), drawn with test_seed
    test_seed = 1

    [analysis]                    # each: false, true, or a table of options
    fixed_points = true
    solution_type = false
    dfa = { }

    [grid]                        # dotted keys -> lists; one cell per combination
    "model.n_hidden" = [2, 3, 5]

Two levels of checking, both before any work starts, both raising
``ValueError`` messages that name the file, the key, the value and what is
allowed:

* structure (always): sections, required keys, types and ranges of the keys
  this module owns, grid keys, seeds;
* pass-through keys (``check=True``): grammar and model names against their
  registries, task / training / analysis keys against the signatures of the
  functions they are passed to (``inspect.signature``), so ``lrate = 0.1``
  reports the valid names.

``n_in`` / ``n_out`` are not configured: they come from the task.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["Experiment", "Cell", "load_config", "apply_override", "SECTIONS"]

SECTIONS = ("grammar", "task", "model", "training", "evaluation", "analysis")
TOP_KEYS = ("name", "seeds", "chunk_size", "grid") + SECTIONS
TASK_KINDS = ("prediction", "recognition")
METHODS = ("bptt", "evolution")
ANALYSES = ("fixed_points", "solution_type", "dfa")
EVALUATION_DEFAULTS = {"n_max": 0, "test_count": 0, "test_seed": 1}
DEFAULT_CHUNK = 100


def _fmt(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (str, bool, int, float, list, dict)) else repr(v)


class _Checker:
    """Builds error messages that name the source, the key and the value."""

    def __init__(self, source: str, cell: str = "", grid: Iterable[str] = ()):
        self.source = source
        self.cell = cell
        self.grid = set(grid)

    def fail(self, key: str, value: Any, allowed: str) -> None:
        # name the grid cell only when the bad value comes from the grid
        dotted = key[1:].replace("] ", ".", 1) if key.startswith("[") else key
        from_grid = any(dotted == g or dotted.startswith(g + ".") for g in self.grid)
        where = f"{self.source}: " + (f"grid cell {self.cell}: " if self.cell and from_grid else "")
        raise ValueError(f"{where}{key} = {_fmt(value)}: {allowed}")

    def unknown(self, section: str, key: str, value: Any, valid: Iterable[str]) -> None:
        valid = sorted(valid)
        self.fail(f"[{section}] {key}" if section else key, value,
                  "unknown key; valid keys: " + (", ".join(valid) if valid else "(none)"))

    def int_(self, key: str, value: Any, lo: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            self.fail(key, value, f"must be an integer >= {lo}")
        return value

    def str_(self, key: str, value: Any, choices: Iterable[str] | None = None) -> str:
        if choices is not None:
            choices = tuple(choices)
            if value not in choices:
                self.fail(key, value, "must be one of " + ", ".join(repr(c) for c in choices))
        elif not isinstance(value, str) or not value:
            self.fail(key, value, "must be a non-empty string")
        return value


@dataclass(frozen=True)
class Cell:
    """One grid point: its index, the grid values that define it, and its resolved config."""

    index: int
    values: dict  # {"model.n_hidden": 3, ...}; empty without a grid
    config: "Experiment"  # resolved: grid values substituted, grid empty

    @property
    def id(self) -> str:
        """Directory-safe name, ``c000``, ``c001``, ... (grid order of the file)."""
        return f"c{self.index:03d}"

    def spec(self) -> dict:
        """The plain (JSON-safe) description a worker needs to train this cell's seeds."""
        d = self.config.to_dict()
        for key in ("name", "seeds", "chunk_size", "grid"):
            d.pop(key, None)
        return {"cell_id": self.id, "cell": dict(self.values), **d}


@dataclass(frozen=True)
class Experiment:
    """A validated experiment. Sections are plain dicts of their keys (pass-through keys kept).

    ``seeds`` is a tuple of distinct non-negative ints. Seed ``s`` of a cell
    is the member seed of one network: its initial weights and its own
    training strings (``training.BPTT.fit(..., seed=[s, ...])``), so it gives
    the same numbers whatever other seeds share its ensemble.
    """

    name: str
    seeds: tuple[int, ...]
    chunk_size: int
    grammar: dict
    task: dict
    model: dict
    training: dict
    evaluation: dict
    analysis: dict
    grid: dict = field(default_factory=dict)  # {"section.key": (values...)}
    source: str = "<dict>"

    # ---- views -----------------------------------------------------------------
    def to_dict(self) -> dict:
        """Plain, TOML-writable dict; ``load_config(exp.to_dict())`` gives an equal Experiment."""
        d = {"name": self.name, "seeds": list(self.seeds), "chunk_size": self.chunk_size}
        for s in SECTIONS:
            d[s] = copy.deepcopy(getattr(self, s))
        if self.grid:
            d["grid"] = {k: list(v) for k, v in self.grid.items()}
        return d

    def fingerprint(self) -> str:
        """Hash of everything that decides a record's numbers (all but name, seeds and chunk_size)."""
        d = self.to_dict()
        for key in ("name", "seeds", "chunk_size"):
            d.pop(key)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def cells(self) -> list[Cell]:
        """One :class:`Cell` per combination of the grid values (file order, last key fastest)."""
        keys = list(self.grid)
        out = []
        for i, combo in enumerate(itertools.product(*(self.grid[k] for k in keys))):
            d = self.to_dict()
            d.pop("grid", None)
            values = dict(zip(keys, combo))
            for k, v in values.items():
                _set_dotted(d, k, copy.deepcopy(v))
            label = ", ".join(f"{k}={_fmt(v)}" for k, v in values.items())
            cfg = _parse(d, self.source, check=False, cell=label, grid=keys)
            out.append(Cell(i, values, cfg))
        return out

    def check(self) -> None:
        """Check every cell's pass-through keys against the other parts (registries, signatures)."""
        for cell in self.cells():
            label = ", ".join(f"{k}={_fmt(v)}" for k, v in cell.values.items())
            _check_passthrough(cell.config, _Checker(self.source, label, self.grid))


# ---- loading ------------------------------------------------------------------
def load_config(source: str | Path | Mapping | Experiment, overrides: Iterable[str] = (),
                *, seeds: int | Iterable[int] | None = None, check: bool = True) -> Experiment:
    """Read and validate an experiment.

    Parameters
    ----------
    source : path of a TOML file, a dict with the same layout, or an Experiment.
    overrides : ``"section.key=value"`` strings (the CLI's ``--set``); the value is
        read as a TOML value (``3``, ``0.5``, ``true``, ``[2, 3]``, ``"x"``), or taken
        as a string if it is not one (``grammar.name=tomita3``). ``grid.model.n_hidden=[2,3]``
        sets a grid axis.
    seeds : replaces the file's ``seeds`` (a count or a list).
    check : also check pass-through keys against the other parts' registries and
        signatures (imports grammars, models, training, analysis).
    """
    if isinstance(source, Experiment):
        data, name = source.to_dict(), source.source
    elif isinstance(source, Mapping):
        data, name = copy.deepcopy(dict(source)), "<dict>"
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise FileNotFoundError(f"experiment file not found: {path}")
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: not valid TOML: {err}") from None
        data.setdefault("name", path.stem)
    for item in overrides:
        apply_override(data, item, name)
    if seeds is not None:
        data["seeds"] = seeds if isinstance(seeds, int) else list(seeds)
    exp = _parse(data, name, check=False)
    exp.cells()  # each cell's structure (grid values substituted) is valid
    if check:
        exp.check()
    return exp


def apply_override(data: dict, item: str, source: str = "<overrides>") -> None:
    """Apply one ``key=value`` override to a raw config dict, in place."""
    if "=" not in item:
        raise ValueError(f"{source}: override {item!r}: expected KEY=VALUE, e.g. model.n_hidden=3")
    key, text = (s.strip() for s in item.split("=", 1))
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    if key.startswith("grid."):
        data.setdefault("grid", {})[key[5:]] = value
        return
    if key in data.get("grid", {}):
        raise ValueError(f"{source}: override {key} = {_fmt(value)}: {key!r} is a grid axis; "
                         f"set grid.{key}=[...] instead")
    _set_dotted(data, key, value)


def _set_dotted(d: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    for p in parts[:-1]:
        if not isinstance(d.get(p), dict):
            d[p] = {}
        d = d[p]
    d[parts[-1]] = value


def _parse(data: Mapping, source: str, check: bool, cell: str = "",
           grid: Iterable[str] = ()) -> Experiment:
    c = _Checker(source, cell, grid)
    for key, value in data.items():
        if key not in TOP_KEYS:
            c.unknown("", key, value, TOP_KEYS)
    for s in SECTIONS:
        v = data.get(s, {})
        if not isinstance(v, dict):
            c.fail(f"[{s}]", v, "must be a table")
    for s in ("grammar", "task", "model", "training"):
        if s not in data:
            c.fail(f"[{s}]", None, "missing section (required: [grammar], [task], [model], [training])")

    name = c.str_("name", data.get("name", "experiment"))
    if any(ch in name for ch in "/\\") or name in (".", ".."):
        c.fail("name", name, "must be usable as a directory name (no '/' or '\\')")
    seeds = _seeds(c, data.get("seeds", 1))
    chunk = c.int_("chunk_size", data.get("chunk_size", DEFAULT_CHUNK), 1)

    grammar = dict(data["grammar"])
    c.str_("[grammar] name", grammar.get("name"))
    task = dict(data["task"])
    c.str_("[task] kind", task.get("kind"), TASK_KINDS)
    model = dict(data["model"])
    c.str_("[model] kind", model.get("kind"))
    c.int_("[model] n_hidden", model.get("n_hidden"), 1)
    for reserved in ("n_in", "n_out", "ensemble", "seed", "alphabet"):
        if reserved in model:
            c.fail(f"[model] {reserved}", model[reserved],
                   "set by the runner (n_in, n_out, alphabet from the task; ensemble, seed from "
                   "seeds); remove it")
    training = dict(data["training"])
    c.str_("[training] method", training.get("method"), METHODS)

    evaluation = {**EVALUATION_DEFAULTS, **data.get("evaluation", {})}
    for key, value in evaluation.items():
        if key not in EVALUATION_DEFAULTS:
            c.unknown("evaluation", key, value, EVALUATION_DEFAULTS)
        c.int_(f"[evaluation] {key}", value, 0)

    analysis = {k: False for k in ANALYSES}
    for key, value in data.get("analysis", {}).items():
        if key not in ANALYSES:
            c.unknown("analysis", key, value, ANALYSES)
        if not isinstance(value, (bool, dict)):
            c.fail(f"[analysis] {key}", value, "must be true, false or a table of options")
        analysis[key] = value

    grid = {}
    raw_grid = data.get("grid", {})
    if not isinstance(raw_grid, dict):
        c.fail("[grid]", raw_grid, "must be a table of dotted keys to lists")
    for key, values in raw_grid.items():
        _grid_key(c, key, data)
        if not isinstance(values, list) or not values:
            c.fail(f"[grid] {_fmt(key)}", values, "must be a non-empty list of values")
        grid[key] = tuple(values)

    exp = Experiment(name=name, seeds=seeds, chunk_size=chunk, grammar=grammar,
                     task=task, model=model, training=training, evaluation=evaluation,
                     analysis=analysis, grid=grid, source=source)
    if check:
        _check_passthrough(exp, c)
    return exp


def _seeds(c: _Checker, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        c.int_("seeds", value, 1)
        return tuple(range(value))
    if isinstance(value, (list, tuple)) and value:
        for s in value:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                c.fail("seeds", list(value), "must be a count >= 1 or a list of integers >= 0")
        if len(set(value)) != len(value):
            c.fail("seeds", list(value), "must not repeat a seed")
        return tuple(value)
    c.fail("seeds", value, "must be a count >= 1 or a non-empty list of integers >= 0")


def _grid_key(c: _Checker, key: str, data: Mapping) -> None:
    section, _, sub = key.partition(".")
    if section not in SECTIONS or not sub:
        c.fail(f"[grid] {_fmt(key)}", data["grid"][key],
               "grid keys are 'section.key' with section one of " + ", ".join(SECTIONS))
    if section == "evaluation" and sub not in EVALUATION_DEFAULTS:
        c.unknown("grid", key, data["grid"][key], [f"evaluation.{k}" for k in EVALUATION_DEFAULTS])
    if section == "analysis" and sub.split(".")[0] not in ANALYSES:
        c.unknown("grid", key, data["grid"][key], [f"analysis.{k}" for k in ANALYSES])


# ---- pass-through keys: checked against the parts that receive them --------------
def accepted_keywords(fn, skip: int = 0) -> set[str] | None:
    """Keyword names ``fn`` accepts after its first ``skip`` parameters; None if it takes ``**kwargs``."""
    params = list(inspect.signature(fn).parameters.values())[skip:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_keys(c: _Checker, section: str, given: Mapping, fn, skip: int, fixed: Iterable[str],
                what: str, prefix: str = "", extra: Iterable[str] = ()) -> None:
    accepted = accepted_keywords(fn, skip)
    if accepted is None:
        return
    accepted = (accepted - set(fixed)) | set(extra)
    for key, value in given.items():
        if key not in accepted:
            c.fail(f"[{section}] {prefix}{key}", value,
                   f"unknown key for {what}; valid keys: " + ", ".join(sorted(accepted)))


# [training] keys the worker uses itself: a published training set for fit(strings=...), and
# the population size of one evolutionary run (strategies es, cmaes, ga; default 20).
TRAINING_EXTRAS = {"bptt": ("training_set",), "evolution": ("training_set", "population")}
# What the worker passes itself (not configurable) to each analysis function.
ANALYSIS_FUNCTIONS = {"fixed_points": ("find_fixed_points", 2, ("member", "starts")),
                      "solution_type": ("counting_solution", 2, ("member", "starts")),
                      "dfa": ("extract_dfa", 2, ("member",))}


def _check_passthrough(exp: Experiment, c: _Checker) -> None:
    from dynrec import analysis, grammars, models, training

    gname = exp.grammar["name"]
    names = tuple(grammars.names())
    if gname not in names:
        c.fail("[grammar] name", gname, "unknown grammar; valid: " + ", ".join(names))
    kinds = tuple(models.names())
    if exp.model["kind"] not in kinds:
        c.fail("[model] kind", exp.model["kind"], "unknown model kind; valid: " + ", ".join(kinds))

    task_cls = grammars.PredictionTask if exp.task["kind"] == "prediction" else grammars.RecognitionTask
    _check_keys(c, "task", {k: v for k, v in exp.task.items() if k != "kind"}, task_cls, 1, (),
                f"grammars.{task_cls.__name__}")
    family = models.KINDS[exp.model["kind"]]
    valid = set(family.DEFAULTS) | {"dtype", "device"}
    for key, value in exp.model.items():
        if key not in valid | {"kind", "n_hidden"}:
            c.fail(f"[model] {key}", value, f"unknown option for model kind {exp.model['kind']!r}; "
                   "valid: kind, n_hidden, " + ", ".join(sorted(valid)))
    trainer = training.BPTT if exp.training["method"] == "bptt" else training.Evolution
    _check_keys(c, "training", {k: v for k, v in exp.training.items() if k != "method"}, trainer, 0,
                (), f"training.{trainer.__name__}",
                extra=TRAINING_EXTRAS[exp.training["method"]])
    for key, (fn_name, skip, fixed) in ANALYSIS_FUNCTIONS.items():
        opts = exp.analysis[key]
        if isinstance(opts, dict):
            if not hasattr(analysis, fn_name):
                c.fail(f"[analysis] {key}", opts, f"dynrec.analysis.{fn_name} is not available")
            _check_keys(c, "analysis", opts, getattr(analysis, fn_name), skip, fixed,
                        f"analysis.{fn_name}", prefix=f"{key}.")
