"""A GPT language model: nanoGPT's architecture, parameter names and initialisation.

    ids (B, T) -> token + position embeddings -> n_layer Blocks -> LayerNorm -> logits (B, T, V)

Each Block is pre-LayerNorm: x + attention(ln_1(x)), then x + mlp(ln_2(x)). Attention is
causal: position t sees positions 0 .. t only. The output layer `lm_head` shares its weight
with the token embedding (weight tying), as GPT-2 and nanoGPT do.

Shapes in the comments: B batch, T time (positions), C channels (n_embd), nh heads,
hs = C / nh the size of one head, V the vocabulary.

Parameter names are nanoGPT's (`transformer.wte.weight`, `transformer.h.0.attn.c_attn.weight`,
...) and layouts PyTorch's (a Linear's weight is (out, in)), so a nanoGPT checkpoint loads with
`model.load_state_dict({k: v.numpy() for k, v in torch_state.items()})`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_opt.engine import Value, check_count, no_grad, where
from tinygrad_opt.nn import init
from tinygrad_opt.nn.layers import Linear, gelu
from tinygrad_opt.nn.module import Module
from tinygrad_opt.nn.transformer import Dropout, Embedding, LayerNorm, scaled_dot_product_attention


class CausalSelfAttention(Module):
    """Multi-head self-attention where each position attends to itself and the positions before it."""

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0, bias: bool = True,
                 seed: init.Seed = None) -> None:
        if n_embd % n_head:
            raise ValueError(f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
        rng = init.rng_from(seed)
        self.c_attn = Linear(n_embd, 3 * n_embd, bias=bias, seed=rng)  # query, key, value at once
        self.c_proj = Linear(n_embd, n_embd, bias=bias, seed=rng)  # the heads' outputs, mixed
        self.attn_dropout = Dropout(dropout, seed=rng)
        self.resid_dropout = Dropout(dropout, seed=rng)
        self.n_head = n_head
        # True above the diagonal: the later positions, whose scores become -inf, weight exp(-inf) = 0
        self._future = np.triu(np.ones((block_size, block_size), dtype=bool), k=1)

    def forward(self, x: Value) -> Value:
        B, T, C = x.shape
        q, k, v = self.heads(x)
        if self.training and self.attn_dropout.p > 0:  # dropout on the weights: build them op by op
            y = self.attn_dropout(self.weights(q, k)) @ v  # (B, nh, T, hs): weighted averages of v
        else:  # the same in one op, with its own backward rule (as nanoGPT's flash attention)
            y = scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(0, 2, 1, 3).reshape(B, T, C)  # the heads side by side again
        return self.resid_dropout(self.c_proj(y))

    def heads(self, x: Value) -> tuple[Value, Value, Value]:
        """Queries, keys and values (B, T, C) -> three (B, nh, T, hs): one slice of C per head."""
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        qkv = self.c_attn(x)  # (B, T, 3C)
        # split into q, k, v and move the head axis forward: (B, T, C) -> (B, nh, T, hs)
        q, k, v = (qkv[:, :, i * C:(i + 1) * C].reshape(B, T, nh, hs).transpose(0, 2, 1, 3) for i in range(3))
        return q, k, v

    def weights(self, q: Value, k: Value) -> Value:
        """The attention weights (B, nh, T, T): softmax(q k^T / sqrt(hs)) under the causal mask.

        Row t of a head's weights says how much position t takes from each position 0 .. t;
        it sums to 1, and every weight above the diagonal is 0.
        """
        T, hs = q.shape[-2:]
        scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(hs))  # (B, nh, T, T)
        # causal: no peeking at later positions. Written, not added: -inf added to a score that
        # overflowed to inf would be nan, and the whole row with it.
        scores = where(self._future[:T, :T], -math.inf, scores)
        return scores.softmax(axis=-1)  # each row sums to 1

    def attend(self, x: Value) -> tuple[Value, Value]:
        """The attention weights (B, nh, T, T) and the values (B, nh, T, hs) they average."""
        q, k, v = self.heads(x)
        return self.weights(q, k), v


class MLP(Module):
    """The feed-forward part of a Block: widen to 4C, GELU, back to C."""

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True, seed: init.Seed = None) -> None:
        rng = init.rng_from(seed)
        self.c_fc = Linear(n_embd, 4 * n_embd, bias=bias, seed=rng)
        self.c_proj = Linear(4 * n_embd, n_embd, bias=bias, seed=rng)
        self.dropout = Dropout(dropout, seed=rng)

    def forward(self, x: Value) -> Value:
        return self.dropout(self.c_proj(gelu(self.c_fc(x))))  # (B, T, C) -> (B, T, 4C) -> (B, T, C)


class Block(Module):
    """One transformer block: communicate (attention), then compute (MLP), each on a residual path."""

    def __init__(self, n_embd: int, n_head: int, block_size: int, dropout: float = 0.0, bias: bool = True,
                 seed: init.Seed = None) -> None:
        rng = init.rng_from(seed)
        self.ln_1 = LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size, dropout, bias, seed=rng)
        self.ln_2 = LayerNorm(n_embd, bias=bias)
        self.mlp = MLP(n_embd, dropout, bias, seed=rng)

    def forward(self, x: Value) -> Value:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(Module):
    """GPT's body (nanoGPT's `transformer`): embeddings, the blocks, the final LayerNorm."""

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int,
                 dropout: float, bias: bool, seed: init.Seed) -> None:
        rng = init.rng_from(seed)
        self.wte = Embedding(vocab_size, n_embd, seed=rng)  # token embeddings
        self.wpe = Embedding(block_size, n_embd, seed=rng)  # position embeddings
        self.drop = Dropout(dropout, seed=rng)
        self.h = [Block(n_embd, n_head, block_size, dropout, bias, seed=rng) for _ in range(n_layer)]
        self.ln_f = LayerNorm(n_embd, bias=bias)

    def forward(self, ids: np.ndarray) -> Value:
        x = self.embed(ids)
        for block in self.h:
            x = block(x)
        return self.ln_f(x)

    def embed(self, ids: np.ndarray) -> Value:
        """What the first block reads: each token's embedding plus its position's, (B, T, C)."""
        T = ids.shape[1]
        return self.drop(self.wte(ids) + self.wpe(np.arange(T)))  # (B, T, C) + (T, C)


class GPT(Module):
    """nanoGPT's model: `GPT(vocab_size, block_size, n_layer, n_head, n_embd)`.

    `model(ids)` maps an int array (B, T), T <= block_size, to logits (B, T, vocab_size).
    Initialisation as nanoGPT: every Linear and Embedding weight from N(0, 0.02), biases zero,
    and the residual projections (`c_proj`) from N(0, 0.02 / sqrt(2 n_layer)) so the residual
    stream does not grow with depth.
    """

    def __init__(self, vocab_size: int, block_size: int, n_layer: int, n_head: int, n_embd: int,
                 dropout: float = 0.0, bias: bool = True, seed: init.Seed = None) -> None:
        for name, n in (("vocab_size", vocab_size), ("block_size", block_size), ("n_layer", n_layer),
                        ("n_head", n_head), ("n_embd", n_embd)):
            check_count(n, f"GPT {name}")
        rng = init.rng_from(seed)
        self.transformer = Transformer(vocab_size, block_size, n_layer, n_head, n_embd, dropout, bias, rng)
        self.lm_head = Linear(n_embd, vocab_size, bias=False, seed=rng)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying: one matrix, two uses
        self.block_size = block_size
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                p.data[...] = 0.0
            elif name.endswith("c_proj.weight"):
                p.data[...] = init.normal(p.shape, std=0.02 / math.sqrt(2 * n_layer), seed=rng)
            elif p.ndim == 2:  # every other Linear and Embedding weight
                p.data[...] = init.normal(p.shape, std=0.02, seed=rng)

    def forward(self, ids: Any) -> Value:
        return self.lm_head(self.transformer(self._check_ids(ids)))  # (B, T, V)

    def attention_weights(self, ids: Any) -> np.ndarray:
        """What every head looks at: for ids (B, T), an array (n_layer, B, n_head, T, T).

        `[layer, b, head, t]` holds the weights position t gives to positions 0 .. t of row b
        (they sum to 1; above the diagonal they are 0). Runs in eval mode without recording a
        graph, as `generate`; the model's mode is restored afterwards.
        """
        ids = self._check_ids(ids)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                x = self.transformer.embed(ids)
                patterns = []
                for block in self.transformer.h:
                    weights, _ = block.attn.attend(block.ln_1(x))  # what block(x) computes inside
                    patterns.append(weights.data)
                    x = block(x)
        finally:
            self.train(was_training)
        return np.stack(patterns)

    def _check_ids(self, ids: Any) -> np.ndarray:
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.dtype.kind not in "iu":
            raise ValueError(f"GPT needs an int array of shape (B, T), got {ids.dtype} of shape {ids.shape}")
        if ids.shape[1] > self.block_size:
            raise ValueError(f"GPT got {ids.shape[1]} positions, more than its block_size {self.block_size}")
        return ids

    def generate(self, ids: Any, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 seed: init.Seed = None) -> np.ndarray:
        """Extend each row of `ids` (B, T) by `max_new_tokens` sampled tokens; returns (B, T + new).

        Each new token is drawn from softmax(logits / temperature) at the last position, seeing at
        most the last `block_size` tokens; `top_k` keeps only the k likeliest (`top_k=1` is greedy).
        Runs in eval mode without recording a graph; the model's mode is restored afterwards.
        """
        ids = np.array(ids, dtype=np.int64)
        if ids.ndim != 2:
            raise ValueError(f"generate needs ids of shape (B, T), got shape {ids.shape}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, (int, np.integer)) \
                or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
        vocab_size = self.transformer.wte.weight.shape[0]
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer))
                                  or not 1 <= top_k <= vocab_size):
            raise ValueError(f"top_k must be None or an int in 1 .. {vocab_size}, got {top_k!r}")
        rng = init.rng_from(seed)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits = self(ids[:, -self.block_size:]).data[:, -1, :] / temperature  # (B, V)
                    if top_k is not None:
                        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
                        logits = np.where(logits < kth, -np.inf, logits)
                    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
                    probs /= probs.sum(axis=-1, keepdims=True)
                    # inverse-CDF sampling, one uniform number per row
                    u = rng.random((len(ids), 1))
                    cdf = np.cumsum(probs, axis=-1)
                    nxt = np.minimum((cdf < u * cdf[:, -1:]).sum(axis=-1), vocab_size - 1)
                    ids = np.concatenate([ids, nxt[:, None]], axis=1)
        finally:
            self.train(was_training)
        return ids

    def __repr__(self) -> str:
        n = sum(p.size for p in self.parameters())
        t = self.transformer
        return (f"GPT(vocab_size={t.wte.weight.shape[0]}, block_size={self.block_size}, n_layer={len(t.h)}, "
                f"n_head={t.h[0].attn.n_head}, n_embd={t.wte.weight.shape[1]}; {n:,} parameters)")
