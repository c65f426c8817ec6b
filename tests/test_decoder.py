"""The decoder exported as numpy arrays: the map every search decodes with, without
torch. It must give the torch model's loops, be refused when damaged or stale, and
keep search processes free of torch."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC
from vae import decoder, load_model
from vae.files import DEFAULT_MODEL, load_vae, save_model
from vae.model import DrumModel
from vae.network import Arch, init_seeded


@pytest.fixture(scope="module")
def shipped():
    return load_vae(DEFAULT_MODEL)


def tiny(kind: str) -> DrumModel:
    arch = Arch(kind, inputs=576, hidden=32, zdim=6, velocity_rank=8 if kind == "twohead" else 0)
    return DrumModel(init_seeded(arch, 3), DEFAULT_SPEC, {"name": f"tiny-{kind}"})


@pytest.mark.parametrize("kind", ["twohead", "paper"])
def test_saving_a_model_exports_a_decoder_that_decodes_the_same_loops(kind, tmp_path):
    model = tiny(kind)
    model.hit_threshold = [0.3, 0.5, 0.2, 0.6, 0.5, 0.5, 0.4, 0.5, 0.7]
    save_model(tmp_path / "model.pt", model)
    exported = decoder.decoder_path(tmp_path / "model.pt")
    assert exported.name == "model.decoder.npz"
    with np.load(exported, allow_pickle=False) as data:       # plain arrays only
        assert all(data[k].dtype != object for k in data.files)
    fast = load_model(tmp_path / "model.pt", decode_only=True)
    assert isinstance(fast, decoder.DecoderModel) and fast.kind == kind
    z = model.sample_latent(500, rng=0)
    np.testing.assert_array_equal(fast.decode(z), model.decode(z))
    np.testing.assert_array_equal(fast.decode_hits(z), (model.decode(z) > 0).astype(np.float32))
    np.testing.assert_array_equal(fast.hit_threshold, model.hit_threshold)
    # encoding needs the network: the torch model is loaded on first use
    grids = model.decode(z[:5])
    np.testing.assert_allclose(fast.encode(grids), model.encode(grids), atol=1e-6)


def test_the_numpy_map_agrees_with_torch_s_forward_pass(shipped):
    """The torch network sums in another order; at a threshold's edge a cell can
    differ (documented in vae/decoder.py). Over 5,000 prior samples (2.9 million
    cells) at most a handful may, and velocities agree to float32 rounding."""
    z = shipped.sample_latent(5000, rng=7)
    grids = shipped.decode(z).reshape(len(z), -1)
    with torch.inference_mode():
        out = shipped.network.decode_logits(torch.from_numpy(z)).numpy()
    hits = out[:, :576] >= shipped.hit_cut
    assert (hits != (grids > 0)).sum() <= 5
    both = hits & (grids > 0)
    velocity = np.maximum(1 / (1 + np.exp(-out[:, 576:])), 1 / 127)
    np.testing.assert_allclose(grids[both], velocity[both], atol=1e-5)


def test_a_stale_or_damaged_export_is_never_used(tmp_path):
    model = tiny("twohead")
    path = tmp_path / "model.pt"
    save_model(path, model)
    exported = decoder.decoder_path(path)
    kept = exported.read_bytes()
    save_model(path, tiny("paper"))                  # the model file changes...
    exported.write_bytes(kept)                       # ...but its old export stays
    assert decoder.load_decode_only(path) is None    # refused: torch decodes instead
    assert isinstance(load_model(path, decode_only=True), DrumModel)
    exported.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(EvodrumError, match="model.decoder.npz: not an exported decoder"):
        decoder.load_decode_only(path)
    with np.load(decoder.export(path)) as data:
        arrays = dict(data)
    arrays["trunk.0.weight"] = arrays["trunk.0.weight"].astype(np.float64)
    np.savez(exported, **arrays)
    with pytest.raises(EvodrumError, match="not an exported decoder .*float32"):
        decoder.load_decode_only(path)


@pytest.mark.parametrize("change, words", [
    (lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.float32(np.nan), a),
     "pattern encoder holds non-finite numbers"),
    (lambda a: a[:, :-1], "pattern encoder arrays do not fit together"),
])
def test_a_damaged_pattern_encoder_in_an_export_says_what_is_wrong(tmp_path, change, words):
    path = tmp_path / "model.pt"
    path.write_bytes(DEFAULT_MODEL.read_bytes())
    with np.load(decoder.decoder_path(DEFAULT_MODEL), allow_pickle=False) as data:
        arrays = dict(data)
    arrays["extra.pattern.w1"] = change(arrays["extra.pattern.w1"])
    np.savez(decoder.decoder_path(path), **arrays)
    with pytest.raises(EvodrumError, match=f"model.decoder.npz: not an exported decoder "
                                           f"\\({words}\\)"):
        decoder.load_decode_only(path)


def test_searching_never_imports_torch():
    """A search process decodes with the exported arrays: torch (1-2 s of CPU to
    import) is never loaded."""
    code = ("import sys, numpy as np\n"
            "from evodrum import genotypes\n"
            "space = genotypes.open_space('vae')\n"
            "space.decode(space.random(3, np.random.default_rng(0)))\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_the_target_command_imports_neither_torch_nor_scipy_optimize(tmp_path):
    """What a default `evodrum target` costs is mostly imports: it needs neither."""
    code = ("import sys\n"
            "from evodrum.cli import main\n"
            "try:\n"
            "    main(['target', '-f', 'density=0.5', '-g', '2', '-p', '8', '--out', sys.argv[1]])\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n"
            "assert 'scipy.optimize' not in sys.modules, 'scipy.optimize imported'\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], check=True, timeout=300)
