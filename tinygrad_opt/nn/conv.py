"""Convolution and pooling over images: arrays of shape (N, C, H, W), as PyTorch lays them out.

A convolution slides a small kernel over the image and takes a dot product at every place.
Written out with loops that is six nested loops; here it is one matrix product ("im2col"):

1. `windows` gathers every kh x kw patch of the (padded) image, without copying, into an
   array of shape (N, C, H_out, W_out, kh, kw) (NumPy's `sliding_window_view`);
2. each patch becomes one row of C*kh*kw numbers, each kernel one column: one `@` computes
   all the dot products at once, which BLAS does fast.

The backward pass undoes the same steps: the gradient of the patches is the output gradient
times the kernels, and every patch adds its gradient back to the pixels it was cut from.

Output size, per spatial axis: H_out = (H + 2 * padding - kh) // stride + 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinygrad_opt.engine import Value, as_value, check_count, operation
from tinygrad_opt.nn import init
from tinygrad_opt.nn.module import Module

Pair = int | tuple[int, int]


# ------------------------------------------------------------------ functions
def conv2d(x: Any, weight: Any, bias: Any = None, stride: Pair = 1, padding: Pair = 0) -> Value:
    """2-D cross-correlation (what deep learning calls convolution), as `F.conv2d`.

    x (N, C, H, W), weight (F, C, kh, kw), bias (F,) or None -> (N, F, H_out, W_out), F the number of filters.
    """
    x, weight = as_value(x), as_value(weight)
    (sh, sw), (ph, pw) = _pair("stride", stride, 1), _pair("padding", padding, 0)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d needs x (N, C, H, W) and weight (F, C, kh, kw) with the same C, "
                         f"got shapes {x.shape} and {weight.shape}")
    N, C, H, W = x.shape
    F, _, kh, kw = weight.shape
    if H + 2 * ph < kh or W + 2 * pw < kw:
        raise ValueError(f"conv2d kernel {kh}x{kw} is larger than the padded image {H + 2 * ph}x{W + 2 * pw}")
    padded = np.pad(x.data, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    windows = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    Ho, Wo = windows.shape[2:4]
    rows = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * kh * kw)  # one patch a row
    out = rows @ weight.data.reshape(F, C * kh * kw).T  # (N*Ho*Wo, F): every dot product at once
    out = out.reshape(N, Ho, Wo, F).transpose(0, 3, 1, 2)  # (N, F, Ho, Wo)
    inputs: tuple[Value, ...] = (x, weight)
    if bias is not None:
        bias = as_value(bias)
        if bias.shape != (F,):
            raise ValueError(f"conv2d bias must have shape ({F},), got {bias.shape}")
        out = out + bias.data.reshape(1, F, 1, 1)
        inputs = (x, weight, bias)
    saved = (rows, (sh, sw), (ph, pw))  # the patches, for dW
    return operation(np.ascontiguousarray(out), inputs, "conv2d", _conv2d_backward, saved)


def _conv2d_backward(out: Value, grad: Any) -> tuple[Any, ...]:
    x, weight = out.inputs[:2]
    rows, (sh, sw), (ph, pw) = out.saved
    N, C, H, W = x.shape
    F, _, kh, kw = weight.shape
    Ho, Wo = grad.shape[2:]
    grad_rows = grad.transpose(0, 2, 3, 1).reshape(N * Ho * Wo, F)  # the output's layout in `rows` order
    grad_weight = (grad_rows.T @ rows).reshape(weight.shape)  # dW = G^T rows
    patches = (grad_rows @ weight.data.reshape(F, -1)).reshape(N, Ho, Wo, C, kh, kw)  # d rows = G W
    padded = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=grad.dtype)
    for i in range(kh):  # each patch adds its gradient back to the pixels it was cut from
        for j in range(kw):
            pixels = (slice(None), slice(None), slice(i, i + sh * Ho, sh), slice(j, j + sw * Wo, sw))
            padded[pixels] += patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    grad_x = padded[:, :, ph:ph + H, pw:pw + W]
    if len(out.inputs) == 3:
        return grad_x, grad_weight, grad.sum(axis=(0, 2, 3))  # db: the sum over every place
    return grad_x, grad_weight


def max_pool2d(x: Any, kernel_size: Pair, stride: Pair | None = None) -> Value:
    """The largest value of each kernel_size window, as `F.max_pool2d` (stride defaults to
    kernel_size). Where a window's maximum appears more than once, the gradient goes to the first
    (in row-major order), as in PyTorch."""
    x, windows, (kh, kw) = _windows("max_pool2d", x, kernel_size, stride)
    flat = windows.reshape(*windows.shape[:4], kh * kw)
    winner = flat.argmax(axis=-1)  # (N, C, Ho, Wo): the first maximum of each window
    out = np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]
    saved = (winner, kw, _stride(stride, kernel_size))
    return operation(out, (x,), "max_pool2d", _max_pool2d_backward, saved)


def _max_pool2d_backward(out: Value, grad: Any) -> tuple[Any]:
    winner, kw, (sh, sw) = out.saved
    n, c, i, j = np.indices(grad.shape, sparse=True)
    rows, cols = i * sh + winner // kw, j * sw + winner % kw  # where each winner sits in x
    full = np.zeros(out.inputs[0].shape, dtype=grad.dtype)
    np.add.at(full, (n, c, rows, cols), grad)  # overlapping windows may share a winner
    return (full,)


def avg_pool2d(x: Any, kernel_size: Pair, stride: Pair | None = None) -> Value:
    """The mean of each kernel_size window, as `F.avg_pool2d` (stride defaults to kernel_size)."""
    x, windows, (kh, kw) = _windows("avg_pool2d", x, kernel_size, stride)
    out = windows.mean(axis=(-2, -1))
    return operation(out, (x,), "avg_pool2d", _avg_pool2d_backward, ((kh, kw), _stride(stride, kernel_size)))


def _avg_pool2d_backward(out: Value, grad: Any) -> tuple[Any]:
    (kh, kw), (sh, sw) = out.saved
    Ho, Wo = grad.shape[2:]
    full = np.zeros(out.inputs[0].shape, dtype=grad.dtype)
    share = grad / (kh * kw)  # each of the window's kh*kw pixels gets an equal share
    for i in range(kh):
        for j in range(kw):
            full[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw] += share
    return (full,)


# --------------------------------------------------------------------- layers
class Conv2d(Module):
    """`conv2d` with its own weight (out_channels, in_channels, kh, kw) and bias (out_channels,).

    Initialised as PyTorch's `nn.Conv2d`: weight and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    fan_in = in_channels * kh * kw (Kaiming-uniform with a = sqrt(5)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Pair, stride: Pair = 1,
                 padding: Pair = 0, bias: bool = True, seed: init.Seed = None) -> None:
        for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
            check_count(n, f"Conv2d {name}")
        kh, kw = _pair("kernel_size", kernel_size, 1)
        self.stride, self.padding = _pair("stride", stride, 1), _pair("padding", padding, 0)
        rng = init.rng_from(seed)
        shape = (out_channels, in_channels, kh, kw)
        self.weight = Value(init.kaiming_uniform(shape, a=math.sqrt(5), seed=rng), label="weight")
        bound = 1 / math.sqrt(in_channels * kh * kw)
        self.bias = Value(init.uniform(out_channels, -bound, bound, seed=rng), label="bias") if bias else None

    def forward(self, x: Any) -> Value:
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def __repr__(self) -> str:
        o, c, kh, kw = self.weight.shape
        return (f"Conv2d({c}, {o}, kernel_size=({kh}, {kw}), stride={self.stride}, padding={self.padding}, "
                f"bias={self.bias is not None})")


