"""Well-formedness: does a loop look like real drumming? Measured against the corpus
itself, so no searched representation was trained to optimise it.

Beside the reference, `<stem>.order.npy` holds a scan order of its training loops
(most often nearest first): `score` stops scanning at the first loop near enough to
score 1, so the order decides only its speed, never a score; it is therefore kept
out of the reference file, whose digest identifies a comparison's runs.

Per loop: the Jaccard distance of its onsets to the nearest training loop, read
against the same distance for held-out test loops (a different split, so never a
self-match). Per set of loops: feature distributions against the corpus (see
`fitness.setstats`). The reference is built once from a corpus and saved as a small
.npz (`WellFormedness.from_corpus(corpus).save(path)`), which searches reload.
"""
from __future__ import annotations

import json
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from evodrum import atomic, npyfile
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec, check_grids, onsets
from evodrum.kit import KIT_VERSION
from fitness import jaccard, setstats

FORMAT = "evodrum-wellformed-1"
#: Training loops whose features stand for the corpus in set comparisons.
SET_SAMPLE = 2000


def unique_onsets(on: np.ndarray) -> np.ndarray:
    """Distinct onset patterns of (N, 9, S) booleans, in first-seen order."""
    packed = np.packbits(on.reshape(len(on), -1), axis=1)
    _, first = np.unique(packed, axis=0, return_index=True)
    return on[np.sort(first)]


