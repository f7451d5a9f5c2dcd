"""`FixedPoints`: the result of the fixed-point finder, with its linearisation.

One row per point (of any member): the state h*, the residual |F(h*) - h*|,
the Jacobian dF/dh at h*, its eigenvalues (sorted by decreasing modulus) and
eigenvectors (columns, same order), and two labels:

* ``stability``: ``attracting`` (every |λ| < 1), ``repelling`` (every |λ| > 1),
  ``saddle`` (some of each), or ``marginal`` (some |λ| within ``marginal_tol``
  of 1: not hyperbolic, the linearisation does not decide);
* ``dominant``: how the eigenvalue of largest modulus moves the state along its
  eigenvector — ``monotonic`` (real > 0), ``oscillating`` (real < 0: the state
  flips side every step, as in Rodriguez, Wiles & Elman 1999) or ``spiral``
  (complex pair: rotation).

``kind`` is ``fixed`` for zeros of F(h) - h and ``slow`` for the slow points of
Sussillo & Barak (2013), local minima of q = |F(h) - h|²/2 that are not zeros.
Saved as ``.npz`` without pickles (``save``/``load``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STABILITY = ("attracting", "repelling", "saddle", "marginal")
DOMINANT = ("monotonic", "oscillating", "spiral")
KINDS = ("fixed", "slow")


@dataclass(frozen=True)
class FixedPoint:
    """One point of a `FixedPoints` set (plain numpy values)."""

    member: int
    state: np.ndarray
    residual: float
    jacobian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    stability: str
    dominant: str
    kind: str
    minimal_period: int

    @property
    def dominant_eigenvalue(self) -> complex:
        return complex(self.eigenvalues[0])


def classify(eigenvalues: np.ndarray, marginal_tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Stability and dominant-eigenvalue labels for eigenvalues ``[N, S]`` sorted by decreasing modulus."""
    mods = np.abs(eigenvalues)
    stability = np.where(
        (np.abs(mods - 1.0) <= marginal_tol).any(axis=1), "marginal",
        np.where((mods < 1).all(axis=1), "attracting", np.where((mods > 1).all(axis=1), "repelling", "saddle")))
    lead = eigenvalues[:, 0] if eigenvalues.shape[0] else np.zeros(0, complex)
    complex_lead = np.abs(lead.imag) > 1e-12 * np.maximum(1.0, np.abs(lead))
    dominant = np.where(complex_lead, "spiral", np.where(lead.real < 0, "oscillating", "monotonic"))
    return stability.astype("<U10"), dominant.astype("<U11")


