"""Long short-term memory as an ensemble: Hochreiter & Schmidhuber (1997) with the forget gate
(Gers, Schmidhuber & Cummins 2000) and optional peepholes (Gers & Schmidhuber 2001,
"LSTM recurrent networks learn simple context-free and context-sensitive languages",
IEEE Trans. Neural Networks 12(6), section II):

    i_t = sigma(W_i x_t + U_i h_{t-1} + b_i [+ p_i * c_{t-1}])
    f_t = sigma(W_f x_t + U_f h_{t-1} + b_f [+ p_f * c_{t-1}])
    g_t = tanh (W_g x_t + U_g h_{t-1} + b_g)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(W_o x_t + U_o h_{t-1} + b_o [+ p_o * c_t])
    h_t = o_t * tanh(c_t),       y_t = V h_t + c

The gate order in the stacked matrices is (i, f, g, o), as in torch.nn.LSTM.

Variants (option ``variant``; Greff et al. 2017, "LSTM: a search space odyssey",
IEEE TNNLS 28(10), section III):

    "standard"   the equations above;
    "coupled"    coupled input and forget gates (Greff et al.'s CIFG): no input
                 gate, c_t = f_t * c_{t-1} + (1 - f_t) * g_t; gate rows (f, g, o);
    "no_forget"  Hochreiter & Schmidhuber (1997)'s original memory cell (their
                 section 4, the constant error carousel): no forget gate,
                 c_t = c_{t-1} + i_t * g_t; gate rows (i, g, o).  The squashing
                 functions are tanh here (the 1997 paper's g and h are
                 4 sigma - 2 and 2 sigma - 1, of range [-2, 2] and [-1, 1]).

The peephole rows follow the variant's sigmoid gates in order: (i, f, o),
(f, o) or (i, o).
"""

from __future__ import annotations

import numpy as np
import torch

from . import stack
from .base import RecurrentEnsemble, Spec, linear, linear_seq

__all__ = ["LSTM", "GATES"]

#: The gates of each variant, in the order of the rows of the stacked matrices.
GATES = {"standard": ("i", "f", "g", "o"), "coupled": ("f", "g", "o"), "no_forget": ("i", "g", "o")}


