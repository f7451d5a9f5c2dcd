"""An extracted automaton drawn as a state graph (networkx layout on matplotlib; no graphviz).

Giles et al. (1992, Fig. 3) and Omlin & Giles (1996) draw the minimised DFA
extracted from a second-order network: states as circles, accepting states as
double circles, the start state marked by an incoming arrow, transitions
labelled by their symbols (parallel transitions share one arrow).
"""

from __future__ import annotations

import numpy as np

from .house import OKABE_ITO, drawing, new_axes

LAYOUTS = ("kamada_kawai", "circular", "spring", "shell")
NODES_GID = "dfa-states"


def _graph(automaton):
    """A networkx DiGraph with node attributes accepting/initial and edge attribute label."""
    import networkx as nx

    g = automaton.to_networkx() if hasattr(automaton, "to_networkx") else automaton
    if not isinstance(g, nx.Graph):
        raise ValueError("dfa() needs an object with to_networkx() or a networkx graph, "
                         f"got {type(automaton).__name__}")
    out = nx.DiGraph()
    initial = g.graph.get("initial", g.graph.get("start", None))
    for n, d in g.nodes(data=True):
        acc = bool(d.get("accepting", d.get("accept", False)))
        ini = bool(d.get("initial", d.get("start", False))) or (initial is not None and n == initial)
        out.add_node(n, accepting=acc, initial=ini, label=str(d.get("label", n)))
    labels: dict[tuple, list[str]] = {}
    for u, v, d in g.edges(data=True):
        sym = d.get("symbol", d.get("label", d.get("symbols", "")))
        sym = ",".join(map(str, sym)) if isinstance(sym, (list, tuple, set, frozenset)) else str(sym)
        labels.setdefault((u, v), []).append(sym)
    for (u, v), syms in labels.items():
        out.add_edge(u, v, label=",".join(sorted(s for s in syms if s)))
    return out


def dfa(automaton, *, layout: str = "kamada_kawai", seed: int = 0, node_size: float = 500, ax=None):
    """Draw an automaton; return the Axes.

    Args:
        automaton: an ``analysis.DFA`` (its ``to_networkx()`` is called) or a
            networkx (Multi)DiGraph. Node attributes read: ``accepting`` (bool),
            ``initial`` (bool; or graph attribute ``initial``), ``label``; edge
            attribute ``symbol`` (or ``label``/``symbols``).
        layout: one of ``kamada_kawai`` (default), ``circular``, ``spring``, ``shell``.
        seed: seed of the spring layout (the others are deterministic).
        ax: an Axes to draw on; a new house-style figure when None.
    """
    import networkx as nx

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    g = _graph(automaton)
    if g.number_of_nodes() == 0:
        raise ValueError("the automaton has no states")
    if g.number_of_nodes() == 1 or layout == "circular":
        pos = nx.circular_layout(g)
    elif layout == "kamada_kawai":
        pos = nx.kamada_kawai_layout(g.to_undirected(), pos=nx.circular_layout(g))
    elif layout == "spring":
        pos = nx.spring_layout(g, seed=seed)
    else:
        pos = nx.shell_layout(g)
    with drawing(ax):
        fig, ax = new_axes(ax)
        nodes = list(g.nodes)
        acc = [n for n in nodes if g.nodes[n]["accepting"]]
        if acc:  # outer ring of the double circle
            nx.draw_networkx_nodes(g, pos, nodelist=acc, node_size=node_size * 1.55, node_color="white",
                                   edgecolors="k", linewidths=0.8, ax=ax)
        coll = nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_size=node_size,
                                      node_color=[OKABE_ITO[1] if g.nodes[n]["accepting"] else "white"
                                                  for n in nodes], edgecolors="k", linewidths=0.8, ax=ax)
        coll.set_gid(NODES_GID)
        nx.draw_networkx_labels(g, pos, labels={n: g.nodes[n]["label"] for n in nodes}, font_size=7, ax=ax)
        straight = [(u, v) for u, v in g.edges if u != v and not g.has_edge(v, u)]
        curved = [(u, v) for u, v in g.edges if u != v and g.has_edge(v, u)]
        loops = [(u, v) for u, v in g.edges if u == v]
        margin = np.sqrt(node_size * (1.55 if acc else 1.0)) / 2
        common = dict(ax=ax, arrows=True, arrowstyle="-|>", arrowsize=8, width=0.8, node_size=node_size * 1.6,
                      edge_color="0.2")
        labels = nx.get_edge_attributes(g, "label")
        for edgelist, cs in ((straight, "arc3"), (curved, "arc3,rad=0.2")):
            if edgelist:
                nx.draw_networkx_edges(g, pos, edgelist=edgelist, connectionstyle=cs, **common)
                nx.draw_networkx_edge_labels(g, pos, edge_labels={e: labels[e] for e in edgelist},
                                             connectionstyle=cs, font_size=7, ax=ax, node_size=node_size * 1.6,
                                             bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none"))
        for u, _ in loops:
            radius = np.sqrt(node_size * (1.55 if g.nodes[u]["accepting"] else 1.0)) / 2
            _self_loop(ax, pos[u], labels[(u, u)], radius)
        centre = np.mean(list(pos.values()), axis=0)
        for n in nodes:
            if g.nodes[n]["initial"]:
                # the start arrow comes from outside the graph, away from its centre
                away = np.asarray(pos[n]) - centre
                norm = np.linalg.norm(away)
                away = away / norm if norm > 1e-9 else np.array([-1.0, 0.0])
                away = (away + np.array([0.0, -0.6])) / np.linalg.norm(away + np.array([0.0, -0.6]))
                ax.annotate("", xy=tuple(pos[n]), xytext=tuple(away * margin * 2.4), textcoords="offset points",
                            arrowprops=dict(arrowstyle="-|>", color="k", lw=0.9, shrinkA=0, shrinkB=margin),
                            gid="start-arrow")
        xy = np.array(list(pos.values()))
        pad = 0.6
        ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
        ax.set_aspect("equal")
        # no axis, but keep the Axes box so that tight bounding boxes include the start arrow
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    return ax


def _self_loop(ax, xy, label, radius):
    """A loop above a node of ``radius`` points, with its label above it (networkx's loops are
    scaled in data units and vanish behind large nodes)."""
    from matplotlib.transforms import offset_copy

    fig = ax.figure
    dx, dy = 0.45 * radius, 0.9 * radius
    start = offset_copy(ax.transData, fig, x=-dx, y=dy, units="points")
    end = offset_copy(ax.transData, fig, x=dx, y=dy, units="points")
    ax.annotate("", xy=xy, xycoords=end, xytext=xy, textcoords=start,
                arrowprops=dict(arrowstyle="-|>", color="0.2", lw=0.8, mutation_scale=8, shrinkA=0, shrinkB=0,
                                connectionstyle="arc3,rad=-2.2"))
    ax.annotate(label, xy, xytext=(0, dy + 1.25 * radius), textcoords="offset points", ha="center",
                va="bottom", fontsize=7)
