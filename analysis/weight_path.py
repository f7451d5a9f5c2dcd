"""Fixed points and eigenvalues along a straight line in weight space.

Pollack (1991) saw a recogniser's induction as a phase transition: as the
weights move, fixed points appear, vanish or change stability (bifurcations).
``weight_path`` puts the networks w(α) = (1 - α) w_a + α w_b for ``steps``
values of α into ONE ensemble (member i is α_i) and runs the fixed-point finder
on all of them at once; plotting ``eigenvalue_frame()`` against α shows where
|λ| crosses 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._common import member_indices
from .fixed_points import find_fixed_points
from .points import FixedPoints


@dataclass
class WeightPath:
    """``alphas [steps]`` and the `FixedPoints` of the interpolated networks (member i = alphas[i])."""

    alphas: np.ndarray
    points: FixedPoints

    def counts(self) -> np.ndarray:
        """Number of fixed points at each α, ``[steps]``."""
        return self.points.count()

    def at(self, i: int) -> FixedPoints:
        """The points of the i-th network on the path."""
        return self.points.select(member=int(i))

    def eigenvalue_frame(self):
        """DataFrame with one row per (α, point): ``alpha``, labels, state, eigenvalues and their moduli."""
        df = self.points.to_frame()
        df.insert(0, "alpha", self.alphas[self.points.member])
        return df


def _flat(x, template, member, what):
    if isinstance(x, torch.Tensor) or isinstance(x, np.ndarray):
        v = torch.as_tensor(np.asarray(x) if isinstance(x, np.ndarray) else x).to(torch.float64).reshape(-1)
        if v.numel() != template.n_params_per_member:
            raise ValueError(f"{what} has {v.numel()} numbers; the network has {template.n_params_per_member} per member")
        return v
    i = member_indices(x, member)[0]
    return x.to_flat()[i].to(torch.float64)


def weight_path(net_a, net_b, symbol, steps: int = 21, *, member: int = 0, net=None, alphas=None,
                **find_kwargs) -> WeightPath:
    """Fixed points of F_x along w(α) = (1-α) w_a + α w_b, α in [0, 1] (or ``alphas``).

    ``net_a``/``net_b``: networks of the same architecture (``member`` picks the member of
    each), or flat weight vectors ``[P]`` (as ``net.to_flat()[i]``) with ``net`` giving the
    architecture (e.g. two training checkpoints). Other keyword arguments go to
    `find_fixed_points` (``n_random``, ``tol``, ``period``, ...).
    """
    template = net if net is not None else (net_a if hasattr(net_a, "to_flat") else net_b)
    if not hasattr(template, "to_flat"):
        raise ValueError("give at least one network, or net=... when both ends are flat vectors")
    wa = _flat(net_a, template, member, "net_a")
    wb = _flat(net_b, template, member, "net_b")
    if wa.numel() != wb.numel():
        raise ValueError(f"the two ends have {wa.numel()} and {wb.numel()} weights; they must match")
    if alphas is None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
            raise ValueError(f"steps must be an int >= 2, got {steps!r}")
        alphas = np.linspace(0.0, 1.0, int(steps))
    alphas = np.asarray(alphas, dtype=np.float64).reshape(-1)
    t_idx = member_indices(template, member)[0] if net is None or template is not net else 0
    path = template.select([t_idx] * len(alphas)).to(torch.float64)
    a = torch.as_tensor(alphas)[:, None]
    path.load_flat(((1 - a) * wa + a * wb).to(path.to_flat().dtype))
    fps = find_fixed_points(path, symbol, member=None, **find_kwargs)
    return WeightPath(alphas, fps)
