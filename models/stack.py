"""Stacked recurrent layers (``n_layers >= 1``) for the SRN, LSTM and GRU families.

A stack of L layers runs one family's layer L times per step; layer 1 reads
the input x_t, layer l > 1 reads the new hidden state of layer l - 1 (as in
``torch.nn.RNN/LSTM/GRU(num_layers=L)``, El Hihi & Bengio 1996; Graves,
Mohamed & Hinton 2013, eq. 11):

    h^1_t = cell_1(h^1_{t-1}, x_t),    h^l_t = cell_l(h^l_{t-1}, h^{l-1}_t),    y_t = V h^L_t + c

State layout (layer-major): the state vector is the concatenation of every
layer's one-layer state, first layer first,

    SRN, GRU:  [h^1, h^2, ..., h^L]                      S = L*H   (SRN with shortcut: + [x_t], S = L*H + I)
    LSTM:      [h^1, c^1, h^2, c^2, ..., h^L, c^L]       S = 2*L*H

so the first ``n_hidden`` entries are still hidden units (those of layer 1),
a one-layer stack is exactly the unstacked network, and the readout reads the
last layer's h.  Parameter names: layer 1 keeps the family's names (``w_ih``,
``w_hh``, ``b`` / ``b_h``, ...); layer l + 1 (l >= 1) adds the suffix ``_l{l}``
as torch does (``w_ih_l1``, ``w_hh_l1``, ``b_l1``, ...); a layer-l input matrix
maps H (not I) inputs.  A float ``h0`` fills every layer's hidden units; cell
states start at zero.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from .base import Spec, linear

__all__ = ["suffix", "check_n_layers", "cell", "h0_spec", "readout_slice", "layer_arrays"]


def suffix(layer: int) -> str:
    """Name suffix of layer ``layer`` (0-based): "" for the first, "_l1", "_l2", ... after it."""
    return "" if layer == 0 else f"_l{layer}"


def check_n_layers(value) -> int:
    """Validate the ``n_layers`` option (an int >= 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"option n_layers must be an int >= 1, got {value!r}")
    return int(value)


def cell(net, parts: tuple[torch.Tensor, ...], p: torch.Tensor, width: int, bias: str) -> tuple[torch.Tensor, ...]:
    """One step of every layer: ``parts`` holds ``width`` pieces per layer (layer-major).

    ``p`` is layer 1's input projection; layer l > 1's is computed here from
    layer l-1's new h (its first piece) with ``w_ih_l{l}`` and ``{bias}_l{l}``.
    ``net._layer(pieces, p, layer)`` is the family's one-layer step.
    """
    out: list[torch.Tensor] = []
    below = None
    for layer in range(net._options["n_layers"]):
        if layer:
            sfx = suffix(layer)
            p = linear(below, getattr(net, "w_ih" + sfx), getattr(net, bias + sfx), True)
        new = net._layer(parts[layer * width:(layer + 1) * width], p, layer)
        out.extend(new)
        below = new[0]
    return tuple(out)


def h0_spec(net, width: int, extra: int = 0) -> Spec:
    """The initial state h0 [E, L*width*H + extra] of a stack; a float ``h0`` fills every layer's h."""
    n, layers, mode = net.n_hidden, net._options["n_layers"], net._options["h0"]
    const = np.zeros(layers * width * n + extra)
    if not isinstance(mode, str):
        for layer in range(layers):
            const[layer * width * n: layer * width * n + n] = mode
    return Spec("h0", (len(const),), None, const, trainable=mode == "learned")


def readout_slice(net, width: int) -> slice:
    """Where the last layer's hidden units sit in the state vector."""
    start = (net._options["n_layers"] - 1) * width * net.n_hidden
    return slice(start, start + net.n_hidden)


def layer_arrays(cls_name: str, layers, names: dict[str, str], shapes: dict[str, tuple[int, ...]],
                 arrays: dict, all_shapes: dict, labels: dict, options: dict) -> None:
    """Add the weights of layers 2..L given to ``from_weights`` as ``layers=[{...}, ...]``.

    ``names`` maps the caller's argument names (e.g. "W_ih") to tensor names
    (e.g. "w_ih"); ``shapes`` gives the per-member shape of each tensor in a
    layer above the first.  Fills ``arrays``, ``all_shapes`` and ``labels`` in
    place and sets ``options["n_layers"]`` (a given value must agree).
    """
    if layers is None:
        if options.get("n_layers", 1) != 1:
            raise ValueError(f"{cls_name}.from_weights: n_layers={options['n_layers']!r} needs the weights "
                             f"of layers 2..L as layers=[{{...}}, ...] (keys {sorted(names)})")
        return
    if not isinstance(layers, (list, tuple)):
        raise ValueError(f"{cls_name}.from_weights: layers must be a list of dicts (one per layer above "
                         f"the first), got {type(layers).__name__}")
    n_layers = len(layers) + 1
    if options.setdefault("n_layers", n_layers) != n_layers:
        raise ValueError(f"{cls_name}.from_weights: n_layers={options['n_layers']!r} but layers holds "
                         f"{len(layers)} layers above the first (n_layers={n_layers})")
    for k, given in enumerate(layers, start=1):
        if not isinstance(given, dict):
            raise ValueError(f"{cls_name}.from_weights: layers[{k - 1}] must be a dict, got {type(given).__name__}")
        missing = [arg for arg in list(names)[:2] if given.get(arg) is None]
        if missing:
            raise ValueError(f"{cls_name}.from_weights: layers[{k - 1}] lacks {missing} (needs "
                             f"{list(names)[:2]}, may give {list(names)[2:]})")
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(f"{cls_name}.from_weights: layers[{k - 1}] has unknown keys {unknown}; "
                             f"valid: {sorted(names)}")
        for arg, value in given.items():
            if value is None:
                continue
            name = names[arg] + suffix(k)
            arrays[name] = value
            all_shapes[name] = shapes[names[arg]]
            labels[name] = f"layers[{k - 1}][{arg!r}]"
