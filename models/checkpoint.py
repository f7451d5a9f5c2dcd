"""Checkpoints: weights in safetensors plus a JSON sidecar; loading never unpickles.

``save(net, "run/net.safetensors")`` writes two files:

* ``run/net.safetensors``: every per-member tensor (parameters and buffers) by name;
* ``run/net.safetensors.json``: ``format``, ``kind``, ``n_in``, ``n_hidden``,
  ``n_out``, ``ensemble``, ``state_size``, ``dtype``, ``options``, ``alphabet``,
  ``tensors`` (name -> shape), ``trainable`` (names), ``dynrec_version`` and
  ``weights_sha256``, the SHA-256 of the weights file.

:func:`load` checks the hash before parsing anything, so a truncated or altered
weights file gives a ``ValueError`` that says so, not a failure deep in a parser.
Both files are written atomically (a temporary file, then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

__all__ = ["save", "load", "FORMAT"]

FORMAT = "dynrec.models/1"
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _paths(path) -> tuple[Path, Path]:
    path = Path(path)
    if path.name.endswith(".json"):
        return path.with_name(path.name[: -len(".json")]), path
    return path, path.with_name(path.name + ".json")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save(net, path) -> tuple[Path, Path]:
    """Write ``net`` to ``path`` (safetensors) and ``path + '.json'``; returns both paths."""
    from dynrec import __version__

    weights, sidecar = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net._tensors().items()}
    # One metadata key: safetensors keeps metadata in a hash map, so two keys
    # would come out in either order and the same weights would hash differently.
    data = st_save(tensors, metadata={"dynrec": f"{FORMAT}:{net.kind}"})
    meta = {"format": FORMAT, "kind": net.kind, "n_in": net.n_in, "n_hidden": net.n_hidden,
            "n_out": net.n_out, "ensemble": net.ensemble, "state_size": net.state_size,
            "dtype": str(net.dtype).removeprefix("torch."), "options": net.options,
            "alphabet": None if net.alphabet is None else list(net.alphabet),
            "tensors": {k: list(v.shape) for k, v in tensors.items()}, "trainable": list(net._trainable),
            "dynrec_version": __version__, "weights_file": weights.name,
            "weights_sha256": hashlib.sha256(data).hexdigest()}
    _write_atomic(weights, data)
    _write_atomic(sidecar, (json.dumps(meta, indent=2) + "\n").encode())
    return weights, sidecar


def load(path, device="cpu"):
    """Read a checkpoint written by :func:`save` (give the weights path or the sidecar path).

    Raises ``FileNotFoundError`` when a file is missing and ``ValueError`` when
    the sidecar is malformed, the weights do not match its hash (truncated or
    altered), or the tensors do not fit the recorded kind, sizes and options.
    """
    from . import KINDS

    weights, sidecar = _paths(path)
    for p in (sidecar, weights):
        if not p.is_file():
            raise FileNotFoundError(f"checkpoint file {p} not found (a checkpoint is {weights.name} "
                                    f"plus the sidecar {sidecar.name})")
    try:
        meta = json.loads(sidecar.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"checkpoint sidecar {sidecar} is not valid JSON: {err}") from None
    need = ("format", "kind", "n_in", "n_hidden", "n_out", "ensemble", "dtype", "options", "weights_sha256")
    if not isinstance(meta, dict) or any(k not in meta for k in need):
        raise ValueError(f"checkpoint sidecar {sidecar} lacks keys "
                         f"{[k for k in need if not isinstance(meta, dict) or k not in meta]}")
    if meta["format"] != FORMAT:
        raise ValueError(f"checkpoint {sidecar} has format {meta['format']!r}; this dynrec reads {FORMAT!r}")
    if meta["kind"] not in KINDS:
        raise ValueError(f"checkpoint {sidecar} has kind {meta['kind']!r}; valid kinds: {sorted(KINDS)}")
    if meta["dtype"] not in _DTYPES:
        raise ValueError(f"checkpoint {sidecar} has dtype {meta['dtype']!r}; valid: {sorted(_DTYPES)}")
    data = weights.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta["weights_sha256"]:
        raise ValueError(f"checkpoint weights {weights} ({len(data)} bytes) have SHA-256 {digest[:16]}..., "
                         f"but {sidecar.name} records {str(meta['weights_sha256'])[:16]}...: the file is "
                         f"truncated, altered or from another save")
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise ValueError(f"checkpoint weights {weights} cannot be parsed as safetensors: {err}") from None
    cls = KINDS[meta["kind"]]
    net = cls(meta["n_in"], meta["n_hidden"], meta["n_out"], meta["ensemble"], dtype=_DTYPES[meta["dtype"]],
              device=device, alphabet=meta.get("alphabet"), **meta["options"])
    net._assign(tensors, f"checkpoint {weights}")
    return net
