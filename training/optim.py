"""Per-member optimisers: SGD with momentum and Adam, with member masks.

Every parameter of an ensemble has a leading member axis E (docs/CONTRACTS.md).
A torch optimiser would treat the ensemble as one network: its clipping would
use one global norm, and a member whose gradient is zero would still move under
momentum, Adam or weight decay. :class:`MemberOptimizer` applies the update rule
of :class:`torch.optim.SGD` / :class:`torch.optim.Adam` (L2 weight decay added
to the gradient, as torch does) member by member, vectorised over E:

* gradient clipping by the norm of *that member's* gradient over every parameter
  (``torch.nn.utils.clip_grad_norm_`` applied to each member on its own);
* ``step(active)`` updates only the members in ``active``; the others' weights,
  momentum buffers, Adam moments and step counts stay exactly as they were
  (frozen members, members with nothing to learn from in this chunk);
* a member whose gradient or updated weights are not finite is not updated and
  is reported, so the trainer can mark it diverged and freeze it.

``lr`` and ``momentum`` may be one number or one value per member (an ensemble
can sweep the learning rate).
"""

from __future__ import annotations

import torch

OPTIMIZERS = ("sgd", "adam")


def _per_member(name: str, value, ensemble: int, like: torch.Tensor, minimum=0.0) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    if t.dim() == 0:
        t = t.expand(ensemble)
    if t.shape != (ensemble,):
        raise ValueError(f"{name} must be a number or one value per member ({ensemble}), "
                         f"got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all() or (t < minimum).any():
        raise ValueError(f"{name} must be finite and >= {minimum}, got {value!r}")
    return t.clone()


def _offsets(sizes: list[int]) -> list[int]:
    out, total = [], 0
    for n in sizes:
        out.append(total)
        total += n
    return out


class MemberOptimizer:
    """SGD (with momentum) or Adam over ensemble parameters ``[E, ...]``, member by member.

    Parameters
    ----------
    params : iterable of ``torch.nn.Parameter`` whose first axis is the member axis E.
    ensemble : E.
    method : ``"sgd"`` | ``"adam"``.
    lr, momentum : float or ``[E]`` values. ``momentum`` is SGD's (torch convention,
        no dampening: ``buf = momentum*buf + g; p -= lr*buf``).
    weight_decay : L2 coefficient added to the gradient (``g + wd*p``).
    clip : max gradient norm per member, or None.
    betas, eps : Adam's (Kingma & Ba 2015), torch's defaults.
    """

    def __init__(self, params, ensemble: int, method: str = "sgd", lr=0.1, momentum=0.0,
                 weight_decay: float = 0.0, clip=None, betas=(0.9, 0.999), eps: float = 1e-8):
        if method not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {method!r}")
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("the network has no trainable parameters")
        for p in self.params:
            if p.dim() == 0 or p.shape[0] != ensemble:
                raise ValueError(f"every parameter needs the member axis first ({ensemble}), "
                                 f"got a parameter of shape {tuple(p.shape)}")
        if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
            raise ValueError(f"clip must be None or a number > 0, got {clip!r}")
        if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas!r}")
        like = self.params[0]
        self.ensemble = ensemble
        self.method = method
        self.lr = _per_member("lr", lr, ensemble, like)
        self.momentum = _per_member("momentum", momentum, ensemble, like)
        self.weight_decay = float(weight_decay)
        self.clip = None if clip is None else float(clip)
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)
        self.steps = torch.zeros(ensemble, dtype=torch.long, device=like.device)
        if any(p.dtype != like.dtype or p.device != like.device for p in self.params):
            raise ValueError("every parameter of an ensemble must share one dtype and device, got "
                             f"{sorted({(str(p.dtype), str(p.device)) for p in self.params})}")
        # All members' parameters as one [E, P] block per step, and the optimiser's state kept
        # that way: a step is a dozen tensor ops whatever the number of parameter tensors
        # (it was ~25 per tensor: 2 ms of dispatch per update of a 10-tensor LSTM).
        self._sizes = [p[0].numel() for p in self.params]
        keys = ("buf",) if method == "sgd" else ("m", "v")
        self._flat = {k: like.new_zeros(ensemble, sum(self._sizes)) for k in keys}
        self.state = [{k: part.view(p.shape) for k, part in
                       ((k, self._flat[k][:, lo:lo + n]) for k in keys)}
                      for p, lo, n in zip(self.params, _offsets(self._sizes), self._sizes)]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _grads(self) -> list[torch.Tensor]:
        return [torch.zeros_like(p) if p.grad is None else p.grad.detach() for p in self.params]

    def _block(self, tensors) -> torch.Tensor:
        """Per-member tensors ``[E, ...]`` side by side as one ``[E, P]`` block."""
        return torch.cat([t.reshape(self.ensemble, -1) for t in tensors], 1)

    def grad_norms(self) -> torch.Tensor:
        """Norm of each member's gradient over all parameters, ``[E]``."""
        return self._block(self._grads()).pow(2).sum(1).sqrt()

    @torch.no_grad()
    def step(self, active: torch.Tensor | None = None) -> torch.Tensor:
        """Update the members in ``active`` (bool ``[E]``; all when None).

        Returns bool ``[E]``: members that were active but whose gradient or new
        weights were not finite; they are left untouched.
        """
        E = self.ensemble
        if active is None:
            active = torch.ones(E, dtype=torch.bool, device=self.steps.device)
        g = self._block(self._grads())
        p = self._block([q.detach() for q in self.params])
        finite = torch.isfinite(g).all(1)
        if self.clip is not None:
            norms = g.pow(2).sum(1).sqrt()
            g = g * (self.clip / (norms + 1e-6)).clamp(max=1.0)[:, None]
        if self.weight_decay:
            g = g + self.weight_decay * p
        steps = self.steps + 1
        lr = self.lr[:, None]
        if self.method == "sgd":
            new_state = {"buf": self.momentum[:, None] * self._flat["buf"] + g}
            new = p - lr * new_state["buf"]
        else:
            b1, b2 = self.betas
            m = b1 * self._flat["m"] + (1 - b1) * g
            v = b2 * self._flat["v"] + (1 - b2) * g * g
            t = steps.to(p.dtype)[:, None]
            bc1 = 1 - b1 ** t
            bc2 = 1 - b2 ** t
            denom = (v.sqrt() / bc2.sqrt()) + self.eps
            new = p - (lr / bc1) * m / denom
            new_state = {"m": m, "v": v}
        finite &= torch.isfinite(new).all(1)
        commit = active & finite
        keep = commit[:, None]
        new = torch.where(keep, new, p)
        for q, part in zip(self.params, new.split(self._sizes, 1)):
            q.copy_(part.view(q.shape))
        for key, value in new_state.items():
            self._flat[key].copy_(torch.where(keep, value, self._flat[key]))
        self.steps = torch.where(commit, steps, self.steps)
        return active & ~finite

    def __repr__(self) -> str:
        return (f"MemberOptimizer({self.method}, E={self.ensemble}, "
                f"weight_decay={self.weight_decay}, clip={self.clip})")

