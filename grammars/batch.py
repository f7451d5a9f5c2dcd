"""`Batch`: the encoded strings a task hands to training and analysis (docs/CONTRACTS.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass(frozen=True)
class Batch:
    """Padded tensors for B rows of at most T steps (I inputs, O outputs).

    ==============  ===============  ==================================================
    field           shape / dtype    meaning
    ==============  ===============  ==================================================
    inputs          [B,T,I] float32  one-hot inputs, zero after a row's length
    targets         [B,T]   int64    prediction: index in ``output_symbols`` of the
                                     symbol that actually comes next (-1 on padding);
                                     recognition: -1 everywhere
    legal           [B,T,O] float32  prediction: multi-hot legal next symbols;
                                     recognition: zeros
    mask            [B,T]   bool     real (non-padding) positions
    deterministic   [B,T]   bool     prediction: exactly one legal continuation
                                     (a subset of ``mask``); recognition: False
    labels          [B]     float32  recognition: 1.0 member, 0.0 non-member;
                                     prediction: NaN
    lengths         [B]     int64    real steps per row (may be 0)
    strings         tuple[str]       what was encoded (a stream row: the concatenation)
    ==============  ===============  ==================================================
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    legal: torch.Tensor
    mask: torch.Tensor
    deterministic: torch.Tensor
    labels: torch.Tensor
    lengths: torch.Tensor
    strings: tuple

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def to(self, device) -> "Batch":
        """A copy with every tensor on ``device``."""
        return Batch(**{f.name: (getattr(self, f.name).to(device) if f.name != "strings"
                                 else self.strings) for f in fields(self)})

    def select(self, rows) -> "Batch":
        """The rows ``rows`` (indices or a bool mask) as a new Batch."""
        rows = torch.as_tensor(rows)
        if rows.dtype == torch.bool:
            rows = torch.nonzero(rows).flatten()
        strings = tuple(self.strings[int(i)] for i in rows)
        return Batch(**{f.name: (getattr(self, f.name)[rows] if f.name != "strings" else strings)
                        for f in fields(self)})
