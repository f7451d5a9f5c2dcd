"""Hidden-state trajectories along strings, their PCA, and the vector field F_x(h) - h.

Elman (1990) and Wiles & Elman (1995) read the solution off plots of the hidden
states along strings (principal components when there are more than a few
units) and of where each input's map pushes the state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._common import analysis_copy, encode_strings, input_word, run_states, word_label


@dataclass
class Trajectories:
    """States along strings: ``states [E, N, S]`` with one row per (string, position).

    Row labels (``[N]`` each): ``string_index`` (into ``strings``), ``position``
    (0 = the initial state, t = after the t-th symbol) and ``symbol`` (the symbol
    just read; ``""`` at position 0). ``members`` maps the E axis to the original
    ensemble indices.
    """

    strings: tuple
    states: np.ndarray
    string_index: np.ndarray
    position: np.ndarray
    symbol: np.ndarray
    members: np.ndarray

    def __len__(self) -> int:
        return len(self.strings)

    def _e(self, member) -> int:
        if member is None:
            if len(self.members) != 1:
                raise ValueError(f"several members {self.members.tolist()}: pick one with member=")
            return 0
        where = np.nonzero(self.members == member)[0]
        if not len(where):
            raise ValueError(f"member {member!r} not in the trajectories; members: {self.members.tolist()}")
        return int(where[0])

    def of(self, k: int, member=None) -> np.ndarray:
        """States ``[len(strings[k]) + 1, S]`` along string k."""
        if not 0 <= k < len(self.strings):
            raise ValueError(f"string index {k} out of range 0..{len(self.strings) - 1}")
        return self.states[self._e(member), self.string_index == k]

    def to_frame(self, member=None):
        """A DataFrame: ``member, string, string_index, position, symbol, h0..h{S-1}``."""
        import pandas as pd

        e = self._e(member)
        df = pd.DataFrame({"member": self.members[e], "string": np.asarray(self.strings, dtype=object)[self.string_index],
                           "string_index": self.string_index, "position": self.position, "symbol": self.symbol})
        for j in range(self.states.shape[-1]):
            df[f"h{j}"] = self.states[e, :, j]
        return df

    def pca(self, n: int = 2, member=None):
        """Principal components of one member's states (scikit-learn ``PCA``).

        Returns ``(coords [N, n], pca)``; ``pca.transform`` projects other states
        (fixed points, say) into the same plane.
        """
        from sklearn.decomposition import PCA

        S = self.states.shape[-1]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= S:
            raise ValueError(f"n must be an int in 1..{S} (state size), got {n!r}")
        X = self.states[self._e(member)]
        model = PCA(n_components=int(n)).fit(X)
        return model.transform(X), model


def trajectories(net, strings, member=None, *, alphabet=None, dtype=torch.float64) -> Trajectories:
    """Hidden states of the chosen members along each string (from ``net.initial_state``), labelled.

    ``strings``: a str or a list of str over ``net.alphabet`` (or ``alphabet``).
    """
    sub, idx = analysis_copy(net, member, dtype)
    if isinstance(strings, str):
        strings = [strings]
    strings = tuple(strings)
    if not strings:
        raise ValueError("strings must hold at least one string")
    x, lengths = encode_strings(sub, strings, alphabet, dtype)
    st = run_states(sub, x, lengths)  # [E, B, T+1, S]
    T1 = st.shape[2]
    valid = torch.arange(T1)[None, :] <= lengths[:, None]  # [B, T+1]
    b_idx, t_idx = torch.nonzero(valid, as_tuple=True)
    symbol = np.array([strings[b][t - 1] if t else "" for b, t in zip(b_idx.tolist(), t_idx.tolist())], dtype="<U1")
    return Trajectories(strings, st[:, b_idx, t_idx].numpy(), b_idx.numpy(), t_idx.numpy(), symbol, np.asarray(idx))


@dataclass
class VectorField:
    """``delta = F_x(h) - h`` at grid points: ``points [E, G, S]``, ``delta [E, G, S]``.

    ``coords [G, 2]`` are the grid coordinates in the plane (``axes`` = the two
    unit indices, or the plane's basis ``[2, S]``); ``shape`` reshapes G for
    ``matplotlib.pyplot.quiver``.
    """

    word: str
    coords: np.ndarray
    points: np.ndarray
    delta: np.ndarray
    shape: tuple
    members: np.ndarray
    basis: np.ndarray
    origin: np.ndarray


@torch.no_grad()
def vector_field(net, symbol, grid=21, member=None, *, bounds=(-1.0, 1.0), plane=None, origin=None,
                 alphabet=None, dtype=torch.float64) -> VectorField:
    """``F_x(h) - h`` on a square grid in a plane of the state space, for the chosen members.

    Args:
        symbol: as in `find_fixed_points` (a word gives the composed map).
        grid: points per axis (int) or the two 1-D coordinate arrays.
        bounds: ``(low, high)`` of both axes when ``grid`` is an int.
        plane: ``[2, S]`` basis of the plane (e.g. ``pca.components_``); default the
            first two state units (or the one unit, for S = 1).
        origin: ``[S]`` point the plane goes through (default zeros; e.g. ``pca.mean_``).
    """
    sub, idx = analysis_copy(net, member, dtype)
    S = int(sub.state_size)
    word = input_word(sub, symbol, alphabet, dtype)
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        if grid < 2:
            raise ValueError(f"grid must be >= 2 points per axis, got {grid}")
        axes = [np.linspace(bounds[0], bounds[1], int(grid))] * (2 if S > 1 else 1)
    else:
        axes = [np.asarray(a, dtype=np.float64) for a in grid]
        if len(axes) != (2 if S > 1 else 1):
            raise ValueError(f"grid needs {2 if S > 1 else 1} coordinate arrays for S={S}, got {len(axes)}")
    mesh = np.meshgrid(*axes, indexing="xy")
    coords = np.stack([m.reshape(-1) for m in mesh], axis=1)
    if plane is None:
        basis = np.eye(S)[: coords.shape[1]]
    else:
        basis = np.asarray(plane, dtype=np.float64)
        if basis.shape != (coords.shape[1], S):
            raise ValueError(f"plane must have shape [{coords.shape[1]}, {S}], got {basis.shape}")
    o = np.zeros(S) if origin is None else np.asarray(origin, dtype=np.float64).reshape(S)
    pts = torch.as_tensor(o + coords @ basis, dtype=dtype)
    E = int(sub.ensemble)
    h = pts[None].expand(E, -1, -1).contiguous()
    g = h
    for k in range(word.shape[0]):
        g = sub.step(g, word[k].expand(E, g.shape[1], word.shape[1]))
    return VectorField(word_label(sub, symbol, alphabet), coords, h.numpy(), (g - h).numpy(), mesh[0].shape,
                       np.asarray(idx), basis, o)
