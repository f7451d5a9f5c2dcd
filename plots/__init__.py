"""Publication figures of recurrent networks as dynamical recognisers.

Every figure function takes plain arrays, pandas DataFrames or the result
objects of :mod:`dynrec.analysis` / :mod:`dynrec.training` /
:mod:`dynrec.experiments` (read by attribute, documented per function), draws
on a given ``ax=`` or on a new figure in the house style, and returns the Axes.

    state_space        trajectories + fixed points + eigenvectors (Wiles & Elman 1995; Chalup & Blair 2003)
    vector_field       F_x(h) - h on a grid per symbol, with nullclines
    learning_curves    median and interquartile band over seeds, per grid cell
    generalization     generalization depth per grid cell, training range marked
    outputs_over_time  output activations or prediction error along a sequence (Elman 1990)
    bifurcation        eigenvalues of fixed points along a path in weight space (Pollack 1991)
    dfa                an extracted automaton as a graph (networkx, no graphviz)
    gradient_flow      gradient norm against distance in time, SRN versus LSTM (Pascanu et al. 2013)

House style: :func:`style` (context), :func:`savefig` (deterministic PDF/PNG/SVG),
:func:`figsize` (one- and two-column sizes), :data:`OKABE_ITO` (palette).
"""

from .house import OKABE_ITO, ONE_COLUMN, STYLE_FILE, TWO_COLUMN, color, figsize, savefig, style
from .bifurcation import bifurcation
from .dfa import dfa
from .generalization import generalization
from .gradient_flow import gradient_flow
from .learning_curves import history_frame, learning_curves
from .outputs_over_time import outputs_over_time
from .state_space import state_space
from .vector_field import vector_field

__all__ = [
    "OKABE_ITO", "ONE_COLUMN", "TWO_COLUMN", "STYLE_FILE", "color", "figsize", "savefig", "style",
    "state_space", "vector_field", "learning_curves", "history_frame", "generalization",
    "outputs_over_time", "bifurcation", "dfa", "gradient_flow",
]
