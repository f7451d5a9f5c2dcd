"""Training data with a leading ensemble axis: each member may see its own strings.

``grammars.Batch`` (docs/CONTRACTS.md) holds ``[B, T, ...]`` tensors for one
list of strings. Training gives every member its own string sequence, so the
trainers encode all members' strings as one batch of ``E*B`` rows and view it
as ``[E, B, T, ...]`` (:func:`per_member`); strings shared by all members keep
a broadcast leading axis of size 1 (:func:`shared`). Nothing here copies the
tensors more than once.

Per-member data streams: member ``i`` of ``fit(net, task, seed=s)`` draws its
strings from ``data_rng(models.member_seed(s, i))`` (:func:`data_rng`), so member
``i`` of an ensemble sees exactly the strings that the same network trained alone
with ``seed=[models.member_seed(s, i)]`` sees (trainers accept a list of member
seeds for that purpose).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Spawn key that separates the data stream of a member from its initialisation
# stream (models seed torch generators with the member seed itself).
_DATA_STREAM = 0x44415441  # "DATA"


def data_rng(member_seed: int) -> np.random.Generator:
    """The numpy Generator that draws one member's training strings.

    ``SeedSequence(member_seed, spawn_key=(DATA,))`` keeps it independent of the
    member's weight initialisation, which is seeded with ``member_seed`` itself.
    """
    return np.random.default_rng(np.random.SeedSequence(int(member_seed), spawn_key=(_DATA_STREAM,)))


def resolve_member_seeds(seed, ensemble: int) -> list[int]:
    """``seed`` (an int, or a list of ``ensemble`` ints) -> one data seed per member.

    An int ``s`` gives ``[models.member_seed(s, i) for i in range(E)]``, the same
    seeds ``models.build(..., seed=s)`` initialises the members with; a list is
    taken as the member seeds themselves (to train member ``i`` of a bigger
    ensemble alone: ``seed=[models.member_seed(s, i)]``).
    """
    from dynrec.models.seeding import member_keys

    if isinstance(seed, (list, tuple, np.ndarray)):
        seeds = [int(s) for s in seed]
        if len(seeds) != ensemble:
            raise ValueError(f"seed lists one seed per member: got {len(seeds)} seeds for an "
                             f"ensemble of {ensemble}")
        return seeds
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int or a list of member seeds, got {seed!r}")
    return [int(k) for k in member_keys(int(seed), ensemble)]   # member_seed(seed, i), all at once


@dataclass(frozen=True)
class Data:
    """A batch with a leading ensemble axis (size E, or 1 when shared).

    | field | shape |
    |---|---|
    | ``inputs`` | ``[E|1, B, T, I]`` float |
    | ``targets`` | ``[E|1, B, T]`` long (-1 where undefined) |
    | ``legal`` | ``[E|1, B, T, O]`` float |
    | ``mask`` | ``[E|1, B, T]`` bool |
    | ``deterministic`` | ``[E|1, B, T]`` bool |
    | ``labels`` | ``[E|1, B]`` float |
    | ``lengths`` | ``[E|1, B]`` long |
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    legal: torch.Tensor
    mask: torch.Tensor
    deterministic: torch.Tensor
    labels: torch.Tensor
    lengths: torch.Tensor
    kind: str  # "prediction" | "recognition"

    @property
    def rows(self) -> int:
        return self.inputs.shape[1]

    @property
    def steps(self) -> int:
        return self.inputs.shape[2]

    def select_rows(self, index) -> Data:
        """Rows ``index`` (a slice or a long tensor) of every member."""
        return Data(self.inputs[:, index], self.targets[:, index], self.legal[:, index],
                    self.mask[:, index], self.deterministic[:, index], self.labels[:, index],
                    self.lengths[:, index], self.kind)

    def trim(self) -> Data:
        """Drop trailing time steps that are padding in every row of every member."""
        t = int(self.lengths.max()) if self.lengths.numel() else 0
        if t >= self.steps:
            return self
        return Data(self.inputs[:, :, :t], self.targets[:, :, :t], self.legal[:, :, :t],
                    self.mask[:, :, :t], self.deterministic[:, :, :t], self.labels,
                    self.lengths, self.kind)

    def to(self, dtype: torch.dtype, device) -> Data:
        return Data(self.inputs.to(device=device, dtype=dtype), self.targets.to(device),
                    self.legal.to(device=device, dtype=dtype), self.mask.to(device),
                    self.deterministic.to(device), self.labels.to(device=device, dtype=dtype),
                    self.lengths.to(device), self.kind)


_FIELDS = ("inputs", "targets", "legal", "mask", "deterministic", "labels", "lengths")


def _view(fields: dict, ensemble: int, kind: str) -> Data:
    """``[E*B, ...]`` tensors -> :class:`Data` with ``[E, B, ...]`` views."""
    lead = {k: v.reshape(ensemble, v.shape[0] // ensemble, *v.shape[1:]) for k, v in fields.items()}
    return Data(kind=kind, **lead)


def _fields(batch, index=None) -> dict:
    if index is None:
        return {k: getattr(batch, k) for k in _FIELDS}
    return {k: getattr(batch, k).index_select(0, index) for k in _FIELDS}


def shared(task, strings) -> Data:
    """Encode ``strings`` once for every member: leading axis of size 1 (broadcast)."""
    return _view(_fields(task.encode(list(strings))), 1, task.kind)


def index_strings(strings_per_member) -> tuple[list[str], np.ndarray]:
    """``E`` equally long lists of strings -> ``(unique, index)``: the distinct strings in order
    of first appearance and ``index [E, n]`` (int64) with ``unique[index[e, j]]`` member ``e``'s
    ``j``-th string."""
    lists = [list(s) for s in strings_per_member]
    if not lists:
        raise ValueError("strings_per_member must hold one list per member, got none")
    count = len(lists[0])
    if any(len(s) != count for s in lists):
        raise ValueError(f"every member needs the same number of strings, got "
                         f"{sorted({len(s) for s in lists})}")
    position: dict[str, int] = {}
    flat = [position.setdefault(s, len(position)) for member in lists for s in member]
    return list(position), np.array(flat, dtype=np.int64).reshape(len(lists), count)


def per_member_index(task, unique, index) -> Data:
    """:func:`per_member` for strings given as ``(unique, index)`` (see :func:`index_strings`):
    the distinct strings are encoded once and gathered into ``[E, n, T, ...]``."""
    index = np.asarray(index, dtype=np.int64)
    if index.ndim != 2 or index.shape[0] == 0:
        raise ValueError(f"index must be [E, n] with E >= 1, got shape {index.shape}")
    if getattr(task, "stream", False):
        return _view(_fields(task.encode_streams([[unique[j] for j in row] for row in index.tolist()])),
                     index.shape[0], task.kind)
    rows = torch.from_numpy(index.reshape(-1))
    return _view(_fields(task.encode(list(unique)), rows), index.shape[0], task.kind)


def per_member(task, strings_per_member) -> Data:
    """Encode ``E`` equally long lists of strings (one per member) as ``[E, B, T, ...]``.

    For a stream task (``task.stream``) each member's list becomes ONE row, the
    concatenation of its strings (``task.encode_streams``): ``[E, 1, T, ...]``.
    Equal strings are encoded once (tasks over counting languages repeat a
    handful of strings many times) and gathered into place.
    """
    unique, index = index_strings(strings_per_member)
    return per_member_index(task, unique, index)
