"""Tests for state dicts and save/load in tinygrad_opt/nn/module.py.

A load either changes every parameter or none: each refusal below checks that the model's
state is exactly what it was before.
"""

import gc
import io
import os
import pickle
import random
import signal
import stat
import subprocess
import sys
import threading
import tracemalloc
import warnings
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


# ------------------------------------------------------- special paths on save
def test_save_through_a_symbolic_link_writes_its_target(tmp_path, checkpoint):
    link = tmp_path / "latest.npz"
    link.symlink_to(checkpoint.name)
    newer = nn.MLP(2, [8, 3], seed=2)
    newer.save(link)
    assert link.is_symlink() and os.readlink(link) == checkpoint.name  # the link is kept
    loaded = nn.MLP(2, [8, 3], seed=0)
    loaded.load(checkpoint)
    _assert_state(loaded, newer.state_dict())
    dangling = tmp_path / "next.npz"
    dangling.symlink_to("saved-later.npz")  # a link to a file not made yet: saving makes it
    newer.save(dangling)
    assert dangling.is_symlink() and (tmp_path / "saved-later.npz").is_file()
    assert sorted(os.listdir(tmp_path)) == ["latest.npz", "model.npz", "next.npz", "saved-later.npz"]


def _save_in_a_thread(model, path):
    """Save in a thread, so that a save hanging on a FIFO fails the test instead of hanging it."""
    outcome = {}

    def run():
        try:
            model.save(path)
        except Exception as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), f"saving to {path} hangs"
    return outcome.get("error")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX feature")
def test_save_refuses_a_fifo_without_opening_it(tmp_path, model):
    fifo = tmp_path / "model.npz"
    os.mkfifo(fifo)
    error = _save_in_a_thread(model, fifo)
    assert isinstance(error, ValueError)
    assert f"cannot save to {str(fifo)!r}: it is not a regular file" in str(error)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the FIFO
    assert os.listdir(tmp_path) == ["model.npz"]


def test_save_refuses_a_device_and_a_folder(tmp_path, model, monkeypatch):
    replace = os.replace

    def replace_only_in_tmp_path(source, destination):  # so that no mistake can ever replace the device
        if os.path.dirname(os.path.realpath(destination)) != str(tmp_path.resolve()):
            raise AssertionError(f"save tried to replace {destination}")
        replace(source, destination)

    monkeypatch.setattr(os, "replace", replace_only_in_tmp_path)
    device_link = tmp_path / "into-the-device.npz"
    device_link.symlink_to(os.devnull)
    for path in (os.devnull, device_link, tmp_path):
        error = _save_in_a_thread(model, path)
        assert isinstance(error, ValueError) and f"cannot save to {str(path)!r}" in str(error)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert os.listdir(tmp_path) == ["into-the-device.npz"]


def _load_in_a_thread(model, path):
    """Load in a thread, so that a load hanging on a FIFO fails the test instead of hanging it."""
    outcome = {}

    def run():
        try:
            model.load(path)
        except Exception as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), f"loading {path} hangs"
    return outcome.get("error")


def test_load_refuses_a_fifo_a_device_and_a_folder(tmp_path, model):
    before = _snapshot(model)
    paths = [os.devnull, tmp_path]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.npz")
        paths.append(tmp_path / "fifo.npz")
    for path in paths:
        error = _load_in_a_thread(model, path)
        assert isinstance(error, ValueError)
        assert f"cannot load checkpoint {str(path)!r}: it is not a regular file" in str(error)
    _assert_state(model, before)


# ----------------------------------------------- a failed load changes nothing
def test_a_read_only_parameter_makes_the_whole_load_fail(model):
    before = _snapshot(model)
    changed = {name: value + 1.0 for name, value in before.items()}
    model.layers[2].bias.data.flags.writeable = False  # the last parameter: the others come first
    with pytest.raises(ValueError, match="parameter 'layers.2.bias' is read-only"):
        model.load_state_dict(changed)
    _assert_state(model, before)


def test_values_that_cannot_become_the_parameter_dtype_change_nothing():
    model = nn.MLP(2, [8, 3], seed=0)
    model.layers[2].bias.data = np.zeros(3, dtype=np.float16)  # a parameter stored in half precision
    before = _snapshot(model)
    changed = {name: value + 1.0 for name, value in before.items()}
    changed["layers.2.bias"] = np.array([1.0, 1e6, 2.0])  # beyond float16's largest number, 65504
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the overflow warns: as an error it must come before any write
        with pytest.raises(RuntimeWarning):
            model.load_state_dict(changed)
    _assert_state(model, before)


