"""The house style: one rc file, a colour-blind-safe palette, journal sizes, deterministic files.

Every figure function of :mod:`dynrec.plots` draws inside :func:`style` when it
creates its own figure (``ax=None``); given an Axes, it draws with the caller's
settings. :func:`savefig` writes files that are byte-for-byte reproducible:
vector PDF with embedded TrueType fonts (``pdf.fonttype 42``), SVG with text as
text and a fixed hash salt, PNG at 300 dpi, and no timestamps or software
versions in the metadata, so a figure can be regression-tested by its bytes.

The palette is Okabe & Ito (2008), "Color Universal Design", distinguishable
under the common colour-vision deficiencies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

STYLE_FILE = Path(__file__).with_name("dynrec.mplstyle")

#: Okabe-Ito colours, in the order of the style's colour cycle (black last).
OKABE_ITO: tuple[str, ...] = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#0072B2",  # blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (weak on white: used last among the colours)
    "#000000",  # black
)

#: Widths in inches of a one-column (89 mm) and a two-column (183 mm) journal figure.
ONE_COLUMN = 3.5
TWO_COLUMN = 7.2

FORMATS = ("pdf", "png", "svg")

# Metadata keys that carry dates or versions, per format: set to None so that
# matplotlib leaves them out and two saves of one figure give the same bytes.
_METADATA = {
    "pdf": {"CreationDate": None, "Producer": None, "Creator": None},
    "svg": {"Date": None, "Creator": None},
    "png": {"Software": None},
}


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Context in which matplotlib uses the dynrec house style (``dynrec.mplstyle``).

    >>> with plots.style():
    ...     fig, ax = plt.subplots(figsize=plots.figsize(1))
    """
    with mpl.style.context(STYLE_FILE):
        yield


def color(i: int) -> str:
    """The i-th colour of the Okabe-Ito palette (cycling over the seven non-black colours)."""
    return OKABE_ITO[int(i) % (len(OKABE_ITO) - 1)]


def figsize(columns: float = 1, aspect: float = 0.75) -> tuple[float, float]:
    """(width, height) in inches of a figure spanning ``columns`` journal columns.

    ``columns=1`` is 3.5 in (89 mm), ``columns=2`` is 7.2 in (183 mm); values in
    between interpolate (1.5 columns), values below 1 are fractions of a column.
    ``aspect`` is height / width.
    """
    if not 0 < columns <= 2:
        raise ValueError(f"columns must be in (0, 2] (1 for one column, 2 for two), got {columns!r}")
    if not aspect > 0:
        raise ValueError(f"aspect must be > 0, got {aspect!r}")
    if columns <= 1:
        width = ONE_COLUMN * columns
    else:
        width = ONE_COLUMN + (TWO_COLUMN - ONE_COLUMN) * (columns - 1)
    return (width, width * aspect)


def savefig(fig, path, formats: Sequence[str] | None = None, *, dpi: int = 300) -> list[Path]:
    """Write ``fig`` deterministically; return the paths written.

    Args:
        fig: a matplotlib Figure (or anything with ``.figure``, e.g. an Axes).
        path: target file. Its suffix (``.pdf``, ``.png``, ``.svg``) picks the
            format when ``formats`` is None; otherwise one file per format is
            written at ``path`` with that suffix.
        formats: e.g. ``("pdf", "png")``.
        dpi: resolution of raster output (PNG); the house default is 300.

    Parent folders are created. The house rc settings for files (Type 42 fonts,
    SVG hash salt, tight bounding box) apply whatever the caller's rcParams.
    The figure's layout engine (constrained layout) is run to convergence and
    then switched off, so that this and every later save give the same bytes;
    call ``fig.set_layout_engine("constrained")`` to lay out again after changes.
    """
    fig = getattr(fig, "figure", fig)
    path = Path(path)
    if formats is None:
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise ValueError(f"cannot tell the format of {str(path)!r}: suffix must be one of {FORMATS}")
        formats = (fmt,)
    written: list[Path] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; valid: {FORMATS}")
    file_rc = {k: v for k, v in mpl.rc_params_from_file(STYLE_FILE, use_default_template=False).items()
               if k.split(".")[0] in ("pdf", "ps", "svg", "savefig")}
    _settle_layout(fig)
    for fmt in formats:
        out = path.with_suffix("." + fmt)
        with mpl.rc_context(file_rc):
            fig.savefig(out, format=fmt, dpi=dpi, metadata=_METADATA[fmt])
        written.append(out)
    return written


def _settle_layout(fig, max_draws: int = 12) -> None:
    """Run the figure's layout engine until the Axes stop moving, then switch it off.

    Constrained layout refines positions on every draw (3-D Axes take several
    draws to settle; equal-aspect panels can alternate between two layouts) and
    again under each output renderer, so two saves of one figure would differ by
    a fraction of a point. Freezing the settled layout makes every later save
    of the figure byte-identical.
    """
    if fig.get_layout_engine() is None or type(fig.get_layout_engine()).__name__ == "PlaceHolderLayoutEngine":
        return
    before = None
    for _ in range(max_draws):
        fig.draw_without_rendering()
        now = np.array([a.get_position().bounds for a in fig.axes])
        if before is not None and before.shape == now.shape and np.allclose(now, before, rtol=0, atol=1e-9):
            break
        before = now
    fig.set_layout_engine("none")


def drawing(ax=None):
    """Context for a figure function: the house style when it makes its own figure, else nothing.

    Text sizes and line widths are read from rcParams when artists are made, so
    the whole drawing (not only the figure's creation) runs inside this context.
    """
    return style() if ax is None else contextlib.nullcontext()


def new_axes(ax=None, *, projection: str | None = None, columns: float = 1, aspect: float = 0.75):
    """Return ``(fig, ax)``: the given Axes and its figure, or a new figure of the given size."""
    if ax is not None:
        if projection == "3d" and getattr(ax, "name", "") != "3d":
            raise ValueError("a 3-D plot needs an Axes made with projection='3d', "
                             f"got a {getattr(ax, 'name', type(ax).__name__)!r} Axes")
        return ax.figure, ax
    fig = plt.figure(figsize=figsize(columns, aspect))
    ax = fig.add_subplot(projection=projection)
    return fig, ax
