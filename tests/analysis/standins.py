"""Tiny private networks obeying the models contract, for maps the model families cannot express.

`AffineNet` is h' = f(W_x h + b_x) with one matrix and bias per input symbol
(f = identity gives a linear map whose fixed points and eigenvalues are known in
closed form); it carries a leading ensemble dimension like every dynrec model.
"""

from __future__ import annotations

import copy

import torch


class AffineNet(torch.nn.Module):
    """``h' = act(W[e, s] h + b[e, s])`` for one-hot input s; ``W [E,I,S,S]``, ``b [E,I,S]``."""

    def __init__(self, W, b, h0=None, V=None, c=None, act="identity", alphabet=None, output_activation="tanh"):
        super().__init__()
        W = torch.as_tensor(W, dtype=torch.float32)
        b = torch.as_tensor(b, dtype=torch.float32)
        if W.dim() == 3:
            W, b = W[None], b[None]
        self.W = torch.nn.Parameter(W)
        self.b = torch.nn.Parameter(b)
        E, I, S, _ = W.shape
        self.h0 = torch.nn.Parameter(torch.zeros(E, S) if h0 is None else torch.as_tensor(h0, dtype=torch.float32).expand(E, S).clone())
        self.V = torch.nn.Parameter(torch.ones(E, 1, S) if V is None else torch.as_tensor(V, dtype=torch.float32).expand(E, 1, S).clone())
        self.c = torch.nn.Parameter(torch.zeros(E, 1) if c is None else torch.as_tensor(c, dtype=torch.float32).expand(E, 1).clone())
        self.act = act
        self.alphabet = tuple(alphabet) if alphabet is not None else None
        self.output_activation = output_activation
        self.kind = "affine"

    @property
    def ensemble(self):
        return self.W.shape[0]

    @property
    def n_in(self):
        return self.W.shape[1]

    @property
    def state_size(self):
        return self.W.shape[2]

    n_hidden = state_size

    @property
    def n_out(self):
        return 1

    def initial_state(self, B):
        return self.h0[:, None, :].expand(-1, B, -1).clone()

    def step(self, h, x):
        if x.dim() == 2:
            x = x.expand(h.shape[0], -1, -1)
        Wx = torch.einsum("ebi,eijk->ebjk", x, self.W)
        bx = torch.einsum("ebi,eij->ebj", x, self.b)
        z = (Wx @ h.unsqueeze(-1)).squeeze(-1) + bx
        if self.act == "identity":
            return z
        return torch.tanh(z) if self.act == "tanh" else torch.sigmoid(z)

    def readout(self, h):
        return torch.einsum("eos,ebs->ebo", self.V, h) + self.c[:, None, :]

    def select(self, indices):
        new = copy.deepcopy(self)
        idx = torch.as_tensor(list(indices))
        for name in ("W", "b", "h0", "V", "c"):
            setattr(new, name, torch.nn.Parameter(getattr(self, name).data[idx].clone()))
        return new

    def member(self, i):
        return self.select([i])

    def to_flat(self):
        return torch.cat([p.data.reshape(self.ensemble, -1) for p in (self.W, self.b, self.h0, self.V, self.c)], 1)

    def load_flat(self, v):
        off = 0
        for p in (self.W, self.b, self.h0, self.V, self.c):
            n = p[0].numel()
            p.data.copy_(v[:, off:off + n].reshape(p.shape))
            off += n
