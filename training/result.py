"""`TrainResult`: what a training run returns, one entry per member, as plain data.

Plain lists, dicts, ints, floats, strings and None only (docs/CONTRACTS.md), so
it saves as JSON and loads back equal. Non-finite numbers (a diverged member's
loss) are stored as None, which pandas reads as NaN.
"""

from __future__ import annotations

import gc
import json
import math
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


_SCALARS = {float, int, bool, str, type(None)}
_FLOAT = {float}


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building many small containers: a 4096-member
    history is ~25k lists, and the collections they trigger walk every object of the process
    (torch's included) - 3x the time of building them.  Nothing built here forms a cycle."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def plain(value):
    """Recursively convert numpy/torch scalars and arrays to JSON-safe Python values;
    non-finite floats become None."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        # the common case, a history column of Python scalars: no recursive call per element
        # (30x faster on a 4096-member history)
        kinds = set(map(type, value))
        if kinds <= _SCALARS:
            if float not in kinds or (kinds == _FLOAT and math.isfinite(sum(value))):
                return list(value)      # (a finite sum of floats: every one of them is finite)
            return [v if type(v) is not float or math.isfinite(v) else None for v in value]
        return [plain(v) for v in value]
    if kind is dict:
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return value
    raise ValueError(f"cannot store {type(value).__name__} {value!r} in a TrainResult")


class MemberHistory:
    """The per-member history of a trainer, recorded one epoch (generation) at a time for all
    members at once and turned into the per-member lists of :attr:`TrainResult.history` at the end.

    ``record(live, **columns)`` takes the members recorded this epoch (bool ``[E]``) and one
    value per member for each column (an ``[E]`` array, or a scalar shared by all); a member
    gets an entry only in the epochs where it was live.  Appending E Python values per
    column every epoch cost more than the training step itself at E = 4096; here an epoch
    costs a few array copies, and :meth:`lists` one ``tolist`` per column.
    """

    def __init__(self, ensemble: int, columns: dict):
        """``columns``: name -> numpy dtype of the values (``int``, ``float``, ``bool``)."""
        self.ensemble = ensemble
        self.dtypes = dict(columns)
        self._live: list[np.ndarray] = []
        self._values: dict[str, list[np.ndarray]] = {k: [] for k in columns}

    def record(self, live, **columns) -> None:
        missing = set(self.dtypes) ^ set(columns)
        if missing:
            raise ValueError(f"record() needs exactly the columns {sorted(self.dtypes)}, "
                             f"got {sorted(columns)}")
        E = self.ensemble
        self._live.append(np.array(live, dtype=bool).reshape(E))
        for k, v in columns.items():
            self._values[k].append(np.broadcast_to(np.asarray(v, dtype=self.dtypes[k]), (E,)).copy())

    def lists(self) -> list[dict]:
        """Per member, ``{column: [value per epoch it was live]}`` with Python values."""
        with _gc_paused():
            return self._lists()

    def _lists(self) -> list[dict]:
        E = self.ensemble
        if not self._live:
            return [{k: [] for k in self.dtypes} for _ in range(E)]
        live = np.stack(self._live, 1)                               # [E, epochs]
        count = live.sum(1)
        prefix = bool((live == (np.arange(live.shape[1]) < count[:, None])).all())
        rows = {}
        for k, parts in self._values.items():
            table = np.stack(parts, 1).tolist()                      # [E][epochs], Python values
            if prefix:     # frozen members never come back: each member's live epochs come first
                rows[k] = [r[:n] for r, n in zip(table, count.tolist())]
            else:
                rows[k] = [[v for v, ok in zip(r, m) if ok] for r, m in zip(table, live.tolist())]
        return [{k: rows[k][e] for k in self.dtypes} for e in range(E)]


@dataclass
class TrainResult:
    """Outcome of ``BPTT.fit`` / ``Evolution.fit``; lists hold one entry per member.

    Attributes
    ----------
    method : ``"bptt"`` or ``"evolution"``.
    config : the trainer's settings (plain data).
    member_seeds : the data seed of each member.
    history : per member, ``{"epoch": [...], "loss": [...], "accuracy": [...], ...}``,
        one value per epoch (BPTT) or generation (evolution); ``stage`` holds the
        curriculum stage in force.
    converged : per member, whether the stopping criterion (on the last curriculum
        stage) was met.
    epochs_to_criterion : per member, the epoch (1-based; generation for evolution)
        at which it was met, or None.
    strings_seen : per member, training strings presented (for evolution: strings
        evaluated per individual, summed over generations).
    diverged : per member, whether its loss, gradient or weights went non-finite
        (it was frozen from then on).
    final : per member, the metrics at the end of training (on the final evaluation set).
    log : run-level records (the population logbook for evolution).
    """

    method: str
    config: dict
    member_seeds: list
    history: list
    converged: list
    epochs_to_criterion: list
    strings_seen: list
    diverged: list
    final: list
    log: list = field(default_factory=list)

    def __post_init__(self):
        n = len(self.history)
        for name in ("member_seeds", "converged", "epochs_to_criterion", "strings_seen",
                     "diverged", "final"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} members")
        with _gc_paused():
            for name in ("config", "member_seeds", "history", "converged", "epochs_to_criterion",
                         "strings_seen", "diverged", "final", "log"):
                setattr(self, name, plain(getattr(self, name)))

    @property
    def n_members(self) -> int:
        return len(self.history)

    # -- plain data ----------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainResult:
        names = set(cls.__dataclass_fields__)
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown TrainResult fields {sorted(unknown)}; valid: {sorted(names)}")
        return cls(**data)

    def save(self, path) -> Path:
        """Write JSON (atomically: a temporary file, then rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), allow_nan=False))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> TrainResult:
        return cls.from_dict(json.loads(Path(path).read_text()))

    # -- views -----------------------------------------------------------------
    def to_frame(self, what: str = "history"):
        """A pandas DataFrame.

        ``what="history"``: one row per (member, epoch) with every history column.
        ``what="summary"``: one row per member: converged, epochs_to_criterion,
        strings_seen, diverged and the final metrics (prefixed ``final_``).
        """
        import pandas as pd

        if what == "history":
            rows = []
            for m, hist in enumerate(self.history):
                n = max((len(v) for v in hist.values()), default=0)
                for k in range(n):
                    row = {"member": m}
                    row.update({key: (vals[k] if k < len(vals) else None) for key, vals in hist.items()})
                    rows.append(row)
            return pd.DataFrame(rows)
        if what == "summary":
            rows = []
            for m in range(self.n_members):
                row = {"member": m, "seed": self.member_seeds[m], "converged": self.converged[m],
                       "epochs_to_criterion": self.epochs_to_criterion[m],
                       "strings_seen": self.strings_seen[m], "diverged": self.diverged[m]}
                row.update({f"final_{k}": v for k, v in self.final[m].items()})
                rows.append(row)
            return pd.DataFrame(rows)
        raise ValueError(f"what must be 'history' or 'summary', got {what!r}")

    def summary(self) -> str:
        """One line: how many members converged / diverged, and the median final accuracy."""
        acc = [f.get("accuracy") for f in self.final if f.get("accuracy") is not None]
        med = f"{float(np.median(acc)):.3f}" if acc else "n/a"
        return (f"{self.method}: {self.n_members} members, {sum(self.converged)} converged, "
                f"{sum(self.diverged)} diverged, median final accuracy {med}")

    def __repr__(self) -> str:
        return f"<TrainResult {self.summary()}>"
