"""Stopping criteria and curricula (incremental training), shared by BPTT and evolution.

A *criterion* maps per-member metrics (the dict of ``[E]`` numpy arrays that
``training.evaluate`` returns) to a bool ``[E]``: which members are done.
Named criteria:

* ``"all_correct"`` - every string of the evaluation set entirely right
  (``string_accuracy == 1``): every deterministic prediction right, the usual
  stopping rule of Wiles & Elman (1995) / Rodriguez et al. (1999), or every
  output on the right side of 1/2 (Gers & Schmidhuber 2001, with ``"bce"``);
  for recognition, every string classified right.
* ``"accuracy"`` - ``accuracy == 1`` (same as ``"all_correct"`` for recognition).
* ``("loss", x)`` - mean per-string loss ``<= x``.
* any callable ``metrics -> bool [E]``.

A :class:`Curriculum` is a list of stages, each a training distribution:

* a dict of task options that replace the base task's (``{"n_range": (1, 3)}``,
  ``{"length_range": (0, 6)}``), for "starting small" by schedule (Elman 1993,
  "Learning and development in neural networks: the importance of starting
  small", Cognition 48: the input grows in complexity phase by phase) or the
  incremental method of Chalup & Blair (2003), "Incremental training of first
  order recurrent neural networks to predict a context-sensitive language",
  Neural Networks 16 (n grows by one once the current range is learned);
* a task object (sampled with its own ``sample``, encoded with the base task);
* a list of strings: a fixed training corpus for that stage (Elman's phases).

``advance="epochs"``: every member moves on after ``epochs[s]`` epochs of stage
``s`` (one number applies to every stage). ``advance="criterion"``: each member
moves on by itself as soon as ``criterion`` holds for it on its training strings
of the epoch; members may then be at different stages at once.
"""

from __future__ import annotations

import dataclasses

import numpy as np

NAMED_CRITERIA = ("all_correct", "accuracy")
ADVANCE = ("epochs", "criterion")


def resolve_criterion(spec):
    """A criterion spec -> callable(metrics dict) -> bool ``[E]`` (None stays None)."""
    if spec is None:
        return None
    if callable(spec):
        return spec
    if spec == "all_correct":
        return lambda m: np.asarray(m["string_accuracy"]) >= 1.0
    if spec == "accuracy":
        return lambda m: np.nan_to_num(np.asarray(m["accuracy"]), nan=0.0) >= 1.0
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] == "loss":
        limit = float(spec[1])
        return lambda m: np.nan_to_num(np.asarray(m["loss"]), nan=np.inf) <= limit
    raise ValueError(f"criterion must be None, one of {NAMED_CRITERIA}, ('loss', x) or a callable "
                     f"metrics -> bool[E], got {spec!r}")


def describe(spec) -> str | None:
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (tuple, list)):
        return f"{spec[0]}<={spec[1]}"
    return getattr(spec, "__name__", "callable")


def task_with(task, overrides: dict):
    """``task`` with some constructor options replaced (``n_range``, ``length_range``, ...)."""
    if not overrides:
        return task
    from dynrec import grammars

    if type(task) is grammars.PredictionTask:
        opts = {"stream": task.stream, "markers": task.markers, **task.sample_kwargs, **overrides}
        return grammars.PredictionTask(task.language, **opts)
    if type(task) is grammars.RecognitionTask:
        opts = {"length_range": task.length_range, "balance": task.balance,
                "near_fraction": task.near_fraction, **task.sample_kwargs, **overrides}
        return grammars.RecognitionTask(task.language, **opts)
    if hasattr(task, "replace"):
        return task.replace(**overrides)
    if dataclasses.is_dataclass(task):
        return dataclasses.replace(task, **overrides)
    raise ValueError(f"cannot derive a curriculum stage from {type(task).__name__}: it has no "
                     f"replace(**options); give the stage as a task instead")


@dataclasses.dataclass
class Curriculum:
    """Stages of training data; see the module docstring.

    Parameters
    ----------
    stages : list of dicts of task options, tasks, or lists of strings.
    advance : ``"epochs"`` or ``"criterion"``.
    epochs : epochs per stage (int, or one int per stage) when ``advance="epochs"``;
        the last stage lasts to the end of training.
    criterion : when ``advance="criterion"``, the criterion that moves a member on
        (default ``"all_correct"``).
    """

    stages: list
    advance: str = "epochs"
    epochs: int | list | None = None
    criterion: object = "all_correct"

    def __post_init__(self):
        self.stages = list(self.stages)
        if not self.stages:
            raise ValueError("a Curriculum needs at least one stage")
        for s in self.stages:
            if not isinstance(s, (dict, list, tuple)) and not hasattr(s, "sample"):
                raise ValueError(f"a stage must be a dict of task options, a task or a list of "
                                 f"strings, got {s!r}")
        if self.advance not in ADVANCE:
            raise ValueError(f"advance must be one of {ADVANCE}, got {self.advance!r}")
        if self.advance == "epochs":
            if self.epochs is None:
                raise ValueError("advance='epochs' needs epochs (per stage)")
            per = [self.epochs] * len(self.stages) if isinstance(self.epochs, int) else list(self.epochs)
            if len(per) != len(self.stages) or any(not isinstance(e, int) or e < 1 for e in per):
                raise ValueError(f"epochs must be an int >= 1 or one per stage ({len(self.stages)}), "
                                 f"got {self.epochs!r}")
            self._bounds = np.cumsum(per)
        else:
            resolve_criterion(self.criterion)

    @classmethod
    def n_range(cls, start: int, stop: int, step: int = 1, n_min: int = 1, advance: str = "criterion",
                epochs=None, criterion="all_correct") -> "Curriculum":
        """Stages ``n_range=(n_min, n)`` for n = start, start+step, ..., stop (Chalup & Blair 2003)."""
        if not (isinstance(start, int) and isinstance(stop, int) and isinstance(step, int)):
            raise ValueError(f"start, stop and step must be ints, got {start!r}, {stop!r}, {step!r}")
        if step < 1 or start < n_min or stop < start:
            raise ValueError(f"need n_min <= start <= stop and step >= 1, got n_min={n_min}, "
                             f"start={start}, stop={stop}, step={step}")
        ns = list(range(start, stop + 1, step))
        if ns[-1] != stop:
            ns.append(stop)
        return cls([{"n_range": (n_min, n)} for n in ns], advance=advance, epochs=epochs,
                   criterion=criterion)

    @property
    def n_stages(self) -> int:
        return len(self.stages)

    def stage_at_epoch(self, epoch: int) -> int:
        """Stage in force during ``epoch`` (1-based) for ``advance="epochs"``."""
        return int(min(np.searchsorted(self._bounds, epoch, side="left"), self.n_stages - 1))

    def stage_source(self, task, s: int):
        """Stage ``s`` as a task (to sample from) or a list of strings (a fixed corpus)."""
        stage = self.stages[s]
        if isinstance(stage, dict):
            return task_with(task, stage)
        if isinstance(stage, (list, tuple)):
            return list(stage)
        return stage

    def to_config(self) -> dict:
        stages = [dict(s) if isinstance(s, dict) else
                  (f"<{len(s)} strings>" if isinstance(s, (list, tuple)) else repr(s))
                  for s in self.stages]
        return {"stages": stages, "advance": self.advance, "epochs": self.epochs,
                "criterion": describe(self.criterion)}
