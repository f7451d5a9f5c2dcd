"""Hidden-state trajectories with the fixed points of each input's map.

The figure of Wiles & Elman (1995, Fig. 3-4) and Rodriguez, Wiles & Elman
(1999, Figs. 4-7): the hidden state of an SRN reading a^n b^n, one point per
step, coloured by the symbol just read and numbered by step; over it the fixed
point of the a-map (attracting, often oscillating) and of the b-map (a saddle),
with the eigenvectors of their Jacobians drawn as arrows whose length is the
eigenvalue's modulus -- outward along expanding directions (|lambda| > 1),
inward along contracting ones. In three dimensions the same figure shows the
"star" of Chalup & Blair (2003, Fig. 5) for a^n b^n c^n, and spiral counting
(complex eigenvalues; the real and imaginary parts of the eigenvector span the
plane of rotation and are both drawn). Above three units the states are
projected on their first principal components (scikit-learn PCA, fitted on the
plotted states); eigenvectors are projected by the same linear map.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._common import STABILITY_MARKERS, base_stability, fixed_point_sets, symbol_colors, to_numpy
from .house import drawing, new_axes

TRAJECTORY_GID = "trajectory"
FIXED_POINT_GID = "fixed-points"
EIGENVECTOR_GID = "eigenvectors"
NUMBER_GID = "step-numbers"


def _from_analysis(traj, member):
    """Runs and h0 of an ``analysis.Trajectories``: per string, the states after each symbol."""
    runs, h0 = [], None
    for k, string in enumerate(traj.strings):
        st = np.asarray(traj.of(k, member=member), dtype=float)
        runs.append((st[1:], list(string)))
        h0 = st[0] if h0 is None else h0
    return runs, h0


def _runs(states, symbols) -> list[tuple[np.ndarray, list[str] | None]]:
    """[(states [T,S], symbols of length T or None)] from the accepted inputs (see state_space)."""
    if hasattr(states, "states") and not isinstance(states, np.ndarray):
        traj = states
        states = traj.states
        if symbols is None:
            symbols = getattr(traj, "symbols", None)
            if symbols is None:
                symbols = getattr(traj, "strings", None)
        lengths = getattr(traj, "lengths", None)
        if lengths is not None and np.ndim(to_numpy(states)) == 3:
            arr = to_numpy(states, float)
            states = [arr[i, : int(n)] for i, n in enumerate(to_numpy(lengths).reshape(-1))]
    if isinstance(states, (list, tuple)):
        arrays = [to_numpy(s, float) for s in states]
    else:
        arr = to_numpy(states, float)
        if arr.ndim == 2:
            arrays = [arr]
        elif arr.ndim == 3:
            arrays = list(arr)
        else:
            raise ValueError(f"states must be [T,S], [N,T,S] or a list of [T,S] arrays, got shape {arr.shape}")
    if symbols is None:
        labels: list[list[str] | None] = [None] * len(arrays)
    elif isinstance(symbols, str):
        labels = [list(symbols)]
    else:
        symbols = list(symbols)
        if len(arrays) == 1 and symbols and all(isinstance(s, str) and len(s) == 1 for s in symbols) \
                and len(symbols) == len(arrays[0]):
            labels = [symbols]
        else:
            labels = [list(s) for s in symbols]
    if len(labels) != len(arrays):
        raise ValueError(f"got {len(arrays)} trajectories but symbols for {len(labels)}")
    runs = []
    for i, (a, lab) in enumerate(zip(arrays, labels)):
        if a.ndim != 2:
            raise ValueError(f"trajectory {i} must be [T,S], got shape {a.shape}")
        if lab is not None and len(lab) != len(a):
            raise ValueError(f"trajectory {i} has {len(a)} states but {len(lab)} symbols "
                             "(one symbol per state: the symbol just read)")
        runs.append((a, lab))
    return runs


class _Projection:
    """Maps states [N,S] to plot coordinates [N,D] and directions [S] to [D] (identity or PCA)."""

    def __init__(self, n_state: int, dims: int, fit_on: np.ndarray, projection, seed: int):
        self.pca = None
        if projection is not None:
            if not (hasattr(projection, "transform") and hasattr(projection, "components_")):
                raise ValueError("projection must be a fitted sklearn PCA (with transform and components_)")
            self.pca = projection
        elif n_state > dims:
            from sklearn.decomposition import PCA

            self.pca = PCA(n_components=dims, random_state=seed).fit(fit_on)
        if self.pca is not None and self.pca.components_.shape != (dims, n_state):
            raise ValueError(f"projection has components of shape {self.pca.components_.shape}, "
                             f"need ({dims}, {n_state})")

    def points(self, x: np.ndarray) -> np.ndarray:
        return x if self.pca is None else self.pca.transform(x)

    def direction(self, v: np.ndarray) -> np.ndarray:
        return v if self.pca is None else self.pca.components_ @ v

    def labels(self, dims: int) -> list[str]:
        if self.pca is None:
            return [f"$h_{i + 1}$" for i in range(dims)]
        ratio = getattr(self.pca, "explained_variance_ratio_", None)
        return [f"PC{i + 1}" + ("" if ratio is None else f" ({100 * ratio[i]:.0f}%)") for i in range(dims)]


def state_space(states=None, symbols=None, *, fixed_points=None, member=None, dims: int | None = None,
                h0=None, numbers: bool | None = None, eigenvectors: bool = True, arrow_scale: float | None = None,
                alphabet: Sequence[str] | None = None, projection=None, legend: bool = True,
                title: str | None = None, seed: int = 0, ax=None):
    """Draw hidden-state trajectories and fixed points in 2-D or 3-D; return the Axes.

    Args:
        states: one trajectory ``[T,S]``, several (``[N,T,S]`` or a list of
            ``[T_i,S]``), or an ``analysis.trajectories`` result (read with its
            ``strings`` and ``of(k, member)``; its initial state becomes ``h0``).
            ``states[t]`` is the state after reading symbol t. May be None to
            draw fixed points only.
        symbols: per trajectory, the symbol read at each step (a string of length
            T such as ``"aaabbb"``); points are coloured by it.
        fixed_points: an ``analysis.FixedPoints`` (of one input's map), a list of
            them, or ``{symbol: FixedPoints}``. Attributes read: ``states`` [K,S],
            ``eigenvalues`` [K,S], ``eigenvectors`` [K,S,S] (eigenvector i in
            ``[:, :, i]``), ``stability`` (K labels: attracting / repelling /
            saddle / marginal, with any qualifier), ``symbol`` or ``word``, ``member`` [K].
        member: which member's trajectories and fixed points to draw when they hold several.
        dims: 2 or 3 (default 3 when S == 3, else 2; S == 1 draws h against step).
        h0: the initial state [S], drawn as a black square numbered 0.
        numbers: number the points by step (default: when at most 60 points).
        eigenvectors: draw eigenvector arrows of length ``arrow_scale * |lambda|``.
        arrow_scale: default 8% of the largest extent of the plotted points.
        alphabet: order of symbols for colours (default: sorted symbols seen).
        projection: a fitted sklearn PCA to use instead of fitting one.
        seed: PCA random state (full SVD is used for small data; kept for completeness).
        ax: an Axes (3-D Axes for dims=3) to draw on; a new house-style figure when None.

    Artists carry gids for tests and post-editing: ``"trajectory"`` (one
    scatter per symbol), ``"fixed-points"`` (one marker per fixed point),
    ``"eigenvectors"`` (arrows), ``"step-numbers"``.
    """
    if hasattr(states, "of") and hasattr(states, "string_index"):
        runs, traj_h0 = _from_analysis(states, member)
        h0 = traj_h0 if h0 is None else h0
    else:
        runs = [] if states is None else _runs(states, symbols)
    fp_sets = fixed_point_sets(fixed_points, member=member)
    if not runs and not fp_sets:
        raise ValueError("nothing to draw: give states, fixed_points, or both")
    sizes = {a.shape[1] for a, _ in runs} | {d["states"].shape[1] for _, d in fp_sets if len(d["states"])}
    if h0 is not None:
        h0 = to_numpy(h0, float).reshape(-1)
        sizes.add(h0.size)
    if len(sizes) != 1:
        raise ValueError(f"states, fixed points and h0 must have one state size, got sizes {sorted(sizes)}")
    n_state = sizes.pop()
    if dims is None:
        dims = 1 if n_state == 1 else 3 if n_state == 3 else 2
    if dims not in (1, 2, 3) or (dims == 1) != (n_state == 1) or dims > n_state:
        raise ValueError(f"dims must be 2 or 3 and at most the state size {n_state} "
                         f"(1 only for one-unit networks), got {dims}")
    with drawing(ax):
        return _draw(runs, fp_sets, n_state, dims, h0, numbers, eigenvectors, arrow_scale, alphabet,
                     projection, legend, title, seed, ax)


def _draw(runs, fp_sets, n_state, dims, h0, numbers, draw_vectors, arrow_scale, alphabet, projection,
          legend, title, seed, ax):
    import matplotlib.lines as mlines

    fig, ax = new_axes(ax, projection="3d" if dims == 3 else None)
    seen = sorted({s for _, lab in runs if lab for s in lab} | {s for s, _ in fp_sets if s is not None})
    colors = symbol_colors(list(alphabet or []) + seen)
    fit_on = np.concatenate([a for a, _ in runs] or [d["states"] for _, d in fp_sets])
    proj = None if dims == 1 else _Projection(n_state, dims, fit_on, projection, seed)

    def coords(x: np.ndarray, steps: np.ndarray | None = None) -> list[np.ndarray]:
        if dims == 1:
            return [steps if steps is not None else np.zeros(len(x)), x[:, 0]]
        p = proj.points(x)
        return [p[:, i] for i in range(dims)]

    all_pts = [np.stack(coords(a, np.arange(1, len(a) + 1)), 1) for a, _ in runs]
    all_pts += [np.stack(coords(d["states"]), 1) for _, d in fp_sets if len(d["states"])]
    span = np.ptp(np.concatenate(all_pts), axis=0).max() if all_pts else 1.0
    scale = (0.08 * (span if span > 0 else 1.0)) if arrow_scale is None else float(arrow_scale)
    n_points = sum(len(a) for a, _ in runs)
    if numbers is None:
        numbers = n_points <= 60
    handles = []
    for a, lab in runs:
        steps = np.arange(1, len(a) + 1)
        xyz = coords(a, steps)
        ax.plot(*xyz, color="0.6", lw=0.6, zorder=1)
        groups = {None: np.arange(len(a))} if lab is None else {
            s: np.array([t for t, c in enumerate(lab) if c == s]) for s in dict.fromkeys(lab)}
        for s, idx in groups.items():
            c = "0.25" if s is None else colors[s]
            ax.scatter(*[v[idx] for v in xyz], s=14, color=c, edgecolors="none", zorder=3, gid=TRAJECTORY_GID)
        if numbers:
            for t in range(len(a)):
                _text(ax, [v[t] for v in xyz], str(t + 1))
    if h0 is not None:
        xyz = coords(h0[None, :], np.zeros(1))
        ax.scatter(*xyz, marker="s", s=16, color="k", zorder=4, gid="initial-state")
        if numbers:
            _text(ax, [v[0] for v in xyz], "0")
    for s in colors:
        if s in seen:
            handles.append(mlines.Line2D([], [], ls="", marker="o", ms=4, color=colors[s], label=f"input {s}"))
    used_stab: set[str] = set()
    for s, d in fp_sets:
        c = "0.3" if s is None else colors[s]
        for k, hk in enumerate(d["states"]):
            base = base_stability(d["stability"][k])
            used_stab.add(base)
            marker, filled = STABILITY_MARKERS[base]
            xyz = coords(hk[None, :], np.zeros(1))
            ax.scatter(*xyz, marker=marker, s=46, facecolors=c if filled else "white", edgecolors="k",
                       linewidths=0.8, zorder=5, gid=FIXED_POINT_GID)
            if draw_vectors and dims > 1 and d["eigenvalues"] is not None and d["eigenvectors"] is not None:
                _eigen_arrows(ax, hk, d["eigenvalues"][k], d["eigenvectors"][k], proj, scale, c, dims)
    for base in ("attracting", "repelling", "saddle", "marginal", "other"):
        if base in used_stab:
            marker, filled = STABILITY_MARKERS[base]
            handles.append(mlines.Line2D([], [], ls="", marker=marker, ms=6, mec="k",
                                         mfc="0.5" if filled else "white",
                                         label="fixed point" if base == "other" else base))
    labels = ["step", "$h$"] if dims == 1 else proj.labels(dims)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    if dims == 3:
        ax.set_zlabel(labels[2])
    if title:
        ax.set_title(title)
    if legend and handles:
        if dims == 3:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        else:
            ax.legend(handles=handles, loc="best")
    return ax


def _text(ax, xyz, text):
    if len(xyz) == 3:
        ax.text(*xyz, " " + text, fontsize=5, color="0.2", zorder=6, gid=NUMBER_GID)
    else:
        ax.annotate(text, xyz, xytext=(2, 2), textcoords="offset points", fontsize=5, color="0.2", zorder=6,
                    gid=NUMBER_GID)


def _eigen_arrows(ax, h, eigvals, eigvecs, proj, scale, color, dims):
    """Arrows through fixed point h along each eigenvector, length scale*|lambda|.

    Outward (away from h) when |lambda| > 1, inward when |lambda| < 1. For a
    complex pair only one member is drawn, as its real and imaginary parts.
    """
    eigvals = np.asarray(eigvals)
    eigvecs = np.asarray(eigvecs)
    for i, lam in enumerate(eigvals):
        if np.iscomplexobj(lam) and lam.imag < -1e-12:
            continue
        v = eigvecs[:, i]
        parts = [np.real(v)]
        if np.iscomplexobj(v) and abs(np.imag(lam)) > 1e-12:
            parts.append(np.imag(v))
        for part in parts:
            norm = np.linalg.norm(part)
            if norm == 0:
                continue
            dvec = proj.direction(part / norm) * scale * abs(lam)
            base = proj.points(h[None, :])[0]
            for sign in (1.0, -1.0):
                far = base + sign * dvec
                tail, tip = (base, far) if abs(lam) > 1 else (far, base)
                if dims == 3:
                    ax.quiver(*tail, *(tip - tail), color=color, lw=0.9, arrow_length_ratio=0.25,
                              gid=EIGENVECTOR_GID)
                else:
                    # Keep the head visible outside the fixed point's marker.
                    shrink = dict(shrinkA=4, shrinkB=0) if abs(lam) > 1 else dict(shrinkA=0, shrinkB=4)
                    ax.annotate("", xy=tip, xytext=tail, gid=EIGENVECTOR_GID,
                                arrowprops=dict(arrowstyle="-|>", color=color, lw=0.9, mutation_scale=6,
                                                **shrink))
                    ax.update_datalim([tail, tip])
    if dims == 2:
        ax.autoscale_view()