class MaxPool2d(Module):
    """`max_pool2d` as a layer."""

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: Any) -> Value:
        return max_pool2d(x, self.kernel_size, self.stride)

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={_stride(self.stride, self.kernel_size)})"


class AvgPool2d(Module):
    """`avg_pool2d` as a layer."""

    def __init__(self, kernel_size: Pair, stride: Pair | None = None) -> None:
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: Any) -> Value:
        return avg_pool2d(x, self.kernel_size, self.stride)

    def __repr__(self) -> str:
        return f"AvgPool2d(kernel_size={self.kernel_size}, stride={_stride(self.stride, self.kernel_size)})"


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): from a convolution's maps to a Linear layer's rows."""

    def forward(self, x: Any) -> Value:
        x = as_value(x)
        return x.reshape(x.shape[0], -1)

    def __repr__(self) -> str:
        return "Flatten()"


# ------------------------------------------------------------------- helpers
def _pair(name: str, value: Any, least: int) -> tuple[int, int]:
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    pair = (value, value) if is_int(value) else value
    is_pair = isinstance(pair, (tuple, list)) and len(pair) == 2
    if not (is_pair and all(is_int(v) and v >= least for v in pair)):
        raise ValueError(f"{name} must be an int >= {least} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _stride(stride: Pair | None, kernel_size: Pair) -> tuple[int, int]:
    return _pair("stride", kernel_size if stride is None else stride, 1)


def _windows(op: str, x: Any, kernel_size: Pair,
             stride: Pair | None) -> tuple[Value, np.ndarray, tuple[int, int]]:
    """x as a Value, its (N, C, Ho, Wo, kh, kw) windows (a view), and the kernel size."""
    x = as_value(x)
    kh, kw = _pair("kernel_size", kernel_size, 1)
    sh, sw = _stride(stride, kernel_size)
    if x.ndim != 4:
        raise ValueError(f"{op} needs x of shape (N, C, H, W), got {x.shape}")
    if x.shape[2] < kh or x.shape[3] < kw:
        raise ValueError(f"{op} kernel {kh}x{kw} is larger than the image {x.shape[2]}x{x.shape[3]}")
    return x, sliding_window_view(x.data, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw], (kh, kw)
