"""Checkpoints: safetensors + JSON sidecar round trip; corruption gives a clear ValueError."""

import json

import pytest
import torch

from dynrec import models


@pytest.mark.parametrize("kind,options", [("srn", {"shortcut": True, "h0": "learned"}), ("jordan", {"decay": 0.2}),
                                          ("second_order", {}), ("lstm", {"peephole": True}),
                                          ("gru", {"reset_after": True})])
def test_round_trip_every_family(tmp_path, kind, options):
    net = models.build(kind, 2, 3, 2, ensemble=4, seed=7, dtype=torch.float64, alphabet=("a", "b"), **options)
    path = tmp_path / "net.safetensors"
    net.save(path)
    assert path.is_file() and (tmp_path / "net.safetensors.json").is_file()
    meta = json.loads((tmp_path / "net.safetensors.json").read_text())
    assert meta["kind"] == kind and meta["ensemble"] == 4 and meta["alphabet"] == ["a", "b"]
    assert meta["dynrec_version"] and len(meta["weights_sha256"]) == 64
    for where in (path, tmp_path / "net.safetensors.json"):
        back = models.load(where)
        assert type(back) is type(net) and back.options == net.options and back.alphabet == net.alphabet
        assert back.dtype == torch.float64 and back.state_size == net.state_size
        for name, t in net._tensors().items():
            assert torch.equal(getattr(back, name), t), name
        x = torch.randn(3, 4, 2, dtype=torch.float64)
        assert torch.equal(back(x)[0], net(x)[0])


def test_from_weights_h0_survives_round_trip(tmp_path, reference_dir):
    data = json.loads((reference_dir / "published_weights.json").read_text())["tomita1_dynamical_recognizer"]
    net = models.SecondOrder.from_weights(W=data["W"], P=data["P"], h0=data["h0"])
    net.save(tmp_path / "t1.safetensors")
    back = models.load(tmp_path / "t1.safetensors")
    assert back.options["h0"] == "fixed"
    assert back.initial_state(1).tolist() == [[[0.5, 0.5]]]


def _saved(tmp_path):
    net = models.build("lstm", 2, 2, 1, ensemble=3, seed=0)
    path = tmp_path / "m.safetensors"
    net.save(path)
    return path


def test_truncated_weights_give_clear_error(tmp_path):
    path = _saved(tmp_path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated, altered"):
        models.load(path)


def test_altered_byte_gives_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256"):
        models.load(path)


def test_malformed_sidecar_and_mismatched_shapes(tmp_path):
    path = _saved(tmp_path)
    side = tmp_path / "m.safetensors.json"
    meta = json.loads(side.read_text())
    side.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        models.load(path)
    side.write_text(json.dumps({**meta, "kind": "transformer"}))
    with pytest.raises(ValueError, match="valid kinds"):
        models.load(path)
    side.write_text(json.dumps({**meta, "n_hidden": 3}))  # hash fine, tensors no longer fit
    with pytest.raises(ValueError, match=r"has shape \(3, 8, 2\), expected \(3, 12, 2\)"):
        models.load(path)
    side.write_text(json.dumps({k: v for k, v in meta.items() if k != "weights_sha256"}))
    with pytest.raises(ValueError, match="lacks keys"):
        models.load(path)


def test_garbage_with_matching_hash_is_a_value_error(tmp_path):
    """Even a file whose hash matches (written by hand) is parsed by safetensors, never unpickled."""
    import hashlib

    path = _saved(tmp_path)
    side = tmp_path / "m.safetensors.json"
    meta = json.loads(side.read_text())
    path.write_bytes(b"\x80\x04garbage pickle-like bytes")
    side.write_text(json.dumps({**meta, "weights_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}))
    with pytest.raises(ValueError, match="cannot be parsed as safetensors"):
        models.load(path)


def test_missing_file(tmp_path):
    path = _saved(tmp_path)
    (tmp_path / "m.safetensors.json").unlink()
    with pytest.raises(FileNotFoundError, match="sidecar"):
        models.load(path)


def test_same_weights_give_byte_identical_checkpoints(tmp_path):
    from dynrec import models

    net = models.build("lstm", 3, 4, 2, ensemble=2, seed=5)
    net.save(tmp_path / "a.safetensors")
    net.save(tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