# ------------------------------------------- headers are checked before reading
def _npy_header(shape, dtype="<f8"):
    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def test_a_tiny_file_declaring_a_huge_array_is_refused_from_its_header(tmp_path, model):
    crafted = tmp_path / "huge.npz"
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, value in model.state_dict().items():
            if name == "layers.0.weight":
                archive.writestr(f"{name}.npy", _npy_header((10**12,)))  # 8 TB promised, none given
            else:
                with archive.open(f"{name}.npy", "w") as member:
                    np.lib.format.write_array(member, value)
    assert crafted.stat().st_size < 2000
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"'layers.0.weight' has shape \(1000000000000,\), the parameter "
                                         r"has shape \(8, 2\) \(the model is unchanged\)"):
        model.load(crafted)
    _assert_state(model, before)


def test_a_compressed_huge_member_is_refused_without_reading_it(tmp_path, model):
    megabytes = 64
    crafted = tmp_path / "bomb.npz"
    with zipfile.ZipFile(crafted, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in model.state_dict().items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, value)
        with archive.open("extra.npy", "w") as member:  # 64 MB of zeros, squeezed into a few KB
            member.write(_npy_header((megabytes * 2**20 // 8,)))
            zeros = bytes(2**20)
            for _ in range(megabytes):
                member.write(zeros)
    assert crafted.stat().st_size < megabytes * 2**20 // 200
    before = _snapshot(model)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"unexpected keys \['extra'\]"):
            model.load(crafted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # bytes: the 64 MB member was never read
    _assert_state(model, before)


@pytest.mark.parametrize("descr, message", [
    ("|O", "holds pickled Python objects"),
    ("<c16", "must hold real numbers, got dtype complex128"),
    ("|b1", "must hold real numbers, got dtype bool"),
])
def test_a_dtype_that_is_not_real_numbers_is_refused_from_the_header(tmp_path, model, descr, message):
    crafted = tmp_path / "dtype.npz"
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, value in model.state_dict().items():
            with archive.open(f"{name}.npy", "w") as member:
                if name == "layers.2.bias":
                    member.write(_npy_header((3,), descr) + bytes(48))
                else:
                    np.lib.format.write_array(member, value)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=f"'layers.2.bias' {message}"):
        model.load(crafted)
    _assert_state(model, before)


def test_extra_bytes_after_an_array_are_refused(tmp_path, model):
    crafted = tmp_path / "longer.npz"
    with zipfile.ZipFile(crafted, "w") as archive:
        for name, value in model.state_dict().items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, value)
                if name == "layers.0.bias":
                    member.write(b"more")
    before = _snapshot(model)
    with pytest.raises(ValueError, match="'layers.0.bias.npy' has data after its array"):
        model.load(crafted)
    _assert_state(model, before)


# ----------------------------------------------- files closed, temporaries gone
def test_refused_checkpoints_close_their_file(tmp_path, model, checkpoint):
    data = checkpoint.read_bytes()
    paths = []
    for cut in (0, 10, 100, len(data) // 2, len(data) - 30, len(data) - 10):
        paths.append(tmp_path / f"cut{cut}.npz")
        paths[-1].write_bytes(data[:cut])
    paths.append(tmp_path / "notes.npz")
    paths[-1].write_text("hello")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for path in paths:
            with pytest.raises(ValueError, match="cannot load checkpoint"):
                model.load(path)
        gc.collect()  # an unclosed file warns when it is collected
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


KILLED_SAVE = """
import os, signal, sys
import numpy as np
from tinygrad_opt import nn

write_array = np.lib.format.write_array
def write_then_die(*args, **kwargs):
    write_array(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of saving
np.lib.format.write_array = write_then_die
nn.MLP(2, [8, 3], seed=3).save(sys.argv[1])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_the_next_save_removes_what_a_killed_save_left(tmp_path, model, checkpoint):
    killed = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(checkpoint)], timeout=60)
    assert killed.returncode == -signal.SIGKILL
    left = sorted(set(os.listdir(tmp_path)) - {"model.npz"})
    assert len(left) == 1 and left[0].startswith(".model.npz.")  # named after the checkpoint it was for
    model.save(checkpoint)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_save_running_elsewhere_keeps_its_temporary_file(tmp_path, model, checkpoint):
    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        in_progress = tmp_path / f".model.npz.{writer.pid}-abcdefgh.tmp"  # as that process would name it
        in_progress.write_bytes(b"half a checkpoint")
        other = tmp_path / f".other.npz.{writer.pid + 10**7}-abcdefgh.tmp"  # another checkpoint's
        other.write_bytes(b"not ours")
        model.save(checkpoint)
        assert in_progress.exists() and other.exists()
    finally:
        writer.kill()
        writer.wait()
    model.save(checkpoint)  # its writer is gone now
    assert sorted(os.listdir(tmp_path)) == [other.name, "model.npz"]
