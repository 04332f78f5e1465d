"""The layers a transformer adds to the MLP's: token embeddings, layer normalisation and dropout.

Layouts, defaults and initialisation follow PyTorch's `nn.Embedding`, `nn.LayerNorm` and
`nn.Dropout`, so weights move between the two unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value, check_count, operation
from tinygrad_opt.nn import init
from tinygrad_opt.nn.module import Module


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) is the vector of id i.

    `embedding(ids)` takes an int array of any shape and returns Values of shape
    ids.shape + (embedding_dim,). Its gradient adds each output row back into the row it
    came from, so an id used twice gets both gradients. Initialised N(0, 1), as PyTorch.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, seed: init.Seed = None) -> None:
        check_count(num_embeddings, "Embedding num_embeddings")
        check_count(embedding_dim, "Embedding embedding_dim")
        self.weight = Value(init.normal((num_embeddings, embedding_dim), seed=seed), label="weight")

    def forward(self, ids: Any) -> Value:
        ids = np.asarray(ids.data if isinstance(ids, Value) else ids)
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{self!r} needs integer ids, got an array of {ids.dtype}")
        n = self.weight.shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= n):
            bad = ids[(ids < 0) | (ids >= n)].flat[0]
            raise IndexError(f"{self!r} got id {int(bad)}, expected ids in 0 .. {n - 1}")
        return self.weight[ids]

    def __repr__(self) -> str:
        return f"Embedding({self.weight.shape[0]}, {self.weight.shape[1]})"


def layer_norm(x: Any, normalized_shape: int | Sequence[int], weight: Value | None = None,
               bias: Value | None = None, eps: float = 1e-5) -> Value:
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape) axes.

    The variance is the biased one (divided by n, not n - 1), as in PyTorch's `F.layer_norm`.
    One op with its backward rule written out (below), rather than the nine ops of the
    formula: a transformer normalises twice a block, and each of those ops would make its
    own temporaries forward and backward.
    """
    shape = _as_shape(normalized_shape)
    x = x if isinstance(x, Value) else Value(x)
    if x.shape[x.ndim - len(shape):] != shape:
        raise ValueError(f"layer_norm over the last axes of shape {shape} got x of shape {x.shape}")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x.data - x.data.mean(axis=axes, keepdims=True)
    inv_std = 1 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    x_hat = centred * inv_std  # mean 0, variance 1 over `axes`
    out = x_hat
    if weight is not None:
        out = out * weight.data
    if bias is not None:
        out = out + bias.data
    inputs = [v for v in (x, weight, bias) if v is not None]
    return operation(out, inputs, "layer_norm", _layer_norm_backward,
                     saved=(x_hat, inv_std, axes, weight is not None, bias is not None))


def _layer_norm_backward(out: Value, grad: Any) -> list[Any]:
    """With y = x_hat w + b and x_hat = (x - mean) / std over n elements:
    dL/db = g, dL/dw = g x_hat (both summed over the other axes by the engine), and, with
    d = g w, dL/dx = (d - mean(d) - x_hat mean(d x_hat)) / std: the two means remove the
    parts of d that the normalisation cancels (a shift of x, a scaling of x)."""
    x_hat, inv_std, axes, has_weight, has_bias = out.saved
    d = grad * out.inputs[1].data if has_weight else grad
    grad_x = inv_std * (d - d.mean(axis=axes, keepdims=True)
                        - x_hat * (d * x_hat).mean(axis=axes, keepdims=True))
    grads = [grad_x]
    if has_weight:
        grads.append(grad * x_hat)
    if has_bias:
        grads.append(grad)
    return grads


def scaled_dot_product_attention(q: Value, k: Value, v: Value, is_causal: bool = False) -> Value:
    """softmax(q k^T / sqrt(d) + mask) v: queries, keys and values of shape (..., T, d) give
    (..., T, d), each query position a weighted average of the values.

    With `is_causal`, position t attends to positions 0 .. t only (the mask is -inf above
    the diagonal), as PyTorch's `F.scaled_dot_product_attention(q, k, v, is_causal=True)`.
    One op with its backward rule written out (below): the scaling, the mask and the softmax
    make no graph nodes and no temporaries of their own.
    """
    if not all(isinstance(t, Value) for t in (q, k, v)):
        raise TypeError("scaled_dot_product_attention takes Values q, k, v")
    if q.ndim < 2 or q.shape != k.shape or k.shape != v.shape:
        raise ValueError(f"scaled_dot_product_attention needs q, k, v of one shape (..., T, d), "
                         f"got {q.shape}, {k.shape}, {v.shape}")
    scale = 1 / math.sqrt(q.shape[-1])
    scores = (q.data @ np.swapaxes(k.data, -1, -2)) * scale  # (..., T, T)
    if is_causal:  # no peeking ahead: -inf above the diagonal, in place (np.where took 2.5 times as long)
        np.copyto(scores, -np.inf, where=np.triu(np.ones(scores.shape[-2:], bool), k=1))
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)  # each row sums to 1
    return operation(weights @ v.data, (q, k, v), "attention", _attention_backward, saved=(weights, scale))


def _attention_backward(out: Value, grad: Any) -> tuple[Any, Any, Any]:
    """With S = q k^T scale, W = softmax(S), y = W v: dv = W^T g, dW = g v^T, dS = W (dW -
    sum(dW W)) (softmax's rule, zero where the mask put W = 0), dq = dS k scale, dk = dS^T q scale."""
    q, k, v = out.inputs
    weights, scale = out.saved
    grad_weights = grad @ np.swapaxes(v.data, -1, -2)
    grad_scores = weights * (grad_weights - np.sum(grad_weights * weights, axis=-1, keepdims=True))
    grad_q = (grad_scores @ k.data) * scale
    grad_k = (np.swapaxes(grad_scores, -1, -2) @ q.data) * scale
    grad_v = np.swapaxes(weights, -1, -2) @ grad
    return grad_q, grad_k, grad_v


class LayerNorm(Module):
    """Normalise each sample over its last axes to mean 0 and variance 1, then scale and shift.

    `weight` starts at ones and `bias` at zeros (both of `normalized_shape`), as PyTorch;
    `elementwise_affine=False` leaves both out, `bias=False` only the shift.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:
        shape = _as_shape(normalized_shape)
        for n in shape:
            check_count(n, "LayerNorm normalized_shape")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"LayerNorm eps must be a number > 0, got {eps!r}")
        self.normalized_shape = shape
        self.eps = float(eps)
        self.weight = Value(np.ones(shape), label="weight") if elementwise_affine else None
        self.bias = Value(np.zeros(shape), label="bias") if elementwise_affine and bias else None

    def forward(self, x: Any) -> Value:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


class Dropout(Module):
    """While training, zero each element with probability p and scale the rest by 1 / (1 - p).

    The scaling keeps the expected value unchanged, so in eval mode (`model.eval()`) dropout
    does nothing at all. Each call draws a new mask from the module's own generator.
    """

    def __init__(self, p: float = 0.5, seed: init.Seed = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"Dropout p must be a probability in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = init.rng_from(seed)

    def forward(self, x: Any) -> Value:
        x = x if isinstance(x, Value) else Value(x)
        if not self.training or self.p == 0:
            return x
        keep = self._rng.random(x.shape) >= self.p
        return x * (keep / (1 - self.p)).astype(x.dtype)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def _as_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(shape)
