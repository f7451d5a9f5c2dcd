"""Elman's one-step training of a plain SRN as one compiled call per minibatch (numba, CPU).

``BPTT(mode="elman", optimizer="sgd")`` updates the weights after every symbol
(Elman 1990, "Finding structure in time": the context units are a copy of the
previous hidden state, the error is backpropagated one step).  Written with
torch ops that is a forward step, a loss, a backward pass and an optimiser step
of a few dozen tiny tensors per symbol - about 1.7 ms of dispatch per update,
whatever the ensemble size, so the 600 passes over 3,000 bits of Elman's
temporal XOR took 50 minutes.  :func:`elman_sgd` runs the same arithmetic for
all steps of a minibatch in ``models.kernels.elman_sgd_kernel``: the forward
step, the loss (squared error on squashed outputs, or softmax cross-entropy),
the one-step gradient, and ``training.optim.MemberOptimizer``'s SGD update
(momentum, L2 weight decay, per-member clipping, no update and the member
marked diverged when its loss, gradient or new weights are not finite).

It applies where that is the whole computation: a plain SRN on the compiled
path (``models.fast.select`` gives ``"numba_srn"``) whose only parameters are
U, W, b, V, c, next-symbol prediction with ``loss`` "sse" or "ce", and SGD.
Anything else (Adam, BCE, recognition, a learned initial state, stacked or
leaky units, numba off) returns None and the trainer takes the torch path,
which tests/training/test_fast_training.py holds this one to.
"""

from __future__ import annotations

import torch

from ..models import fast
from ..models.kernels import CODES, elman_sgd_kernel

__all__ = ["elman_sgd"]

_PARAMS = ("w_ih", "b_h", "w_hh", "w_ho", "b_o")   # U, b, W, V, c


def _applies(net, opt, data, loss: str) -> bool:
    if loss not in ("sse", "ce") or data.kind != "prediction" or opt.method != "sgd":
        return False
    if fast.select(net, data.inputs[0]) != "numba_srn":
        return False
    names = [n for n, _ in net.named_parameters()]
    trainable = {id(p) for p in opt.params}
    return sorted(names) == sorted(_PARAMS) and all(id(getattr(net, n)) in trainable for n in _PARAMS) \
        and all(getattr(net, n).is_contiguous() for n in _PARAMS)


@torch.no_grad()
def elman_sgd(net, opt, data, live: torch.Tensor, diverged: torch.Tensor, loss: str,
              activation: str, norm: torch.Tensor | None) -> torch.Tensor | None:
    """All steps of one minibatch ``data`` ([E|1,B,T,...]) with an update after each; the
    arguments and the result (each member's summed step losses, ``[E]``) are those of
    ``BPTT._train_rows``; ``live`` and ``diverged`` are updated in place.  None when the
    compiled path does not apply (see the module docstring)."""
    if not _applies(net, opt, data, loss):
        return None
    E, B = net.ensemble, data.rows
    dtype = net.w_ih.dtype
    x = data.inputs.to(dtype).contiguous()
    target = data.targets.clamp(min=0).contiguous()
    mask = data.mask.to(torch.uint8).contiguous()
    rows_norm = torch.ones(1, B, dtype=dtype) if norm is None else norm.to(dtype).contiguous()
    h = net.initial_state(B).detach().to(dtype).contiguous().clone()
    state = {id(p): st for p, st in zip(opt.params, opt.state)}
    params = [getattr(net, n) for n in _PARAMS]
    held = [state[id(p)]["buf"] for p in params]     # views of the optimiser's [E, P] block
    bufs = [q.contiguous() for q in held]
    alive = live.to(torch.uint8).numpy().copy()
    bad = torch.zeros(E, dtype=torch.uint8).numpy()
    total = torch.zeros(E, dtype=torch.float64)
    commits = torch.zeros(E, dtype=torch.int64)
    elman_sgd_kernel(x.numpy(), target.numpy(), mask.numpy(), rows_norm.numpy(), h.numpy(),
                     *(p.detach().numpy() for p in params), *(q.numpy() for q in bufs),
                     opt.lr.to(dtype).numpy(), opt.momentum.to(dtype).numpy(),
                     float(opt.weight_decay), float(opt.clip or 0.0),
                     CODES[net.options["activation"]], activation == "tanh", loss == "ce",
                     alive, bad, total.numpy(), commits.numpy())
    for q, b in zip(held, bufs):
        q.copy_(b)
    for t in params:      # written through numpy: tell autograd they changed
        torch.autograd.graph.increment_version(t)
    diverged |= torch.from_numpy(bad).bool()
    live &= torch.from_numpy(alive).bool()
    opt.steps += commits
    return total.to(dtype)
