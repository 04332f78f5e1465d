"""Toy data sets to train on, drawn with a seeded NumPy generator (no scikit-learn needed).

Every generator returns `(X, y)`: `X` a float64 array of shape (n_samples, n_features) and `y`
an int64 array of class labels 0, 1, ... (for micrograd's hinge loss use `2 * y - 1`).
`seed` is an int (the same int gives the same data), a `numpy.random.Generator` or None (fresh
randomness). The generators are reproducible by default: their `seed` is `DEFAULT_SEED` (0), so
`make_moons(100, noise=0.1)` is the same data on every machine and every run; pass another seed
for another draw. (`batches` and `train_test_split` shuffle afresh unless given a seed.)
The shapes follow scikit-learn's functions of the same names; the random numbers do not.
`load_digits` is a real data set, shipped with the package; so is `load_shakespeare`, a text.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_opt.data.shakespeare import SHAKESPEARE_FILE as SHAKESPEARE_FILE  # re-exported
from tinygrad_opt.data.shakespeare import load_shakespeare as load_shakespeare
from tinygrad_opt.engine import Seed, check_count, rng_from

# The seed of every data generator unless told otherwise: the same data for everyone, every run.
DEFAULT_SEED = 0


def make_moons(
    n_samples: int = 100, *, noise: float = 0.0, shuffle: bool = True, seed: Seed = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 the upper arc, class 1 the lower one.

    The upper arc is (cos t, sin t) and the lower (1 - cos t, 0.5 - sin t) for t in [0, pi];
    `noise` is the standard deviation of Gaussian noise added to every coordinate.
    Not separable by a line: the classic first test of a small MLP (micrograd's demo).
    """
    check_count(n_samples, "n_samples", 2)
    _check_noise(noise)
    rng = rng_from(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    t_upper = np.linspace(0, math.pi, n_upper)
    t_lower = np.linspace(0, math.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower])
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    return _finish(X, y, noise, shuffle, rng)


