"""The sliding-window feedforward baseline (NetTalk), as an ensemble with a pure ``step``.

Sejnowski & Rosenberg (1987), "Parallel networks that learn to pronounce
English text", Complex Systems 1, section 2: a fixed window of the last k
input symbols feeds a feedforward net with one hidden layer; nothing else of
the past is remembered.  Here the window is causal (it ends at the current
input) so the same prediction and recognition tasks run through it:

    w_t = [x_{t-k+1}, ..., x_{t-1}, x_t]            (the state; S = k * I)
    y_t = V f(A w_t + a) + c                        (the readout; f = ``activation``)

``step`` shifts the new input into the window (dropping the oldest), so it is
pure and linear, and every analysis tool sees the window as the state.  The
state is NOT a hidden layer: its entries are inputs, oldest first (slot j,
j = 0..k-1, holds x_{t-k+1+j} in entries j*I .. (j+1)*I - 1); the hidden units
live in the readout.  Before the string the window holds ``h0`` (zeros: "no
symbol yet").  A window of k symbols cannot tell apart strings that agree on
their last k symbols: it cannot learn a^n b^n past n ~ k, nor the embedded
Reber grammar's final T/P, which depends on the second symbol of the string.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .base import ACTIVATIONS, RecurrentEnsemble, Spec, linear

__all__ = ["Window"]


class Window(RecurrentEnsemble):
    """Sliding-window feedforward ensemble.  Parameters (leading dim E):

    ``w_wh`` A [E,H,k*I] window->hidden (column block j reads window slot j,
    slot k-1 being the current input), ``b_h`` a [E,H], ``w_ho`` V [E,O,H],
    ``b_o`` c [E,O], ``h0`` [E,k*I] the window before the first input.

    Options: ``k`` (window length in symbols, default 7 as NetTalk's 7-letter
    window); ``activation`` f of the hidden layer ("sigmoid" default, as
    NetTalk | "tanh" | "relu"); ``h0`` ("zeros" | a float filling the whole
    initial window | "learned" | "fixed"); ``init`` "uniform" (U(-r, r),
    ``init_range`` r default 0.3, NetTalk's range) or "torch" (torch.nn.Linear:
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = k*I for A, a and H for V, c);
    ``output_activation`` ("sigmoid" default).
    """

    kind = "window"
    summary = "sliding-window feedforward net (NetTalk): state = last k inputs, y = V f(A window + a) + c"
    DEFAULTS = {"k": 7, "activation": "sigmoid", "h0": "zeros", "init": "uniform", "init_range": 0.3,
                "output_activation": "sigmoid"}

    def _check_option(self, key: str, value):
        if key == "k":
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"option k (window length) must be an int >= 1, got {value!r}")
            return int(value)
        return super()._check_option(key, value)

    @property
    def k(self) -> int:
        """Window length in symbols."""
        return self._options["k"]

    @property
    def state_size(self) -> int:
        return self._options["k"] * self.n_in

    def _h0_spec(self, size: int | None = None) -> Spec:
        mode = self._options["h0"]
        const = np.full(self.state_size, 0.0 if isinstance(mode, str) else mode)
        return Spec("h0", (self.state_size,), None, const, trainable=mode == "learned")

    def _bound(self, fan_in: int) -> float:
        if self._options["init"] == "uniform":
            return self._options["init_range"]
        return 1.0 / math.sqrt(fan_in)

    def _specs(self) -> list[Spec]:
        h, o, s = self.n_hidden, self.n_out, self.state_size
        hid, out = self._bound(s), self._bound(h)
        return [Spec("w_wh", (h, s), hid), Spec("b_h", (h,), hid), Spec("w_ho", (o, h), out),
                Spec("b_o", (o,), out), self._h0_spec()]

    def _project(self, x: torch.Tensor, has_e: bool) -> torch.Tensor:
        return x if has_e else x.expand(self.ensemble, *x.shape)

    def _cell(self, parts, p):
        return (torch.cat([parts[0][..., self.n_in:], p], -1),)

    def hidden(self, h: torch.Tensor) -> torch.Tensor:
        """The hidden layer f(A w + a) of windows h [E, ..., k*I] -> [E, ..., H]."""
        return ACTIVATIONS[self._options["activation"]](linear(h, self.w_wh, self.b_h, True))

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """y = V f(A w + a) + c: windows [E, ..., k*I] -> logits [E, ..., O]."""
        return linear(self.hidden(h), self.w_ho, self.b_o, True)

    @classmethod
    def from_weights(cls, A, V, k: int, a=None, c=None, h0=None, **options) -> "Window":
        """A window net from matrices: A [H, k*I], a [H], V [O,H], c [O], h0 [k*I]; each may carry a
        leading E.  ``k`` is the window length (I = A's columns / k).  a, c default to zeros; giving
        h0 makes it a fixed buffer.  ``dtype`` defaults to float64."""
        k = cls._check_option(cls, "k", k)
        w, v = torch.as_tensor(np.asarray(A, dtype=np.float64)) if not torch.is_tensor(A) else A, \
            torch.as_tensor(np.asarray(V, dtype=np.float64)) if not torch.is_tensor(V) else V
        if w.dim() < 2 or w.shape[-1] % k:
            raise ValueError(f"Window.from_weights: A has shape {tuple(w.shape)}; its last dimension must be "
                             f"k * n_in with k = {k}")
        i, h, o = w.shape[-1] // k, w.shape[-2], v.shape[-2] if v.dim() >= 2 else 0
        arrays = {"w_wh": A, "w_ho": V}
        for name, value in (("b_h", a), ("b_o", c), ("h0", h0)):
            if value is not None:
                arrays[name] = value
        if h0 is not None:
            options.setdefault("h0", "fixed")
        shapes = {"w_wh": (h, k * i), "b_h": (h,), "w_ho": (o, h), "b_o": (o,), "h0": (k * i,)}
        labels = {"w_wh": "A", "b_h": "a", "w_ho": "V", "b_o": "c", "h0": "h0"}
        return cls._from_arrays(arrays, shapes, (i, h, o), labels=labels, k=k, **options)
