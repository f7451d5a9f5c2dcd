"""The vector field F_x(h) - h of each input's map on a grid of 2-D states.

With the input held at symbol x, the map h -> F_x(h) moves every state by
F_x(h) - h; its zeros are the fixed points and the curves where one component
vanishes are the nullclines (Strogatz 1994, Sec. 6.1; used for SRNs by
Rodriguez, Wiles & Elman 1999, Sec. 4, and Tonkes & Wiles 1997). Arrows are
drawn to scale (the longest spans 90% of a grid cell), so they shrink towards
the fixed points.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._common import symbol_colors, to_numpy
from .house import drawing, figsize
from .state_space import state_space

FIELD_GID = "vector-field"
NULLCLINE_GIDS = ("nullcline-1", "nullcline-2")


def _from_analysis(f, member):
    """(xs, ys, delta [ny,nx,2]) of an ``analysis.VectorField`` (coords [G,2] on an "xy" mesh of
    ``shape``, delta [E,G,S] in state space, projected on the plane's ``basis`` [2,S])."""
    members = np.asarray(getattr(f, "members", [0])).reshape(-1)
    if member is None:
        if len(members) != 1:
            raise ValueError(f"the field holds members {members.tolist()}; pick one with member=")
        e = 0
    else:
        where = np.nonzero(members == member)[0]
        if not len(where):
            raise ValueError(f"member {member!r} not in the field; members: {members.tolist()}")
        e = int(where[0])
    coords = to_numpy(f.coords, float)
    if coords.shape[1] != 2:
        raise ValueError(f"the field is on a {coords.shape[1]}-D grid; vector_field draws 2-D planes only")
    shape = tuple(f.shape)
    delta = to_numpy(f.delta, float)[e] @ to_numpy(f.basis, float).T
    return coords[:, 0].reshape(shape)[0, :], coords[:, 1].reshape(shape)[:, 0], delta.reshape(*shape, 2)


def _fields(field, member=None) -> list[tuple[str | None, np.ndarray, np.ndarray, np.ndarray]]:
    """[(symbol, xs [nx], ys [ny], delta [ny,nx,2])] from the accepted forms (see vector_field)."""
    if isinstance(field, Mapping):
        items = list(field.items())
    elif isinstance(field, tuple) and len(field) == 3:
        items = [(None, field)]
    elif hasattr(field, "delta"):
        items = [(getattr(field, "symbol", None) or getattr(field, "word", None), field)]
    else:
        items = [(getattr(f, "symbol", None) or getattr(f, "word", None), f) for f in field]
    out = []
    for sym, f in items:
        if hasattr(f, "delta") and hasattr(f, "coords"):
            xs, ys, delta = _from_analysis(f, member)
        elif hasattr(f, "delta"):
            xs, ys, delta = f.xs, f.ys, f.delta
        else:
            if not (isinstance(f, (tuple, list)) and len(f) == 3):
                raise ValueError("each field must be (xs, ys, delta) or have attributes xs, ys, delta")
            xs, ys, delta = f
        xs, ys, delta = to_numpy(xs, float).reshape(-1), to_numpy(ys, float).reshape(-1), to_numpy(delta, float)
        if delta.shape != (len(ys), len(xs), 2):
            raise ValueError(f"delta must have shape [len(ys), len(xs), 2] = {(len(ys), len(xs), 2)}, "
                             f"got {delta.shape} (the field is for 2-unit states only)")
        out.append((None if sym is None else str(sym), xs, ys, delta))
    if not out:
        raise ValueError("no vector field given")
    return out


def vector_field(field, *, nullclines: bool = False, fixed_points=None, member=None, ax=None,
                 titles: bool = True):
    """Draw F_x(h) - h for each symbol's map, one panel per symbol; return the Axes (or an array of them).

    Args:
        field: the displacement on a grid: ``(xs [nx], ys [ny], delta [ny,nx,2])``
            with ``delta[j, i] = F_x(h) - h`` at ``h = (xs[i], ys[j])``; or
            ``{symbol: (xs, ys, delta)}``; or ``analysis.vector_field`` results
            (attributes read: ``coords`` [G,2], ``shape``, ``delta`` [E,G,S],
            ``basis`` [2,S], ``members``, ``word``), one, a list or a mapping.
        nullclines: draw where each component of F_x(h) - h vanishes
            (``Delta h_1 = 0`` solid, ``Delta h_2 = 0`` dashed).
        fixed_points: ``{symbol: FixedPoints}`` (or a list with ``.symbol``), drawn
            over the panel of their symbol, marker by stability (see ``state_space``).
        member: which member's field and fixed points, when they hold several.
        ax: one Axes, or one per symbol; a new figure with a row of panels when None.
    """
    fields = _fields(field, member)
    if ax is not None:
        axes = list(np.atleast_1d(np.asarray(ax, dtype=object)).ravel())
        if len(axes) != len(fields):
            raise ValueError(f"{len(fields)} fields need {len(fields)} Axes, got {len(axes)}")
    with drawing(ax):
        if ax is None:
            import matplotlib.pyplot as plt

            n = len(fields)
            fig, axs = plt.subplots(1, n, figsize=figsize(min(2, n), 0.8 / n if n > 1 else 0.85),
                                    squeeze=False, sharey=True)
            axes = list(axs[0])
        fps = fixed_points if fixed_points is None or isinstance(fixed_points, Mapping) else \
            {getattr(f, "symbol", None): f for f in fixed_points}
        colors = symbol_colors([s for s, *_ in fields if s is not None])
        for a, (sym, xs, ys, delta) in zip(axes, fields):
            _draw_one(a, sym, xs, ys, delta, nullclines, colors.get(sym, "0.3"))
            if fps and sym in fps:
                state_space(fixed_points={sym: fps[sym]}, member=member, eigenvectors=False, legend=False,
                            alphabet=list(colors), ax=a)
            if titles and sym is not None:
                a.set_title(f"input {sym}")
            a.set_xlabel("$h_1$")
            a.set_ylabel("$h_2$" if ax is not None or a is axes[0] else "")
            a.set_xlim(xs.min(), xs.max())
            a.set_ylim(ys.min(), ys.max())
            a.set_aspect("equal", adjustable="box")
        if nullclines:
            import matplotlib.lines as mlines

            handles = [mlines.Line2D([], [], color="0.2", ls="-", label=r"$\Delta h_1 = 0$"),
                       mlines.Line2D([], [], color="0.2", ls="--", label=r"$\Delta h_2 = 0$")]
            axes[-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    return axes[0] if len(axes) == 1 else np.array(axes, dtype=object)


def _draw_one(ax, sym, xs, ys, delta, nullclines, color):
    X, Y = np.meshgrid(xs, ys)
    U, V = delta[..., 0], delta[..., 1]
    speed = np.hypot(U, V)
    top = speed.max()
    cell = min(np.diff(xs).min() if len(xs) > 1 else 1.0, np.diff(ys).min() if len(ys) > 1 else 1.0)
    k = 0.9 * cell / top if top > 0 else 1.0
    ax.quiver(X, Y, U * k, V * k, angles="xy", scale_units="xy", scale=1.0, color="0.45", width=0.004,
              headwidth=3.5, headlength=4, gid=FIELD_GID, zorder=2)
    if nullclines:
        for comp, ls, gid in ((U, "-", NULLCLINE_GIDS[0]), (V, "--", NULLCLINE_GIDS[1])):
            if comp.min() < 0 < comp.max():
                cs = ax.contour(X, Y, comp, levels=[0.0], colors=[color], linestyles=[ls], linewidths=1.0,
                                zorder=3)
                cs.set_gid(gid)
