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
"""

from __future__ import annotations

import numpy as np
import torch

from .base import RecurrentEnsemble, Spec, linear, linear_seq

__all__ = ["LSTM"]


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
    ``output_activation`` ("sigmoid" default).
    """

    kind = "lstm"
    summary = "LSTM with forget gate, optional peepholes (Gers & Schmidhuber 2001); state (h, c)"
    DEFAULTS = {"peephole": False, "forget_bias": 1.0, "h0": "zeros", "init": "uniform",
                "init_range": 0.1, "output_activation": "sigmoid"}

    @property
    def state_size(self) -> int:
        return 2 * self.n_hidden

    def _specs(self) -> list[Spec]:
        h, i, o = self.n_hidden, self.n_in, self.n_out
        bound = self._bound(h)
        bias = np.zeros(4 * h)
        bias[h:2 * h] = self._options["forget_bias"]
        specs = [Spec("w_ih", (4 * h, i), bound), Spec("w_hh", (4 * h, h), bound), Spec("b", (4 * h,), bound, bias)]
        if self._options["peephole"]:
            specs.append(Spec("w_peep", (3, h), bound))
        return specs + [Spec("w_ho", (o, h), bound), Spec("b_o", (o,), bound), self._h0_spec(2 * h)]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear(x, self.w_ih, self.b, has_e)

    def _project_seq(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return linear_seq(x, self.w_ih, self.b, has_e)

    def _parts(self) -> tuple[int, ...]:
        return (self.n_hidden, self.n_hidden)

    def _cell(self, parts, p):
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

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V h + c from states [E, ..., 2H] (the h half) -> [E, ..., O]."""
        return linear(h[..., : self.n_hidden], self.w_ho, self.b_o, True)

    @classmethod
    def from_weights(cls, W_ih, W_hh, V, b=None, c=None, peephole=None, h0=None, **options) -> "LSTM":
        """From matrices (gate order i, f, g, o): W_ih [4H,I], W_hh [4H,H], b [4H], V [O,H], c [O],
        peephole [3,H] (rows i, f, o; switches ``peephole`` on), h0 [H] or [2H]; each may carry a
        leading E.  b and c default to zeros (``forget_bias`` is not added to given weights)."""
        w = torch.as_tensor(np.asarray(W_ih, dtype=np.float64)) if not torch.is_tensor(W_ih) else W_ih
        v = torch.as_tensor(np.asarray(V, dtype=np.float64)) if not torch.is_tensor(V) else V
        i, h, o = w.shape[-1], w.shape[-2] // 4, v.shape[-2] if v.dim() >= 2 else 0
        lead = tuple(w.shape[:-2])
        arrays = {"w_ih": W_ih, "w_hh": W_hh, "w_ho": V,
                  "b": np.zeros((*lead, 4 * h)) if b is None else b}
        for name, value in (("b_o", c), ("w_peep", peephole), ("h0", h0)):
            if value is not None:
                arrays[name] = value
        if peephole is not None:
            options.setdefault("peephole", True)
        if h0 is not None:
            options.setdefault("h0", "fixed")
        shapes = {"w_ih": (4 * h, i), "w_hh": (4 * h, h), "b": (4 * h,), "w_peep": (3, h),
                  "w_ho": (o, h), "b_o": (o,), "h0": (2 * h,)}
        labels = {"w_ih": "W_ih", "w_hh": "W_hh", "b": "b",
                  "w_peep": "peephole", "w_ho": "V", "b_o": "c", "h0": "h0"}
        return cls._from_arrays(arrays, shapes, (i, h, o), labels=labels, **options)

    @classmethod
    def from_torch(cls, lstms, readouts, **options) -> "LSTM":
        """From E one-layer ``torch.nn.LSTM`` modules and E ``torch.nn.Linear`` readouts.

        W_ih = weight_ih_l0, W_hh = weight_hh_l0, b = bias_ih_l0 + bias_hh_l0
        (the same i, f, g, o order); no peepholes (torch has none).
        """
        lstms = list(lstms) if isinstance(lstms, (list, tuple)) else [lstms]
        readouts = list(readouts) if isinstance(readouts, (list, tuple)) else [readouts]
        for m in lstms:
            if m.num_layers != 1 or m.bidirectional or not m.bias or m.proj_size:
                raise ValueError("from_torch takes one-layer, unidirectional torch.nn.LSTM modules with bias")
        return cls.from_weights(
            W_ih=torch.stack([m.weight_ih_l0.detach() for m in lstms]),
            W_hh=torch.stack([m.weight_hh_l0.detach() for m in lstms]),
            b=torch.stack([(m.bias_ih_l0 + m.bias_hh_l0).detach() for m in lstms]),
            V=torch.stack([m.weight.detach() for m in readouts]),
            c=torch.stack([m.bias.detach() for m in readouts]), **options)