class OnsetIndex:
    """Nearest training loop by Jaccard distance on onsets, exactly.

    Loops are bit-packed (576 onsets = 9 uint64 words); |a AND b| and |a OR b| are
    popcounts of whole words, so each query/train pair costs 9 ANDs, 9 ORs and their
    popcounts instead of 576 multiply-adds. Similarities are the same float32
    quotients as a 0/1 matrix product would give, so distances, indices and ties
    (the first of equally near loops) do not depend on the method. A compiled loop
    (numba, the `fast` extra) is used when installed, else numpy's `bitwise_count`.
    """

    def __init__(self, train_onsets: np.ndarray, order: np.ndarray | None = None):
        self._build(pack_onsets(train_onsets), train_onsets.shape, order, train_onsets)

    @classmethod
    def from_words(cls, words: np.ndarray, shape: tuple[int, ...],
                   order: np.ndarray | None = None) -> "OnsetIndex":
        """The index of (N, ...) onsets of `shape` given as `pack_onsets` words, which
        is how a saved reference holds them: unpacked only if `onsets` is read. Its
        arrays are read-only (a loaded reference is shared)."""
        index = cls.__new__(cls)
        index._build(words, shape,
                     read_only(np.arange(shape[0]) if order is None else np.array(order)))
        return index

    def _build(self, words: np.ndarray, shape: tuple[int, ...], order: np.ndarray | None,
               onsets: np.ndarray | None = None) -> None:
        """Set up from `pack_onsets` words; `onsets`, when already at hand, spares
        unpacking them from the words."""
        self._onsets, self._shape = onsets, tuple(shape)
        self.order = np.arange(self._shape[0]) if order is None else np.asarray(order)
        self._index = jaccard.Index(words, self.order)

    @property
    def onsets(self) -> np.ndarray:
        """The training loops' onsets, (N, ...) booleans."""
        if self._onsets is None:
            words = self._index.train.astype(">u8").view(np.uint8).reshape(self._shape[0], -1)
            cells = int(np.prod(self._shape[1:]))
            bits = np.unpackbits(words, axis=1, count=cells).astype(bool)
            self._onsets = read_only(bits.reshape(self._shape))
        return self._onsets

    def __len__(self) -> int:
        return self._shape[0]

    def nearest(self, query_onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(distance (N,) float32 in [0, 1], index (N,) of the nearest training loop).

        An empty query is at distance 1 from everything.
        """
        return self._index.nearest(pack_onsets(query_onsets))

    def within(self, query_onsets: np.ndarray, cap: float) -> np.ndarray:
        """Nearest distances where they exceed `cap`, else some distance <= cap
        (scans stop early; rows are scanned in `order`)."""
        return self._index.within(pack_onsets(query_onsets), cap)

    def reordered(self, query_onsets: np.ndarray) -> "OnsetIndex":
        """This index scanning rows by how often each is the nearest of `query_onsets`
        (most often first; ties by row), so early-stopping scans end sooner."""
        counts = np.bincount(self.nearest(query_onsets)[1], minlength=len(self))
        index = OnsetIndex.__new__(OnsetIndex)
        index._build(self._index.train, self._shape, np.argsort(-counts, kind="stable"),
                     self._onsets)
        return index


def pack_onsets(on: np.ndarray) -> np.ndarray:
    """(N, ...) booleans as (N, words) uint64, zero-padded to whole words."""
    flat = np.ascontiguousarray(on.reshape(len(on), -1), dtype=bool)
    return packed_words(np.packbits(flat, axis=1), flat.shape[1])


def packed_words(packed: np.ndarray, bits: int) -> np.ndarray:
    """Rows of `bits` onsets packed by np.packbits (uint8) as `pack_onsets` words: bytes
    zero-padded to whole uint64 words, any bits past `bits` cleared."""
    out = np.zeros((len(packed), -(-bits // 64) * 8), dtype=np.uint8)
    out[:, :packed.shape[1]] = packed
    if bits % 8:
        out[:, bits // 8] &= (0xFF << (8 - bits % 8)) & 0xFF
    return out.view(">u8").astype(np.uint64)


def read_only(array: np.ndarray) -> np.ndarray:
    """`array`, no longer writable: a loaded reference is shared by its process's callers."""
    array.flags.writeable = False
    return array


class WellFormedness:
    """How typical loops are of a corpus: per-loop scores and per-set distributions.

    `heldout` holds the sorted nearest-training distances of the held-out loops:
    the yardstick a candidate's own distance is read against.
    """

    def __init__(self, index: OnsetIndex, heldout: np.ndarray, spec: GridSpec, info: dict):
        self.index = index
        self.heldout = read_only(np.sort(np.asarray(heldout, dtype=np.float32)))
        self.spec = spec
        self._info = dict(info)
        self._corpus_sample: np.ndarray | None = None
        # the largest distance that still scores 1 (every nearer one does too)
        self._cap = float(self.heldout[self._score(self.heldout) >= 1.0].max())

    @property
    def info(self) -> Mapping:
        """Where the reference comes from (corpus hash, splits, loop counts), read-only:
        one reference may be shared by every caller in a process (see `load`)."""
        return MappingProxyType(self._info)

    @classmethod
    def from_corpus(cls, corpus, heldout_split: str = "test") -> "WellFormedness":
        """Reference from a Corpus: its distinct train loops, and the nearest-train
        distances of its distinct `heldout_split` loops (exact repeats of one window
        inside a performance would otherwise weigh that performance many times)."""
        train, held = corpus.split_grids("train"), corpus.split_grids(heldout_split)
        if len(train) == 0 or len(held) == 0:
            raise EvodrumError(f"corpus {corpus.path or corpus.manifest_hash}: well-formedness "
                               f"needs loops in both the train and {heldout_split} splits")
        train, held = unique_onsets(onsets(train)), unique_onsets(onsets(held))
        index = OnsetIndex(train).reordered(held)
        info = {"corpus_hash": corpus.manifest_hash, "heldout_split": heldout_split,
                "train_loops": int((corpus.split == "train").sum()),
                "distinct_train_loops": len(train), "heldout_loops": len(held)}
        return cls(index, index.nearest(held)[0], corpus.spec, info)

    def reordered(self, grids: np.ndarray) -> "WellFormedness":
        """The same reference (the same scores) scanning training loops by how often
        each is the nearest of `grids`: give a model's prior samples, the loops its
        searches meet. The shipped reference is ordered by the shipped VAE's."""
        return WellFormedness(self.index.reordered(self._onsets(grids)), self.heldout,
                              self.spec, self._info)

    # --- per loop -------------------------------------------------------------

    def _onsets(self, grids: np.ndarray) -> np.ndarray:
        return onsets(check_grids(grids, self.spec))

    def nearest(self, grids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Jaccard distance to the nearest training loop, and that loop's index."""
        return self.index.nearest(self._onsets(grids))

    def typicality(self, grids: np.ndarray) -> np.ndarray:
        """Share of held-out real loops at least as far from the training set: in [0, 1].

        Uniform over real loops; near 0 for loops unlike anything real.
        """
        return self._typicality(self.nearest(grids)[0])

    def _typicality(self, dist: np.ndarray) -> np.ndarray:
        n = len(self.heldout)
        return ((n - np.searchsorted(self.heldout, dist, side="left")) / n).astype(np.float32)

    def _score(self, dist: np.ndarray) -> np.ndarray:
        return np.minimum(1.0, 2.0 * self._typicality(dist)).astype(np.float32)

    def score(self, grids: np.ndarray) -> np.ndarray:
        """min(1, 2 * typicality): 1 for loops as close to real drumming as the median
        held-out loop or closer, falling to 0 beyond the farthest; closer than typical
        earns nothing more, so a search is not pushed towards copying the corpus.
        Since every distance up to the median's scores 1, the nearest-loop scan stops
        at the first training loop that close (the same scores, ~6x faster)."""
        return self._score(self.index.within(self._onsets(grids), self._cap))

    # --- per set --------------------------------------------------------------

    def corpus_sample(self) -> np.ndarray:
        """A fixed sample of training loops (as 0/1 grids) standing for the corpus."""
        if self._corpus_sample is None:
            on = self.index.onsets
            pick = np.random.default_rng(0).permutation(len(on))[:SET_SAMPLE]
            self._corpus_sample = read_only(on[np.sort(pick)].astype(np.float32))
        return self._corpus_sample

    def compare_set(self, grids: np.ndarray) -> dict:
        """Feature and per-row hit-density distributions of a set against the corpus
        (overlapping area and KL divergence after Yang & Lerch 2020)."""
        return setstats.compare(check_grids(grids, self.spec), self.corpus_sample(), self.spec)

    # --- storage --------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the reference to a compressed .npz atomically; returns the path."""
        path = Path(path)
        on = self.index.onsets
        meta = {"format": FORMAT, "kit": KIT_VERSION, "spec": self.spec.to_dict(),
                "train_shape": list(on.shape), "info": dict(self._info)}
        with atomic.atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, meta=np.array(json.dumps(meta)),
                                    train=np.packbits(on.reshape(len(on), -1), axis=1),
                                    heldout=self.heldout)
        with atomic.atomic_path(order_path(path)) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, self.index.order.astype(np.int32), allow_pickle=False)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "WellFormedness":
        """Read a reference written by `save`; EvodrumError naming the file if it is not one.

        A process keeps the last LOADED_MAX references it read, by the identity of the
        file and of its scan order (device, inode, size, modification and change times):
        loading one again while neither changed returns the same object, whose arrays
        and info are read-only, instead of reading it again (5-7 ms of CPU each
        time a search space or studio search opens)."""
        key = _file_key(path)
        with _LOADED_LOCK:
            if key in _LOADED:
                _LOADED.move_to_end(key)
                return _LOADED[key]
        reference = cls.read(path)
        if key is not None:
            with _LOADED_LOCK:
                _LOADED[key] = reference
                while len(_LOADED) > LOADED_MAX:
                    _LOADED.popitem(last=False)
        return reference

    @classmethod
    def read(cls, path: str | Path) -> "WellFormedness":
        """`load` without reuse: the reference read from its files now."""
        try:
            data = npyfile.load_npz(path, text=("meta",))
            meta = json.loads(str(data["meta"]))
            packed, heldout = data["train"], data["heldout"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise EvodrumError(f"{path}: not a well-formedness reference ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kit") != KIT_VERSION:
            found = meta.get("format") if isinstance(meta, dict) else None
            kit = meta.get("kit") if isinstance(meta, dict) else None
            raise EvodrumError(f"{path}: well-formedness reference is format {found} / kit "
                               f"{kit}, expected {FORMAT} / {KIT_VERSION}; rebuild it from the corpus")
        try:
            spec = GridSpec.from_dict(meta["spec"])
            shape = tuple(int(n) for n in meta["train_shape"])
            cells = int(np.prod(shape[1:]))
            if shape[1:] != spec.shape or len(heldout) == 0 or packed.dtype != np.uint8 \
                    or packed.shape != (shape[0], -(-cells // 8)):
                raise ValueError("arrays do not fit its grid resolution")
            info = dict(meta["info"])
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
            raise EvodrumError(f"{path}: damaged well-formedness reference ({e})") from None
        order = load_order(path, shape[0])
        return cls(OnsetIndex.from_words(packed_words(packed, cells), shape, order), heldout,
                   spec, info)


#: How many loaded references a process keeps (a user's model's and the shipped one,
#: with room for a comparison's replicates); the shipped one holds 2.6 MB (12 MB
#: with its onsets unpacked).
LOADED_MAX = 4
_LOADED: OrderedDict[tuple, WellFormedness] = OrderedDict()
_LOADED_LOCK = threading.Lock()


def _file_key(path: str | Path) -> tuple | None:
    """The identity of a reference file and of its scan order (None: not beside it), or
    None when the file cannot be looked at (then it is read, and refused, as it is)."""
    def identity(where: Path) -> tuple:
        st = where.stat()
        # ctime too: a rewrite in place that restores size and mtime (cp -p,
        # rsync --inplace) still moves it, and no user can set it
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

    try:
        order = order_path(path)
        return (str(Path(path).absolute()), identity(Path(path)),
                identity(order) if order.is_file() else None)
    except OSError:
        return None


def order_path(path: str | Path) -> Path:
    """The scan-order file beside a reference: wellformed.npz -> wellformed.order.npy."""
    path = Path(path)
    return path.with_name(path.stem + ".order.npy")


def load_order(path: str | Path, rows: int) -> np.ndarray | None:
    """The scan order saved beside the reference at `path`, or None without one;
    EvodrumError naming the file if it is not an order of `rows` training loops."""
    where = order_path(path)
    if not where.is_file():
        return None
    try:
        order = npyfile.load_npy(where)
        if order.ndim != 1 or order.dtype.kind not in "iu" or \
                not np.array_equal(np.sort(order), np.arange(rows)):
            raise ValueError(f"not an order of the reference's {rows} training loops")
    except (OSError, ValueError, EOFError) as e:
        raise EvodrumError(f"{where}: damaged scan order ({e}); delete it or rebuild the "
                           "reference") from None
    return order