class LSTM(RecurrentEnsemble):
    """LSTM ensemble.  Parameters (leading dim E):

    ``w_ih`` [E,4H,I] and ``w_hh`` [E,4H,H] gate weights (rows i, f, g, o),
    ``b`` [E,4H] gate biases, ``w_peep`` [E,3,H] peephole weights (rows i, f, o;
    only with ``peephole=True``), ``w_ho`` V [E,O,H], ``b_o`` c [E,O],
    ``h0`` [E,2H] the initial (h, c).

    State: [h_t, c_t] concatenated, S = 2H, so analysis treats every family alike.

    Options: ``peephole`` (False); ``forget_bias`` (1.0, added to the drawn
    forget-gate bias; Gers et al. 2000 start forget gates open); ``h0``;
    ``init`` "uniform" (U(-r, r), ``init_range`` r default 0.1, the range of
    Hochreiter & Schmidhuber 1997) or "torch" (U(-1/sqrt(H), 1/sqrt(H)) for
    every weight and bias, as torch.nn.LSTM and torch.nn.Linear(H, O));
    ``output_activation`` ("sigmoid" default); ``variant`` ("standard" |
    "coupled" | "no_forget", see the module docstring: the matrices then have
    3H rows, the gates of :data:`GATES`); ``n_layers`` (1): stacked layers, see
    :mod:`.stack` (state [h^1, c^1, ..., h^L, c^L], readout from h^L; layer
    l+1's weights ``w_ih_l{l}`` [E,G*H,H], ``w_hh_l{l}``, ``b_l{l}``, ``w_peep_l{l}``).
    """

    kind = "lstm"
    summary = "LSTM with forget gate, optional peepholes (Gers & Schmidhuber 2001); state (h, c)"
    DEFAULTS = {"peephole": False, "forget_bias": 1.0, "h0": "zeros", "init": "uniform",
                "init_range": 0.1, "output_activation": "sigmoid", "variant": "standard", "n_layers": 1}

    def _check_option(self, key: str, value):
        if key == "n_layers":
            return stack.check_n_layers(value)
        if key == "variant":
            if value not in GATES:
                raise ValueError(f"option variant={value!r} is not valid for 'lstm'; valid: {list(GATES)}")
            return value
        return super()._check_option(key, value)

    @property
    def state_size(self) -> int:
        return 2 * self.n_hidden * self._options["n_layers"]

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        gates = GATES[self._options["variant"]]
        rows = len(gates) * h
        bound = self._bound(h)
        bias = np.zeros(rows)
        if "f" in gates:
            at = gates.index("f") * h
            bias[at:at + h] = self._options["forget_bias"]
        elif self._options["forget_bias"] != self.DEFAULTS["forget_bias"]:
            raise ValueError(f"option forget_bias={self._options['forget_bias']!r} has no effect with "
                             f"variant='no_forget' (no forget gate); leave it at its default")
        specs = []
        for layer in range(self._options["n_layers"]):
            sfx, fan = stack.suffix(layer), i if layer == 0 else h
            specs += [Spec("w_ih" + sfx, (rows, fan), bound), Spec("w_hh" + sfx, (rows, h), bound),
                      Spec("b" + sfx, (rows,), bound, bias)]
            if self._options["peephole"]:
                specs.append(Spec("w_peep" + sfx, (len(gates) - 1, h), bound))
        h0 = stack.h0_spec(self, 2) if self._options["n_layers"] > 1 else self._h0_spec(2 * h)
        return specs + [Spec("w_ho", (o, h), bound), Spec("b_o", (o,), bound), h0]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear(x, self.w_ih, self.b, has_e)

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear_seq(x, self.w_ih, self.b, has_e)

    def _parts(self) -> tuple[int, ...]:
        return (self.n_hidden, self.n_hidden) * self._options["n_layers"]

    def _cell(self, parts, p):
        if self._options["n_layers"] > 1 or self._options["variant"] != "standard":
            return stack.cell(self, parts, p, 2, "b")
        h, c = parts
        n = self.n_hidden
        pre = torch.baddbmm(p, h, self.w_hh.transpose(1, 2))
        if not self._options["peephole"]:
            # one sigmoid for the i, f, o gates (its g block is unused), one tanh for g
            i, f, _, o = torch.sigmoid(pre).split(n, -1)
            c_next = f * c + i * torch.tanh(pre.split(n, -1)[2])
            return o * torch.tanh(c_next), c_next
        a_i, a_f, a_g, a_o = pre.split(n, -1)
        peep = self.w_peep[:, None]  # [E,1,3,H]
        p_i, p_f, p_o = peep.unbind(-2)
        c_next = torch.sigmoid(a_f + p_f * c) * c + torch.sigmoid(a_i + p_i * c) * torch.tanh(a_g)
        h_next = torch.sigmoid(a_o + p_o * c_next) * torch.tanh(c_next)
        return h_next, c_next

    def _layer(self, parts, p, layer: int):
        """One layer of any variant (:func:`.stack.cell`): (h, c), projection p -> (h_next, c_next)."""
        h, c = parts
        sfx, gates = stack.suffix(layer), GATES[self._options["variant"]]
        a = dict(zip(gates, torch.baddbmm(p, h, getattr(self, "w_hh" + sfx).transpose(1, 2))
                     .split(self.n_hidden, -1)))
        if self._options["peephole"]:
            peep = dict(zip([g for g in gates if g != "g"], getattr(self, "w_peep" + sfx)[:, None].unbind(-2)))
            for gate in ("i", "f"):
                if gate in a:
                    a[gate] = a[gate] + peep[gate] * c
        g = torch.tanh(a["g"])
        if "f" not in a:                       # Hochreiter & Schmidhuber 1997: c_t = c_{t-1} + i g
            c_next = c + torch.sigmoid(a["i"]) * g
        elif "i" not in a:                     # coupled: c_t = f c_{t-1} + (1 - f) g
            f = torch.sigmoid(a["f"])
            c_next = f * c + (1 - f) * g
        else:
            c_next = torch.sigmoid(a["f"]) * c + torch.sigmoid(a["i"]) * g
        a_o = a["o"] + peep["o"] * c_next if self._options["peephole"] else a["o"]
        return torch.sigmoid(a_o) * torch.tanh(c_next), c_next

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c from states [E, ..., S] (the last layer's h) -> [E, ..., O]."""
        return linear(h[..., stack.readout_slice(self, 2)], self.w_ho, self.b_o, True)

    @classmethod
    def from_weights(cls, W_ih, W_hh, V, b=None, c=None, peephole=None, h0=None, layers=None,
                     **options) -> "LSTM":
        """From matrices (gate order i, f, g, o): W_ih [4H,I], W_hh [4H,H], b [4H], V [O,H], c [O],
        peephole [3,H] (rows i, f, o; switches ``peephole`` on), h0 [H] or [2H]; each may carry a
        leading E.  b and c default to zeros (``forget_bias`` is not added to given weights).
        With ``variant`` "coupled" / "no_forget" the matrices have 3H rows (gates :data:`GATES`)
        and peephole 2 rows.  ``layers``: layers 2..L of a stack, ``[{"W_ih": [G*H,H],
        "W_hh": [G*H,H], "b": [G*H], "peephole": ...}, ...]`` (sets ``n_layers``); h0 then
        [2*L*H] (layer-major (h, c) pairs) or [H]."""
        w = torch.as_tensor(np.asarray(W_ih, dtype=np.float64)) if not torch.is_tensor(W_ih) else W_ih
        v = torch.as_tensor(np.asarray(V, dtype=np.float64)) if not torch.is_tensor(V) else V
        n_gates = len(GATES.get(options.get("variant", "standard"), GATES["standard"]))
        i, h, o = w.shape[-1], w.shape[-2] // n_gates, v.shape[-2] if v.dim() >= 2 else 0
        lead = tuple(w.shape[:-2])
        arrays = {"w_ih": W_ih, "w_hh": W_hh, "w_ho": V,
                  "b": np.zeros((*lead, n_gates * h)) if b is None else b}
        for name, value in (("b_o", c), ("w_peep", peephole), ("h0", h0)):
            if value is not None:
                arrays[name] = value
        if peephole is not None:
            options.setdefault("peephole", True)
        if h0 is not None:
            options.setdefault("h0", "fixed")
        rows = n_gates * h
        shapes = {"w_ih": (rows, i), "w_hh": (rows, h), "b": (rows,), "w_peep": (n_gates - 1, h),
                  "w_ho": (o, h), "b_o": (o,), "h0": (2 * h,)}
        labels = {"w_ih": "W_ih", "w_hh": "W_hh", "b": "b",
                  "w_peep": "peephole", "w_ho": "V", "b_o": "c", "h0": "h0"}
        stack.layer_arrays(cls.__name__, layers, {"W_ih": "w_ih", "W_hh": "w_hh", "b": "b", "peephole": "w_peep"},
                           {"w_ih": (rows, h), "w_hh": (rows, h), "b": (rows,), "w_peep": (n_gates - 1, h)},
                           arrays, shapes, labels, options)
        for k in range(1, options.get("n_layers", 1)):  # biases of upper layers default to zeros too
            arrays.setdefault("b" + stack.suffix(k), np.zeros((*lead, rows)))
        shapes["h0"] = (2 * h * options.get("n_layers", 1),)
        return cls._from_arrays(arrays, shapes, (i, h, o), labels=labels, **options)

    @classmethod
    def from_torch(cls, lstms, readouts, **options) -> "LSTM":
        """From E ``torch.nn.LSTM`` modules and E ``torch.nn.Linear`` readouts.

        W_ih = weight_ih_l0, W_hh = weight_hh_l0, b = bias_ih_l0 + bias_hh_l0
        (the same i, f, g, o order); no peepholes (torch has none).  Modules with
        ``num_layers = L > 1`` give a stack (``n_layers=L``, layer k's weights from
        ``weight_ih_l{k}`` etc.; all modules need the same L).
        """
        lstms = list(lstms) if isinstance(lstms, (list, tuple)) else [lstms]
        readouts = list(readouts) if isinstance(readouts, (list, tuple)) else [readouts]
        for m in lstms:
            if m.num_layers != lstms[0].num_layers or m.bidirectional or not m.bias or m.proj_size:
                raise ValueError("from_torch takes unidirectional torch.nn.LSTM modules with bias, no projection "
                                 "and the same num_layers")
        if lstms[0].num_layers > 1:
            options["layers"] = [
                {"W_ih": torch.stack([getattr(m, f"weight_ih_l{k}").detach() for m in lstms]),
                 "W_hh": torch.stack([getattr(m, f"weight_hh_l{k}").detach() for m in lstms]),
                 "b": torch.stack([(getattr(m, f"bias_ih_l{k}") + getattr(m, f"bias_hh_l{k}")).detach()
                                   for m in lstms])}
                for k in range(1, lstms[0].num_layers)]
        return cls.from_weights(
            W_ih=torch.stack([m.weight_ih_l0.detach() for m in lstms]),
            W_hh=torch.stack([m.weight_hh_l0.detach() for m in lstms]),
            b=torch.stack([(m.bias_ih_l0 + m.bias_hh_l0).detach() for m in lstms]),
            V=torch.stack([m.weight.detach() for m in readouts]),
            c=torch.stack([m.bias.detach() for m in readouts]), **options)
