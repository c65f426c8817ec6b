"""Loading the well-formedness reference: the saved bit-packed rows become the index
without unpacking, one process reuses a loaded reference while its files are
unchanged (and shares it read-only), and a changed or damaged file is read again."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from evodrum import npyfile
from evodrum.errors import EvodrumError
from evodrum.genotypes import files
from fitness.wellformed import OnsetIndex, WellFormedness, order_path, pack_onsets, packed_words

SHIPPED = files.beside_or_shipped(None, files.WELLFORMED_FILE)


@pytest.fixture
def copy(tmp_path):
    """The shipped reference and its scan order, copied: (path, its bytes, the order's)."""
    path = tmp_path / "wellformed.npz"
    shutil.copyfile(SHIPPED, path)
    shutil.copyfile(order_path(SHIPPED), order_path(path))
    return path


@pytest.mark.parametrize("steps", [64, 24, 9, 7])
def test_packed_rows_become_the_same_words_and_onsets(steps):
    rng = np.random.default_rng(steps)
    on = rng.random((50, 9, steps)) < 0.3
    bits = 9 * steps
    packed = np.packbits(on.reshape(50, -1), axis=1)
    np.testing.assert_array_equal(packed_words(packed, bits), pack_onsets(on))
    if bits % 8:                 # stray bits past the last onset (a damaged file) are cleared
        dirty = packed.copy()
        dirty[:, -1] |= 0xFF >> (bits % 8)
        np.testing.assert_array_equal(packed_words(dirty, bits), pack_onsets(on))
    index = OnsetIndex.from_words(packed_words(packed, bits), on.shape)
    assert len(index) == 50
    np.testing.assert_array_equal(index.onsets, on)
    queries = rng.random((20, 9, steps)) < 0.3
    for got, want in zip(index.nearest(queries), OnsetIndex(on).nearest(queries)):
        np.testing.assert_array_equal(got, want)


def test_loaded_reference_is_the_one_saved(copy, tmp_path):
    loaded = WellFormedness.load(copy)
    data = npyfile.load_npz(copy, text=("meta",))
    shape = tuple(json.loads(str(data["meta"]))["train_shape"])
    unpacked = np.unpackbits(data["train"], axis=1, count=shape[1] * shape[2])
    np.testing.assert_array_equal(loaded.index.onsets, unpacked.reshape(shape).astype(bool))
    # rebuilt from its onsets, the reference scores as the loaded one does
    rebuilt = WellFormedness(OnsetIndex(loaded.index.onsets.copy(), loaded.index.order),
                             loaded.heldout, loaded.spec, loaded.info)
    grids = (np.random.default_rng(0).random((300, 9, 64)) < 0.12).astype(np.float32)
    np.testing.assert_array_equal(loaded.score(grids), rebuilt.score(grids))
    np.testing.assert_array_equal(loaded.nearest(grids)[1], rebuilt.nearest(grids)[1])


def test_a_process_reuses_a_loaded_reference_read_only(copy):
    before = copy.read_bytes(), order_path(copy).read_bytes()
    first = WellFormedness.load(copy)
    assert WellFormedness.load(str(copy)) is first
    assert (copy.read_bytes(), order_path(copy).read_bytes()) == before   # read, unchanged
    for array in (first.heldout, first.index.order, first.index.onsets, first.corpus_sample()):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 1
    with pytest.raises(TypeError):
        first.info["heldout_loops"] = -1
    assert WellFormedness.load(copy).info["heldout_loops"] > 0


def test_a_changed_file_or_scan_order_is_read_again(copy):
    first = WellFormedness.load(copy)
    order = order_path(copy)
    reversed_order = first.index.order[::-1].copy()
    np.save(order, reversed_order)                          # another scan order
    second = WellFormedness.load(copy)
    assert second is not first
    np.testing.assert_array_equal(second.index.order, reversed_order)
    order.unlink()                                          # none: the rows in their order
    np.testing.assert_array_equal(WellFormedness.load(copy).index.order,
                                  np.arange(len(first.index)))
    first.save(copy)                                        # rewritten (a new file)
    third = WellFormedness.load(copy)
    assert third is not first and third.info == first.info


def test_a_file_damaged_after_loading_is_refused_in_one_line(copy):
    WellFormedness.load(copy)
    data = dict(np.load(copy))
    data["train"] = data["train"][:, :-1]                   # rows a byte short
    with open(copy, "wb") as f:                             # written over in place
        np.savez_compressed(f, **data)
    os.utime(copy, ns=(1, 1))                               # even with an old timestamp
    with pytest.raises(EvodrumError) as refused:
        WellFormedness.load(copy)
    message = str(refused.value)
    assert message.startswith(f"{copy}: damaged well-formedness reference") and "\n" not in message
    copy.unlink()
    with pytest.raises(EvodrumError, match="wellformed.npz: no such file"):
        WellFormedness.load(copy)
