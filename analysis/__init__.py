"""analysis: trained networks as dynamical systems.

Fixed points and their linearisation (`find_fixed_points` -> `FixedPoints`),
trajectories and vector fields, fixed points along weight-space paths
(Pollack 1991), gradient flow through time (Pascanu, Mikolov & Bengio 2013)
and Lyapunov exponents (QR method), counting mechanisms on a^n b^n (Wiles & Elman 1995;
Rodriguez, Wiles & Elman 1999), and automaton extraction (Giles et al. 1992;
L* after Weiss, Goldberg & Yahav 2018) -> `DFA`. Every function works on every
member of an ensemble at once unless it says otherwise.
"""

from .counting import CountingSolution, counting_solution, predicted_depth
from .dfa import DFA
from .extraction import extract_dfa, lstar_dfa
from .fixed_points import find_fixed_points
from .gradient_flow import GradientFlow, gradient_flow, step_jacobians
from .lyapunov import LyapunovExponents, lyapunov_exponents
from .points import FixedPoint, FixedPoints
from .trajectories import Trajectories, VectorField, trajectories, vector_field
from .weight_path import WeightPath, weight_path

__all__ = [
    "GradientFlow", "LyapunovExponents", "gradient_flow", "lyapunov_exponents", "step_jacobians",
    "CountingSolution", "DFA", "FixedPoint", "FixedPoints", "Trajectories", "VectorField", "WeightPath",
    "counting_solution", "extract_dfa", "find_fixed_points", "lstar_dfa", "predicted_depth",
    "trajectories", "vector_field", "weight_path",
]
