"""``dynrec analyze CHECKPOINT``: one trained network opened up as a dynamical system.

Prints the network's description and, on request, the fixed points of each
input's map with their linearisation (Wiles & Elman 1995; Rodriguez, Wiles &
Elman 1999) and an extracted automaton (Giles et al. 1992); with ``plot_dir``
it draws the state space of an example string with those fixed points, the
vector field of each map (two-unit networks), the outputs along the string,
and the automaton.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

FIGURE_FORMATS = ("pdf", "png")


def example_string(alphabet) -> str:
    """The string drawn by default: a^4 b^4 (c^4) for counting alphabets, else a cycle of the symbols."""
    symbols = list(alphabet)
    if symbols[:2] == ["a", "b"] and len(symbols) <= 3:
        return "".join(s * 4 for s in symbols)
    return "".join(symbols[(i * i + i // 2) % len(symbols)] for i in range(10))


def _states_and_outputs(net, string: str, member: int):
    """States ``[T,S]``, squashed outputs ``[T,O]`` and h0 ``[S]`` of one member along ``string``."""
    import torch

    idx = {s: i for i, s in enumerate(net.alphabet)}
    x = torch.zeros(1, len(string), net.n_in, dtype=torch.float32)
    for t, c in enumerate(string):
        x[0, t, idx[c]] = 1.0
    with torch.no_grad():
        logits, states = net(x.to(next(net.parameters()).dtype))
        h0 = net.initial_state(1)[member, 0]
    act = getattr(net, "output_activation", "identity")
    out = torch.sigmoid(logits) if act == "sigmoid" else torch.tanh(logits) if act == "tanh" else logits
    return (states[member, 0].double().numpy(), out[member, 0].double().numpy(), h0.double().numpy())


def _field(net, member: int, symbol_index: int, lim: tuple[float, float], n: int = 17):
    """``(xs, ys, F_x(h) - h)`` on an n x n grid for a two-unit state (``net.step`` of one member)."""
    import torch

    xs = np.linspace(lim[0], lim[1], n)
    X, Y = np.meshgrid(xs, xs)
    h = np.stack([X.ravel(), Y.ravel()], 1)
    dtype = next(net.parameters()).dtype
    H = torch.zeros(net.ensemble, len(h), 2, dtype=dtype)
    H[:] = torch.as_tensor(h, dtype=dtype)
    xin = torch.zeros(len(h), net.n_in, dtype=dtype)
    xin[:, symbol_index] = 1.0
    with torch.no_grad():
        nxt = net.step(H, xin)[member].double().numpy()
    return xs, xs, (nxt - h).reshape(n, n, 2)


def _fmt_complex(z) -> str:
    z = complex(z)
    return f"{z.real:+.4f}" if abs(z.imag) < 1e-12 else f"{z.real:+.4f}{z.imag:+.4f}i"


def _fixed_point_table(fps) -> str:
    lines = []
    for p in fps:
        state = ", ".join(f"{v:+.4f}" for v in np.asarray(p.state))
        lam = ", ".join(_fmt_complex(v) for v in np.asarray(p.eigenvalues))
        lines.append(f"  h* = ({state})  {p.stability:<10} {p.dominant:<11} eigenvalues [{lam}]  "
                     f"residual {p.residual:.1e}")
    return "\n".join(lines) if lines else "  (none found)"


def _state_box(net) -> tuple[float, float]:
    """Where the hidden units live: (0, 1) for sigmoid units, (-1, 1) otherwise."""
    return (0.0, 1.0) if net.options.get("activation") == "sigmoid" else (-1.0, 1.0)


def analyze_checkpoint(path, member: int = 0, fixed_points: bool = False, dfa: bool = False,
                       plot_dir=None) -> str:
    """Analyse member ``member`` of the network saved at ``path``; return the printed report.

    Args:
        path: a checkpoint written by ``net.save`` (read with ``models.load``).
        member: which member of the ensemble.
        fixed_points: find the fixed points of each input's map (``analysis.find_fixed_points``).
        dfa: extract an automaton (``analysis.extract_dfa`` with k-means quantisation
            of the states reached by every string up to length 8; recognition networks,
            whose checkpoint carries its alphabet).
        plot_dir: draw figures there (PDF and PNG): state space, vector field
            (two-unit states), outputs along an example string, the automaton.
    """
    from dynrec import models

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    net = models.load(path)
    E = int(net.ensemble)
    if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or not 0 <= member < E:
        raise ValueError(f"member must be an int in 0..{E - 1} (the checkpoint holds {E}), got {member!r}")
    alphabet = tuple(net.alphabet) if getattr(net, "alphabet", None) else tuple(str(i) for i in range(net.n_in))
    lines = [f"checkpoint {path}",
             f"  {net.kind}: n_in={net.n_in} n_hidden={net.n_hidden} n_out={net.n_out} "
             f"state_size={net.state_size} ensemble={E}; member {member}",
             f"  alphabet {' '.join(alphabet)}; output activation {getattr(net, 'output_activation', '?')}"]
    fps_by_symbol = {}
    want_fps = fixed_points or (plot_dir is not None and net.state_size <= 3)
    if want_fps:
        from dynrec.analysis.fixed_points import find_fixed_points

        for i, s in enumerate(alphabet):
            fps_by_symbol[s] = find_fixed_points(net, i, member=member)
        if fixed_points:
            for s, fps in fps_by_symbol.items():
                lines += ["", f"fixed points of F_{s} (input {s} held):", _fixed_point_table(fps)]
    automaton = None
    if dfa:
        automaton = _extract_dfa(net, member)
        lines += ["", "extracted automaton:", str(automaton.summary() if hasattr(automaton, "summary")
                                                  else automaton)]
    if plot_dir is not None:
        written = _plots(net, member, alphabet, fps_by_symbol, automaton, Path(plot_dir))
        lines += ["", "figures:"] + [f"  {p}" for p in written]
    return "\n".join(lines)


def _extract_dfa(net, member):
    from dynrec.analysis.extraction import extract_dfa

    if not getattr(net, "alphabet", None):
        raise ValueError("DFA extraction needs the network's input alphabet; this checkpoint has none "
                         "(use dynrec.analysis.extract_dfa(net, task) from Python)")
    return extract_dfa(net, None, member=member)


def _plots(net, member, alphabet, fps_by_symbol, automaton, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    from dynrec import plots

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    string = example_string(alphabet)
    if getattr(net, "alphabet", None):
        states, outputs, h0 = _states_and_outputs(net, string, member)
        ax = plots.state_space(states, string, fixed_points=fps_by_symbol or None, h0=h0,
                               title=f"member {member}: {string}")
        written += plots.savefig(ax.figure, out / "state_space", formats=FIGURE_FORMATS)
        plt.close(ax.figure)
        ax = plots.outputs_over_time(outputs, inputs=string, output_symbols=None)
        written += plots.savefig(ax.figure, out / "outputs", formats=FIGURE_FORMATS)
        plt.close(ax.figure)
        lo, hi = _state_box(net)
        lim = (min(lo, float(states.min()) - 0.1), max(hi, float(states.max()) + 0.1))
    else:
        lim = _state_box(net)
    if net.state_size == 2:
        fields = {s: _field(net, member, i, lim) for i, s in enumerate(alphabet)}
        axs = plots.vector_field(fields, nullclines=True, fixed_points=fps_by_symbol or None)
        fig = np.atleast_1d(axs)[0].figure
        written += plots.savefig(fig, out / "vector_field", formats=FIGURE_FORMATS)
        plt.close(fig)
    if automaton is not None:
        ax = plots.dfa(automaton)
        written += plots.savefig(ax.figure, out / "dfa", formats=FIGURE_FORMATS)
        plt.close(ax.figure)
    return written
