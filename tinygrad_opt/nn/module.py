"""`Module`: the base of every layer and model. It finds its parameters, names them,
zeroes their gradients, and saves and loads them.

Parameters are found, not registered: every attribute that is a `Value`, a `Module`, or a
list/tuple of those is walked, in the order the attributes were first assigned in
`__init__` (Python keeps that order). Attributes whose names start with `_` are skipped, so a
module can keep private Values (caches, constants) that are not parameters.

A name is the dotted path to the parameter: `layers.0.weight`, `layers.1.neurons.3.w.0`.
The same Value reached twice (tied weights) is one parameter: `named_parameters()` lists it once,
under its first name, and `state_dict()` saves it under every name, as PyTorch does.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value

_PICKLES_REFUSED = "pickled Python objects, which are refused: unpickling can run code"


class Module:
    """Base class: subclasses set their parameters as attributes and define `forward`."""

    training = True  # what train() / eval() switch: layers such as Dropout read it

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- parameters
    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """(dotted name, Value) pairs in attribute order, each Value once."""
        seen: set[int] = set()
        for name, value in _walk(self, ""):
            if id(value) not in seen:
                seen.add(id(value))
                yield name, value

    def parameters(self) -> list[Value]:
        """The parameters in the order of `named_parameters()`."""
        return [value for _, value in self.named_parameters()]

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero (gradients accumulate across backward calls)."""
        for p in self.parameters():
            p.zero_grad()

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first, each once."""
        seen: set[int] = set()
        stack: list[Any] = [self]
        while stack:
            value = stack.pop()
            if isinstance(value, Module) and id(value) not in seen:
                seen.add(id(value))
                yield value
                children = [child for name, child in vars(value).items() if not name.startswith("_")]
                stack.extend(reversed(children))
            elif isinstance(value, (list, tuple)):
                stack.extend(reversed(value))

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all inside it to training mode (or eval mode with False)."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode: dropout off, so the same input gives the same output."""
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert every parameter to the floating dtype `dtype` (np.float32 or np.float64); returns the
        module. Scalar parameters (micrograd's) stay Python floats. Do this before making the optimizer,
        whose state follows the parameters' dtype."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to needs a floating dtype such as np.float32, got {dtype}")
        for p in self.parameters():
            if type(p.data) is not float:
                p.data = p.data.astype(dtype)
                p.grad = np.zeros_like(p.data)
        return self

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, np.ndarray]:
        """`{name: copy of the parameter's data}`; a scalar parameter gives a 0-d array.

        A parameter reached under two names (tied weights) is saved under both, as PyTorch does,
        so checkpoints carry the same names in both libraries.
        """
        return {name: np.array(p.data) for name, p in _walk(self, "")}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy `state` into the parameters, all or nothing.

        Every key is checked first: a missing key, an unexpected key, a wrong shape or a
        non-numeric array raises `ValueError` (or `TypeError`) naming it, and then no
        parameter has been changed.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict needs a mapping of name -> array, got {type(state).__name__}")
        params = dict(_walk(self, ""))  # every name, tied weights under each of theirs
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        if missing or unexpected:
            raise ValueError(
                f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        new_data = {}
        for name, p in params.items():
            value = state[name]
            array = np.asarray(value.data if isinstance(value, Value) else value)
            if not _is_real(array.dtype):
                raise TypeError(f"state dict entry {name!r} must hold real numbers, got dtype {array.dtype}")
            if array.shape != p.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {array.shape}, the parameter has shape {p.shape}"
                )
            if isinstance(p.data, np.ndarray):
                if not p.data.flags.writeable:
                    raise ValueError(f"parameter {name!r} is read-only: its array cannot be loaded into")
                new_data[name] = array.astype(p.data.dtype)  # converted now, so nothing fails below
            else:
                new_data[name] = float(array)
        first_name: dict[int, str] = {}
        for name, p in params.items():  # a tied weight's names must agree on its numbers
            other = first_name.setdefault(id(p), name)
            if not np.array_equal(new_data[other], new_data[name]):
                raise ValueError(f"state dict entries {other!r} and {name!r} differ, but they are one tied "
                                 f"parameter")
        # Everything checked and converted: only now change the parameters.
        for name, p in params.items():
            if isinstance(p.data, np.ndarray):
                p.data[...] = new_data[name]  # in place: the same array, its dtype kept
            else:
                p.data = new_data[name]

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write the state dict to `path` as a NumPy `.npz` archive, atomically.

        The archive is written to a temporary file beside the checkpoint and then renamed
        over it (`os.replace`), so a crash leaves either the old file or the new one, never
        half a checkpoint. A temporary file left by a save that was killed is removed by the
        next save of the same checkpoint. The name is used as given (no `.npz` is appended).

        A symbolic link is saved through: its target gets the checkpoint and the link stays.
        `path` must be a regular file or a new name: a folder, FIFO, device or socket is
        refused with `ValueError`, and never opened.
        """
        given = os.fspath(path)
        path = os.path.realpath(given)  # through symbolic links, to the file they name
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, f"there is no folder {directory!r} to save into", given)
        if os.path.lexists(path) and not _is_regular_file(path):
            raise ValueError(
                f"cannot save to {given!r}: it is not a regular file (a folder, FIFO, device, socket or a "
                "loop of links); give a new name or a regular file to replace"
            )
        prefix = _temporary_prefix(path)
        _remove_stale_temporary_files(directory, prefix)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                # What np.savez writes: one .npy member per array in a zip archive.
                with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as archive:
                    for name, array in self.state_dict().items():
                        with archive.open(f"{name}.npy", "w") as member:
                            np.lib.format.write_array(member, array, allow_pickle=False)
                file.flush()
                os.fsync(file.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.remove(temporary)
            raise

    def load(self, path: str | os.PathLike) -> None:
        """Load parameters saved by `save`, all or nothing.

        Nothing is unpickled (`allow_pickle=False`), so a file from elsewhere cannot run code.
        The names, dtypes and shapes are checked from each member's `.npy` header before any
        numbers are read, so a file declaring a huge array is refused at once; then each array
        is read (no more bytes than the model's own parameter) and checked. A truncated,
        corrupted, pickle-bearing or mismatched file, or a path that is not a regular file
        (a FIFO is never opened), raises `ValueError` and leaves the model as it was.
        """
        path = os.fspath(path)
        shapes = {name: p.shape for name, p in _walk(self, "")}
        try:
            state = _read_checkpoint(path, shapes, type(self).__name__)
        except FileNotFoundError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise ValueError(f"cannot load checkpoint {path!r}: {error} (the model is unchanged)") from error
        self.load_state_dict(state)


def _is_real(dtype: np.dtype) -> bool:
    return np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)


def _read_checkpoint(path: str, shapes: Mapping[str, tuple[int, ...]], model: str) -> dict[str, np.ndarray]:
    """The arrays of the `.npz` archive at `path`, checked against `shapes`: headers first.

    Memory stays bounded by the model's own size: every member's name, dtype and shape are
    read from its `.npy` header (a few hundred bytes) and checked before its numbers are read.
    """
    if os.path.exists(path) and not _is_regular_file(path):  # a FIFO would block, a device never end
        raise ValueError("it is not a regular file (a folder, FIFO, device or socket)")
    with open(path, "rb") as file:
        start = file.read(8)
        file.seek(0)
        if not zipfile.is_zipfile(file):
            if start.startswith(b"\x93NUMPY"):
                raise ValueError("it holds a single array (.npy), not a .npz archive of named arrays")
            if start[:1] == b"\x80":
                raise ValueError(f"it holds {_PICKLES_REFUSED}")
            raise ValueError(f"it is not a .npz archive (it starts with {start!r})")
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            members = {member: member.removesuffix(".npy") for member in archive.namelist()}
            names = list(members.values())
            strays = [member for member in members if not member.endswith(".npy")]
            if strays:
                raise ValueError(f"it holds members that are not .npy arrays: {strays[:5]}")
            if len(members) != len(archive.namelist()):
                raise ValueError("it holds the same array name twice")
            missing = [name for name in shapes if name not in names]
            unexpected = [name for name in names if name not in shapes]
            if missing or unexpected:
                raise ValueError(
                    f"it does not match {model}: missing keys {missing}, unexpected keys {unexpected[:20]}"
                )
            for member, name in members.items():  # headers only: nothing big is read yet
                with archive.open(member) as stream:
                    _check_header(name, stream, shapes[name])
            state = {}
            for member, name in members.items():
                with archive.open(member) as stream:
                    state[name] = np.lib.format.read_array(stream, allow_pickle=False)
                    if stream.read(1):  # also reads to the end, where the zip checks the CRC
                        raise ValueError(f"member {member!r} has data after its array")
    return state


def _check_header(name: str, stream: Any, shape: tuple[int, ...]) -> None:
    """Read one `.npy` header from `stream` and check its dtype and shape; ValueError names them."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        header_shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        header_shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"array {name!r} has a .npy header version {version} that is not 1.0 or 2.0")
    if dtype.hasobject:
        raise ValueError(
            f"array {name!r} holds {_PICKLES_REFUSED}"
        )
    if not _is_real(dtype):
        raise ValueError(f"array {name!r} must hold real numbers, got dtype {dtype}")
    if tuple(header_shape) != shape:
        raise ValueError(f"array {name!r} has shape {tuple(header_shape)}, the parameter has shape {shape}")


def _is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # a loop of links, or a link into a folder we may not read
        return False


def _temporary_prefix(path: str) -> str:
    """Temporary files of a save of `path` are named `.NAME.PID-RANDOM.tmp` beside it."""
    return f".{os.path.basename(path)[:100]}."


def _remove_stale_temporary_files(directory: str, prefix: str) -> None:
    """Remove temporary files that earlier saves of this checkpoint left when killed.

    A temporary file carries the process id of its writer; it is removed only when that
    process has ended, so a save running at the same time in another process is left alone.
    """
    if os.name != "posix":  # os.kill(pid, 0) asks "is it alive?" only on POSIX systems
        return
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].partition("-")[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # its writer is still running
        except ProcessLookupError:
            pass
        except OSError:  # alive, but another user's process
            continue
        try:
            os.remove(os.path.join(directory, entry))
        except FileNotFoundError:  # another save removed it first
            pass


def _walk(value: Any, name: str) -> Iterator[tuple[str, Value]]:
    """Every (name, Value) under `value`, depth first, in attribute and list order."""
    if isinstance(value, Value):
        yield name, value
    elif isinstance(value, Module):
        for attribute, child in vars(value).items():
            if not attribute.startswith("_"):
                yield from _walk(child, f"{name}{attribute}" if not name else f"{name}.{attribute}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{name}.{i}")
