"""Tests for state dicts and save/load in tinygrad_opt/nn/module.py.

A load either changes every parameter or none: each refusal below checks that the model's
state is exactly what it was before.
"""

import os
import pickle
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import nn
from tinygrad_opt.nn import scalar


def _snapshot(model):
    return {name: value.copy() for name, value in model.state_dict().items()}


def _assert_state(model, expected):
    state = model.state_dict()
    assert state.keys() == expected.keys()
    for name in expected:
        np.testing.assert_array_equal(state[name], expected[name])


@pytest.fixture
def model():
    return nn.MLP(2, [8, 3], seed=0)


@pytest.fixture
def checkpoint(tmp_path, model):
    path = tmp_path / "model.npz"
    model.save(path)
    return path


# ------------------------------------------------------------------ state dicts
def test_state_dict_names_shapes_and_copies(model):
    state = model.state_dict()
    assert list(state) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert state["layers.0.weight"].shape == (8, 2)
    state["layers.0.weight"][...] = 0.0  # a copy: changing it leaves the model alone
    assert np.any(model.layers[0].weight.data != 0)


def test_load_state_dict_round_trip(model):
    other = nn.MLP(2, [8, 3], seed=1)
    x = np.random.default_rng(0).standard_normal((4, 2))
    assert not np.allclose(other(x).data, model(x).data)
    weight_array = other.layers[0].weight.data
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(other(x).data, model(x).data)
    assert other.layers[0].weight.data is weight_array  # loaded in place: the same array


def test_scalar_mlp_state_dict_round_trip():
    random.seed(0)
    source = scalar.MLP(2, [3, 1])
    random.seed(1)
    target = scalar.MLP(2, [3, 1])
    state = source.state_dict()
    assert state["layers.0.neurons.0.w.0"].shape == ()
    target.load_state_dict(state)
    assert [p.data for p in target.parameters()] == [p.data for p in source.parameters()]
    assert all(type(p.data) is float for p in target.parameters())  # scalars stay Python floats


def test_load_state_dict_missing_unexpected_and_shape_errors_change_nothing(model):
    before = _snapshot(model)
    changed = {name: value + 1.0 for name, value in before.items()}

    missing = dict(changed)
    del missing["layers.2.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['layers.2.bias'\]"):
        model.load_state_dict(missing)

    unexpected = dict(changed, extra=np.zeros(2))
    with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
        model.load_state_dict(unexpected)

    wrong_shape = dict(changed)
    wrong_shape["layers.2.bias"] = np.zeros(4)  # the last entry: earlier ones must not be written
    with pytest.raises(ValueError, match=r"'layers.2.bias' has shape \(4,\), the parameter has shape \(3,\)"):
        model.load_state_dict(wrong_shape)

    not_numbers = dict(changed)
    not_numbers["layers.2.bias"] = np.array(["a", "b", "c"])
    with pytest.raises(TypeError, match="real numbers"):
        model.load_state_dict(not_numbers)
    _assert_state(model, before)


# ------------------------------------------------------------------- save/load
def test_save_load_round_trip(tmp_path, model, checkpoint):
    other = nn.MLP(2, [8, 3], seed=1)
    other.load(checkpoint)
    _assert_state(other, model.state_dict())
    assert zipfile.is_zipfile(checkpoint)
    with np.load(checkpoint, allow_pickle=False) as archive:  # a plain .npz any NumPy can read
        assert sorted(archive.files) == sorted(model.state_dict())
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file left behind


def test_save_replaces_an_existing_checkpoint(tmp_path, checkpoint):
    newer = nn.MLP(2, [8, 3], seed=2)
    newer.save(checkpoint)
    loaded = nn.MLP(2, [8, 3], seed=0)
    loaded.load(str(checkpoint))
    _assert_state(loaded, newer.state_dict())


def test_a_crash_while_saving_keeps_the_old_checkpoint(tmp_path, checkpoint, monkeypatch):
    old_bytes = checkpoint.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError, match="disk full"):
        nn.MLP(2, [8, 3], seed=3).save(checkpoint)
    assert checkpoint.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["model.npz"]


def test_truncated_file_is_refused_and_changes_nothing(tmp_path, model, checkpoint):
    data = checkpoint.read_bytes()
    before = _snapshot(model)
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        truncated = tmp_path / f"cut{cut}.npz"
        truncated.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="cannot load checkpoint"):
            model.load(truncated)
    _assert_state(model, before)


def test_corrupted_file_is_refused_and_changes_nothing(tmp_path, model, checkpoint):
    data = bytearray(checkpoint.read_bytes())
    offset = data.index(model.layers[2].weight.data.tobytes())  # the stored numbers of one member
    data[offset + 5] ^= 0xFF  # flip the bits of one byte: the member's CRC no longer matches
    corrupted = tmp_path / "corrupted.npz"
    corrupted.write_bytes(bytes(data))
    before = _snapshot(model)
    with pytest.raises(ValueError, match="cannot load checkpoint .*(CRC|corrupt)"):
        model.load(corrupted)
    _assert_state(model, before)


class _Touch:
    """Unpickling this object would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_bearing_files_are_refused_without_running_code(tmp_path, model):
    before = _snapshot(model)
    marker = tmp_path / "code-ran"
    state = {name: value for name, value in before.items()}
    state["layers.0.bias"] = np.array([_Touch(marker)], dtype=object)
    with_object_array = tmp_path / "object.npz"
    np.savez(with_object_array, **state)  # NumPy pickles object arrays into the archive
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps(_Touch(marker)))
    for path in (with_object_array, pickled):
        with pytest.raises(ValueError, match="cannot load checkpoint .*pickled Python objects"):
            model.load(path)
    assert not marker.exists()
    _assert_state(model, before)


def test_other_bad_files(tmp_path, model):
    before = _snapshot(model)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match=r"single array \(\.npy\)"):
        model.load(single)
    other_architecture = tmp_path / "other.npz"
    nn.MLP(2, [4, 3], seed=0).save(other_architecture)
    message = r"'layers.0.weight' has shape \(4, 2\), the parameter has shape \(8, 2\)"
    with pytest.raises(ValueError, match=message):
        model.load(other_architecture)
    with pytest.raises(FileNotFoundError):
        model.load(tmp_path / "missing.npz")
    _assert_state(model, before)


def test_a_file_that_is_no_archive_says_so(tmp_path, model):
    before = _snapshot(model)
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    message = r"not a \.npz archive \(it starts with b'hello'\) \(the model is unchanged\)"
    with pytest.raises(ValueError, match=message):
        model.load(text)
    _assert_state(model, before)


def test_saving_into_a_missing_folder_names_the_path(tmp_path, model):
    path = tmp_path / "no such folder" / "model.npz"
    with pytest.raises(FileNotFoundError, match="no folder .* to save into") as error:
        model.save(path)
    assert error.value.filename == str(path)
    assert not (tmp_path / "no such folder").exists()
