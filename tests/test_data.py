"""Tests for tinygrad_opt/data.py: the toy data sets' geometry, seeding, batching and splitting."""

import numpy as np
import pytest

from tinygrad_opt.data import batches, make_blobs, make_circles, make_moons, make_spirals, train_test_split


def test_make_moons_points_lie_on_the_two_arcs():
    X, y = make_moons(101, seed=0)
    assert X.shape == (101, 2)
    assert X.dtype == np.float64
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 51]
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)  # (cos t, sin t)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)  # (1 - cos t, 0.5 - sin t)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_make_moons_noise_and_seeds():
    X0, _ = make_moons(200, seed=1)
    X, y = make_moons(200, noise=0.1, seed=1)
    assert np.array_equal(X, make_moons(200, noise=0.1, seed=1)[0])
    assert not np.array_equal(X, make_moons(200, noise=0.1, seed=2)[0])
    # The noise is N(0, 0.1^2) on each coordinate: its spread, measured against the clean points.
    clean, _ = make_moons(200, shuffle=False)
    noisy, labels = make_moons(200, noise=0.1, shuffle=False, seed=1)
    assert np.array_equal(labels, np.repeat([0, 1], 100))
    assert (noisy - clean).std() == pytest.approx(0.1, rel=0.1)
    assert not np.array_equal(X0, clean)  # shuffled by default


def test_make_circles_radii():
    X, y = make_circles(100, factor=0.5, seed=0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.5)
    with pytest.raises(ValueError, match="factor must be in"):
        make_circles(100, factor=1.0)


def test_make_spirals_classes_and_radius():
    X, y = make_spirals(301, n_classes=4, noise=0.0, seed=0)
    assert X.shape == (301, 2)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    assert np.hypot(*X.T).max() == pytest.approx(1.0)
    X, y = make_spirals(90, n_classes=3, noise=0.0, shuffle=False)
    # arm k at radius r has angle 4k + 4r, drawn as (r sin a, r cos a)
    radius = np.hypot(*X.T)
    expected_angle = 4.0 * y + 4.0 * radius
    on_the_arms = radius[:, None] * np.stack([np.sin(expected_angle), np.cos(expected_angle)], axis=1)
    np.testing.assert_allclose(X, on_the_arms, atol=1e-12)


def test_make_blobs_clusters_sit_at_their_centres():
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 5.0]])
    X, y = make_blobs(3000, centers=centers, cluster_std=0.5, seed=0)
    for k, center in enumerate(centers):
        np.testing.assert_allclose(X[y == k].mean(axis=0), center, atol=0.05)
        assert X[y == k].std(axis=0) == pytest.approx([0.5, 0.5], rel=0.1)
    X, y = make_blobs(10, centers=4, n_features=3, seed=0)
    assert X.shape == (10, 3)
    assert np.bincount(y).tolist() == [3, 3, 2, 2]
    assert np.array_equal(X, make_blobs(10, centers=4, n_features=3, seed=0)[0])


def test_generators_accept_a_numpy_generator():
    rng = np.random.default_rng(5)
    first = make_moons(20, noise=0.1, seed=rng)[0]
    second = make_moons(20, noise=0.1, seed=rng)[0]
    assert np.array_equal(first, make_moons(20, noise=0.1, seed=5)[0])
    assert not np.array_equal(first, second)


def test_batches_visit_every_row_once():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    parts = list(batches(X, y, 4, seed=0))
    assert [len(xb) for xb, _ in parts] == [4, 4, 2]
    rows = np.concatenate([yb for _, yb in parts])
    assert sorted(rows.tolist()) == list(range(10))
    assert rows.tolist() != list(range(10))  # shuffled
    for xb, yb in parts:
        np.testing.assert_array_equal(xb[:, 0], 2.0 * yb)  # rows stay paired with their labels
    in_order = [yb.tolist() for _, yb in batches(X, y, 5, shuffle=False)]
    assert in_order == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    again = np.concatenate([yb for _, yb in batches(X, y, 4, seed=0)])
    assert np.array_equal(rows, again)


def test_train_test_split():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    assert (len(X_train), len(X_test)) == (15, 5)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_test[:, 0], 2.0 * y_test)
    assert len(train_test_split(X, y, test_size=0.33)[1]) == 7  # ceil(6.6), as scikit-learn
    assert len(train_test_split(X, y, test_size=3)[1]) == 3


def test_bad_arguments_are_errors():
    with pytest.raises(ValueError, match="n_samples must be an int >= 2, got 1"):
        make_moons(1)
    with pytest.raises(ValueError, match="noise must be a number >= 0"):
        make_moons(10, noise=-0.1)
    with pytest.raises(ValueError, match="n_classes"):
        make_spirals(10, n_classes=0)
    with pytest.raises(ValueError, match="X has 3 rows but y has 2"):
        list(batches(np.zeros((3, 2)), np.zeros(2), 2))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        list(batches(np.zeros((3, 2)), np.zeros(3), 0))
    with pytest.raises(ValueError, match="test_size must be"):
        train_test_split(np.zeros((4, 2)), np.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="both parts need rows"):
        train_test_split(np.zeros((4, 2)), np.zeros(4), test_size=4)
    with pytest.raises(TypeError, match="seed must be"):
        make_blobs(10, seed=1.5)


def test_make_spirals_refuses_a_class_count_in_the_sample_count_place():
    with pytest.raises(ValueError, match=r"n_samples >= 2 per arm \(6 for 3 arms\), got 3"):
        make_spirals(3)  # the arms are the keyword n_classes
    X, _ = make_spirals(6, n_classes=3)
    assert X.shape == (6, 2)


def test_text_windows_are_windows_and_their_next_tokens():
    from tinygrad_opt.data import text_windows

    tokens = np.arange(100) * 3
    x, y = text_windows(tokens, 8, 5, seed=0)
    assert x.shape == y.shape == (5, 8)
    starts = x[:, 0] // 3
    for row, start in zip(x, starts, strict=True):
        np.testing.assert_array_equal(row, tokens[start:start + 8])  # a window of the sequence
    np.testing.assert_array_equal(y, x + 3)  # the targets: each token's successor
    np.testing.assert_array_equal(text_windows(tokens, 8, 5, seed=0)[0], x)  # the same seed, the same batch
    with pytest.raises(ValueError, match="longer than block_size 100"):
        text_windows(tokens, 100, 2)
    with pytest.raises(TypeError, match="integer token ids, got an array of float64"):
        text_windows(tokens * 0.5, 8, 2)
