"""Lyapunov exponents of the input-driven map along a trajectory, by the QR (Benettin) method.

Benettin, Galgani, Giorgilli & Strelcyn (1980), "Lyapunov characteristic
exponents for smooth dynamical systems ... Part 2: numerical application",
Meccanica 15; in the QR form of Eckmann & Ruelle (1985), "Ergodic theory of
chaos and strange attractors", Rev. Mod. Phys. 57, section IV.C (eq. 4.13):
along the trajectory h_t = F(h_{t-1}, x_t) of a string, with J_t = dF/dh at
(h_{t-1}, x_t), start from Q_0 (the first k columns of the identity) and
re-orthonormalise after every step,

    J_t Q_{t-1} = Q_t R_t   (QR, R_t upper triangular),
    lambda_i = (1/n) sum_{t} log |(R_t)_{ii}|,    i = 1..k,

over the n counted steps.  lambda_1 >= ... >= lambda_k are the average
exponential growth rates of k-volumes; all negative means the input-driven
map contracts (nearby states merge, the network forgets its initial state),
a positive lambda_1 means it separates them.  For a linear map h -> A h they
are the logarithms of the moduli of A's eigenvalues (exactly so for a normal
A; lambda_1 -> log of the spectral radius for any A).

Every member and string runs at once: the states come from ``net.step`` and
the Jacobians of all steps from one batched call (see :func:`step_jacobians`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._common import analysis_copy, run_states
from .gradient_flow import _as_inputs, step_jacobians

__all__ = ["LyapunovExponents", "lyapunov_exponents"]


@dataclass
class LyapunovExponents:
    """Lyapunov exponents per member (pooled over the strings) and per string.

    Attributes:
        exponents: [E, k] pooled over every counted step of every string, descending.
        per_string: [E, B, k] per string (NaN where a string has no counted step).
        steps: [B] counted steps per string (its length minus ``discard``).
        members: original member index of each of the E rows.
        strings: the strings (None when raw inputs were given); kind: the network's kind.
    """

    exponents: np.ndarray
    per_string: np.ndarray
    steps: np.ndarray
    members: list
    strings: tuple | None
    kind: str

    @property
    def largest(self) -> np.ndarray:
        """[E]: the largest exponent of every member."""
        return self.exponents[:, 0]

    def to_frame(self):
        """pandas DataFrame, one row per (member, index i): the pooled exponent lambda_i."""
        import pandas as pd

        E, k = self.exponents.shape
        return pd.DataFrame({"member": np.repeat(np.asarray(self.members), k), "index": np.tile(np.arange(k), E),
                             "exponent": self.exponents.reshape(-1), "kind": self.kind,
                             "steps": int(self.steps.sum())})

    def summary(self) -> str:
        lines = [f"Lyapunov exponents of {self.kind} ({len(self.members)} members, {int(self.steps.sum())} steps)"]
        for e, m in enumerate(self.members):
            lines.append(f"  member {m}: " + ", ".join(f"{v:.4g}" for v in self.exponents[e]))
        return "\n".join(lines)


def lyapunov_exponents(net, strings, member=None, k: int | None = None, discard: int = 0,
                       alphabet=None) -> LyapunovExponents:
    """Lyapunov exponents of h -> step(h, x_t) along the trajectories of ``strings`` (QR method).

    Args:
        net: a dynrec model (or anything with the models contract's ``step``).
        strings: a string or list of strings (one-hot in ``net.alphabet`` or ``alphabet``),
            a ``grammars.Batch``, or inputs [B,T,I] / [T,I].  Long strings give sharper
            estimates (the error falls like 1/length).
        member: None (all), an int or a list of member indices.
        k: how many exponents (1..S; default S = ``net.state_size``).
        discard: steps at the start of each string used to align the frame but not counted
            (a transient).
    Returns a :class:`LyapunovExponents`; ``exponents[e]`` is descending, ``-inf`` where the
    map collapses a direction in one step (a zero singular value).
    """
    sub, idx = analysis_copy(net, member)
    x, lengths, names, _ = _as_inputs(sub, strings, alphabet)
    E, S = int(sub.ensemble), int(sub.state_size)
    k = S if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= S:
        raise ValueError(f"k must be an int in [1, state_size={S}], got {k!r}")
    if isinstance(discard, bool) or not isinstance(discard, (int, np.integer)) or discard < 0:
        raise ValueError(f"discard must be an int >= 0, got {discard!r}")
    B, T, I = x.shape
    counted = (lengths - discard).clamp(min=0)
    if int(counted.sum()) == 0:
        raise ValueError(f"no step to count: the strings have lengths {lengths.tolist()} and discard={discard}")
    states = run_states(sub, x, lengths)
    J = step_jacobians(sub, states[:, :, :-1].reshape(E, B * T, S), x.reshape(B * T, I)).reshape(E, B, T, S, S)
    Q = torch.eye(S, k, dtype=torch.float64).expand(E, B, S, k)
    logs = torch.zeros(E, B, k, dtype=torch.float64)
    for t in range(T):
        live = (t < lengths)[None, :, None]                   # rows still inside their string
        q, r = torch.linalg.qr(J[:, :, t] @ Q)
        Q = torch.where(live[..., None], q, Q)
        count = (live & (t >= discard))
        with torch.no_grad():
            logs = logs + torch.where(count, r.diagonal(dim1=-2, dim2=-1).abs().log(), torch.zeros_like(logs))
    n = counted.to(torch.float64)[None, :, None]
    per_string = torch.where(n > 0, logs / n.clamp(min=1), torch.full_like(logs, float("nan")))
    pooled = logs.sum(1) / counted.sum()
    pooled = pooled.sort(-1, descending=True).values
    return LyapunovExponents(exponents=pooled.numpy(), per_string=per_string.sort(-1, descending=True).values.numpy(),
                             steps=counted.numpy(), members=idx, strings=names,
                             kind=str(getattr(net, "kind", type(net).__name__)))
