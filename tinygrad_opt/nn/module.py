"""`Module`: the base of every layer and model. It finds its parameters, names them,
zeroes their gradients, and saves and loads them.

Parameters are found, not registered: every attribute that is a `Value`, a `Module`, or a
list/tuple of those is walked, in the order the attributes were first assigned in
`__init__` (Python keeps that order). Attributes whose names start with `_` are skipped, so a
module can keep private Values (caches, constants) that are not parameters.

A name is the dotted path to the parameter: `layers.0.weight`, `layers.1.neurons.3.w.0`.
The same Value reached twice (tied weights) is listed once, under its first name.
"""

from __future__ import annotations

import errno
import os
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value


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
        """`{name: copy of the parameter's data}`; a scalar parameter gives a 0-d array."""
        return {name: np.array(p.data) for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Copy `state` into the parameters, all or nothing.

        Every key is checked first: a missing key, an unexpected key, a wrong shape or a
        non-numeric array raises `ValueError` (or `TypeError`) naming it, and then no
        parameter has been changed.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict needs a mapping of name -> array, got {type(state).__name__}")
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state]
        unexpected = [name for name in state if name not in params]
        if missing or unexpected:
            raise ValueError(
                f"state dict does not match {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        arrays = {}
        for name, p in params.items():
            value = state[name]
            array = np.asarray(value.data if isinstance(value, Value) else value)
            if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
                raise TypeError(f"state dict entry {name!r} must hold real numbers, got dtype {array.dtype}")
            if array.shape != p.shape:
                raise ValueError(
                    f"state dict entry {name!r} has shape {array.shape}, the parameter has shape {p.shape}"
                )
            arrays[name] = array
        # Everything checked: only now change the parameters.
        for name, p in params.items():
            if type(p.data) is float:
                p.data = float(arrays[name])
            else:
                p.data[...] = arrays[name]  # in place: the same array, its dtype kept

    # ------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write the state dict to `path` as a NumPy `.npz` archive, atomically.

        The archive is written to a temporary file in the same directory and then renamed
        over `path` (`os.replace`), so a crash leaves either the old file or the new one,
        never half a checkpoint. The name is used as given (no `.npz` is appended).
        """
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise FileNotFoundError(errno.ENOENT, f"there is no folder {directory!r} to save into", path)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
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

        The file is read with `allow_pickle=False`, so a file from elsewhere cannot run code.
        Every array is read and checked before any parameter changes: a truncated, corrupted
        or pickle-bearing file raises `ValueError` and leaves the model as it was.
        """
        path = os.fspath(path)
        try:
            archive = np.load(path, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("it holds a single array (.npy), not a .npz archive of named arrays")
            with archive:
                state = {name: archive[name] for name in archive.files}
        except FileNotFoundError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            reason = str(error)
            if isinstance(error, ValueError) and "pickle" in reason:  # NumPy's word for "not .npy/.npz"
                with open(path, "rb") as file:
                    start = file.read(8)
                if "Object arrays" in reason or start[:1] == b"\x80":  # object members, or a bare pickle
                    reason = "it holds pickled Python objects, which are refused: unpickling can run code"
                else:
                    reason = f"it is not a .npz archive (it starts with {start!r})"
            raise ValueError(f"cannot load checkpoint {path!r}: {reason} (the model is unchanged)") from error
        self.load_state_dict(state)


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