@dataclass
class FixedPoints:
    """Fixed (or slow, or periodic) points of ``F_x(h) = net.step(h, x)`` for a set of members.

    Arrays (N points, S state units): ``member [N]`` (index in the original
    ensemble), ``states [N,S]``, ``residuals [N]``, ``jacobians [N,S,S]``,
    ``eigenvalues [N,S]`` (complex, by decreasing modulus), ``eigenvectors [N,S,S]``
    (complex, column k belongs to eigenvalue k), ``stability [N]``, ``dominant [N]``,
    ``kind [N]``, ``minimal_period [N]`` (in repetitions of the word; 1 for a plain
    fixed point). Bookkeeping: ``members`` analysed, ``n_starts`` per member,
    ``n_dropped [M]`` starts per member that converged to no point, ``word``
    (the map, e.g. ``"a"`` or ``"ab"`` for F_b∘F_a) and ``period`` (repetitions).
    """

    member: np.ndarray
    states: np.ndarray
    residuals: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    stability: np.ndarray
    dominant: np.ndarray
    kind: np.ndarray
    minimal_period: np.ndarray
    members: np.ndarray
    n_starts: int
    n_dropped: np.ndarray
    word: str = ""
    period: int = 1
    meta: dict = field(default_factory=dict)

    _ROW_FIELDS = ("member", "states", "residuals", "jacobians", "eigenvalues", "eigenvectors",
                   "stability", "dominant", "kind", "minimal_period")

    # ----- container protocol
    def __len__(self) -> int:
        return int(self.member.shape[0])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, i):
        if isinstance(i, (int, np.integer)):
            n = len(self)
            if not -n <= i < n:
                raise IndexError(f"point index {i} out of range for {n} points")
            return FixedPoint(int(self.member[i]), self.states[i], float(self.residuals[i]), self.jacobians[i],
                              self.eigenvalues[i], self.eigenvectors[i], str(self.stability[i]),
                              str(self.dominant[i]), str(self.kind[i]), int(self.minimal_period[i]))
        return self._subset(np.asarray(i))

    def _subset(self, index) -> "FixedPoints":
        rows = {f: getattr(self, f)[index] for f in self._ROW_FIELDS}
        return FixedPoints(**rows, members=self.members, n_starts=self.n_starts, n_dropped=self.n_dropped,
                           word=self.word, period=self.period, meta=dict(self.meta))

    # ----- selection
    def select(self, member=None, stability=None, dominant=None, kind=None) -> "FixedPoints":
        """The points of the given member(s) / stability label(s) / dominant label(s) / kind(s)."""
        keep = np.ones(len(self), dtype=bool)
        for name, value, valid in (("stability", stability, STABILITY), ("dominant", dominant, DOMINANT),
                                   ("kind", kind, KINDS)):
            if value is None:
                continue
            values = [value] if isinstance(value, str) else list(value)
            bad = [v for v in values if v not in valid]
            if bad:
                raise ValueError(f"{name} {bad[0]!r} is not one of {valid}")
            keep &= np.isin(getattr(self, name), values)
        if member is not None:
            values = [member] if isinstance(member, (int, np.integer)) else list(member)
            bad = [v for v in values if v not in set(self.members.tolist())]
            if bad:
                raise ValueError(f"member {bad[0]!r} was not analysed; members: {self.members.tolist()}")
            keep &= np.isin(self.member, values)
        return self._subset(np.nonzero(keep)[0])

    @property
    def dominant_eigenvalues(self) -> np.ndarray:
        """``[N]`` complex: the eigenvalue of largest modulus of each point."""
        return self.eigenvalues[:, 0] if len(self) else np.zeros(0, complex)

    def count(self) -> np.ndarray:
        """Number of points per analysed member, ``[M]`` in the order of ``members``."""
        return np.array([(self.member == m).sum() for m in self.members])

    # ----- reports
    def to_frame(self):
        """A pandas DataFrame: one row per point; state units ``h0..``, eigenvalues ``lambda0..`` (complex)."""
        import pandas as pd

        data = {"member": self.member, "kind": self.kind, "stability": self.stability,
                "dominant": self.dominant, "residual": self.residuals, "minimal_period": self.minimal_period}
        for j in range(self.states.shape[1] if self.states.ndim == 2 else 0):
            data[f"h{j}"] = self.states[:, j]
        for j in range(self.eigenvalues.shape[1] if self.eigenvalues.ndim == 2 else 0):
            data[f"lambda{j}"] = self.eigenvalues[:, j]
            data[f"abs_lambda{j}"] = np.abs(self.eigenvalues[:, j])
        return pd.DataFrame(data)

    def summary(self) -> str:
        """A short human-readable account: counts by label, convergence, worst residual."""
        name = f"F_{self.word}" + (f"^{self.period}" if self.period > 1 else "")
        lines = [f"{len(self)} points of {name} over {len(self.members)} member(s); "
                 f"{self.n_starts} starts per member, {int(self.n_dropped.sum())} starts dropped (not converged)"]
        if len(self):
            lines.append(f"max residual {self.residuals.max():.3g}")
            for k in KINDS:
                sel = self.kind == k
                if not sel.any():
                    continue
                parts = []
                for s in STABILITY:
                    for d in DOMINANT:
                        c = int((sel & (self.stability == s) & (self.dominant == d)).sum())
                        if c:
                            parts.append(f"{c} {s}/{d}")
                lines.append(f"{k}: " + ", ".join(parts))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"FixedPoints({self.summary().splitlines()[0]})"

    # ----- persistence (npz, no pickles)
    def save(self, path) -> Path:
        """Write ``path`` (``.npz``; no pickled objects)."""
        path = Path(path)
        arrays = {f: np.asarray(getattr(self, f)) for f in self._ROW_FIELDS}
        arrays["members"] = np.asarray(self.members)
        arrays["n_dropped"] = np.asarray(self.n_dropped)
        header = {"n_starts": int(self.n_starts), "word": self.word, "period": int(self.period), "meta": self.meta}
        arrays["header"] = np.array(json.dumps(header))
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        return path

    @classmethod
    def load(cls, path) -> "FixedPoints":
        """Read a file written by `save`."""
        with np.load(Path(path), allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            rows = {f: z[f] for f in cls._ROW_FIELDS}
            return cls(**rows, members=z["members"], n_dropped=z["n_dropped"], n_starts=header["n_starts"],
                       word=header["word"], period=header["period"], meta=header.get("meta", {}))