def make_circles(
    n_samples: int = 100, *, noise: float = 0.0, factor: float = 0.8, shuffle: bool = True,
    seed: Seed = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (0 < factor < 1)."""
    check_count(n_samples, "n_samples", 2)
    _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles factor must be in (0, 1), got {factor!r}")
    rng = rng_from(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    t_outer = np.linspace(0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0, 2 * math.pi, n_inner, endpoint=False)
    outer = np.stack([np.cos(t_outer), np.sin(t_outer)], axis=1)
    inner = factor * np.stack([np.cos(t_inner), np.sin(t_inner)], axis=1)
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    return _finish(X, y, noise, shuffle, rng)


def make_spirals(
    n_samples: int = 300, *, n_classes: int = 3, noise: float = 0.2, shuffle: bool = True,
    seed: Seed = DEFAULT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """`n_classes` interleaved spiral arms around the origin (the CS231n spiral data set).

    Arm k has n_samples // n_classes points (the first arms one more when it does not divide)
    at radius r in [0, 1] and angle 4k + 4r + noise * N(0, 1), as (r sin angle, r cos angle).
    `noise` jitters the angle; each arm turns through 4 radians.
    """
    check_count(n_classes, "n_classes", 1)
    if isinstance(n_samples, int) and n_samples < 2 * n_classes:
        raise ValueError(
            f"make_spirals needs n_samples >= 2 per arm ({2 * n_classes} for {n_classes} arms), got "
            f"{n_samples}; the number of arms is the keyword n_classes, e.g. make_spirals(300, n_classes=3)"
        )
    check_count(n_samples, "n_samples", n_classes)
    _check_noise(noise)
    rng = rng_from(seed)
    points, labels = [], []
    for k in range(n_classes):
        n = n_samples // n_classes + (k < n_samples % n_classes)
        radius = np.linspace(0.0, 1.0, n)
        angle = 4.0 * k + 4.0 * radius + noise * rng.standard_normal(n)
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(n, k, np.int64))
    return _finish(np.concatenate(points), np.concatenate(labels), 0.0, shuffle, rng)


def make_blobs(
    n_samples: int = 100,
    *,
    centers: int | Sequence[Sequence[float]] | np.ndarray = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True,
    seed: Seed = DEFAULT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one class each: `centers` is a count (drawn uniformly in `center_box`)
    or an array of centres (n_centers, n_features). Samples are split as evenly as possible."""
    rng = rng_from(seed)
    if isinstance(centers, (int, np.integer)):
        check_count(centers, "centers", 1)
        check_count(n_features, "n_features", 1)
        low, high = center_box
        if not low < high:
            raise ValueError(f"make_blobs center_box must be (low, high) with low < high, got {center_box!r}")
        centers = rng.uniform(low, high, size=(int(centers), n_features))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) == 0:
            raise ValueError(f"make_blobs centers must be a count or an (n_centers, n_features) array, "
                             f"got shape {centers.shape}")
    if not cluster_std >= 0:
        raise ValueError(f"make_blobs cluster_std must be >= 0, got {cluster_std!r}")
    check_count(n_samples, "n_samples", len(centers))
    counts = [n_samples // len(centers) + (k < n_samples % len(centers)) for k in range(len(centers))]
    n_features = centers.shape[1]
    X = np.concatenate([
        center + cluster_std * rng.standard_normal((n, n_features))
        for center, n in zip(centers, counts, strict=True)
    ])
    y = np.concatenate([np.full(n, k, np.int64) for k, n in enumerate(counts)])
    return _finish(X, y, 0.0, shuffle, rng)


def batches(
    X: Any, y: Any, batch_size: int, shuffle: bool = True, seed: Seed = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One pass over the data in mini-batches of `batch_size` rows (the last may be smaller).

    With `shuffle` the rows are visited in a random order drawn from `seed`; every row is
    used exactly once per pass. Call it again for the next epoch (with a Generator as
    `seed`, each pass gets a new order).
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_rows(X, y, "batches")
    check_count(batch_size, "batch_size", 1)
    order = rng_from(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]


def text_windows(
    tokens: Any, block_size: int, batch_size: int, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """A language model's batch: `batch_size` random windows of `block_size` tokens, and the
    same windows one token later as the targets (position t is trained to predict token t + 1).

    Returns (x, y), int arrays of shape (batch_size, block_size); the window starts are drawn
    from `seed` (pass one Generator to draw batch after batch), as nanoGPT's `get_batch`.
    """
    tokens = np.asarray(tokens)
    check_count(block_size, "block_size", 1)
    check_count(batch_size, "batch_size", 1)
    if tokens.dtype.kind not in "iu":
        raise TypeError(f"text_windows needs integer token ids, got an array of {tokens.dtype}")
    if tokens.ndim != 1 or len(tokens) <= block_size:
        raise ValueError(f"text_windows needs a 1-D sequence longer than block_size {block_size}, "
                         f"got shape {tokens.shape}")
    starts = rng_from(seed).integers(0, len(tokens) - block_size, batch_size)
    x = np.stack([tokens[i:i + block_size] for i in starts])
    y = np.stack([tokens[i + 1:i + 1 + block_size] for i in starts])
    return x, y


def train_test_split(
    X: Any, y: Any, test_size: float | int = 0.25, shuffle: bool = True, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into `X_train, X_test, y_train, y_test` (scikit-learn's order).

    `test_size` is a fraction in (0, 1) (rounded up to whole rows, as scikit-learn does) or a
    number of rows. Both parts get at least one row.
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_rows(X, y, "train_test_split")
    n = len(X)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a number of rows, got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(
            f"test_size={test_size!r} leaves {n_test} of {n} rows for testing; both parts need rows"
        )
    order = rng_from(seed).permutation(n) if shuffle else np.arange(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


DIGITS_FILE = Path(__file__).resolve().parent / "digits.npz"


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: `X` float64 (1797, 64) with pixel values 0..16, `y` int64 (1797,).

    Each row of `X` is one image read row by row (`X[i].reshape(8, 8)` draws it); `y` is the
    digit 0..9. The same arrays as scikit-learn's `load_digits(return_X_y=True)`, read from
    the copy shipped in the package (tinygrad_opt/data/digits.npz): nothing is downloaded.

    Source: the test set (optdigits.tes) of "Optical Recognition of Handwritten Digits",
    E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository,
    https://doi.org/10.24432/C50P49, distributed by UCI under the Creative Commons
    Attribution 4.0 International licence (CC BY 4.0). See tinygrad_opt/data/README.md.
    """
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    return images.reshape(len(images), 64).astype(np.float64), labels.astype(np.int64)


# ----------------------------------------------------------- internal functions
def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, shuffle: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Add Gaussian noise to every coordinate, then shuffle the rows."""
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X, y


def _check_noise(noise: Any) -> None:
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")


def _check_rows(X: np.ndarray, y: np.ndarray, name: str) -> None:
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{name} needs arrays with one row per example, got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"{name}: X has {len(X)} rows but y has {len(y)}; they must match")
