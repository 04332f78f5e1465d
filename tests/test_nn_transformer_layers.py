"""Embedding, LayerNorm, Dropout and attention against PyTorch (tests/golden/layers.npz, attention.npz) and
central differences."""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import Value, nn
from tinygrad_opt.gradcheck import gradcheck

GOLDEN = np.load(Path(__file__).parent / "golden" / "layers.npz")
ATTENTION = np.load(Path(__file__).parent / "golden" / "attention.npz")


def check(name, inputs, out):
    np.testing.assert_allclose(out.data, GOLDEN[f"{name}.out"], rtol=1e-12, atol=1e-13)
    out.backward(GOLDEN[f"{name}.grad_out"])
    for key, value in inputs.items():
        expected = GOLDEN[f"{name}.grad_{key}"]
        np.testing.assert_allclose(value.grad, expected, rtol=1e-10, atol=1e-12, err_msg=key)


def test_layer_norm_equals_pytorch():
    inputs = {key: Value(GOLDEN[f"layer_norm.{key}"]) for key in ("x", "weight", "bias")}
    check("layer_norm", inputs, nn.layer_norm(inputs["x"], 5, inputs["weight"], inputs["bias"]))
    x = Value(GOLDEN["layer_norm_2d.x"])  # normalised over the last two axes; far from mean 0 and variance 1
    check("layer_norm_2d", {"x": x}, nn.layer_norm(x, (4, 5)))


@pytest.mark.parametrize("affine", ["weight and bias", "weight", "bias", "neither"])
@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5)])
def test_layer_norms_backward_rule_matches_central_differences(affine, normalized_shape):
    rng = np.random.default_rng(3)
    x = Value(rng.standard_normal((3, 4, 5)) * 2 + 1)
    weight = Value(rng.standard_normal(normalized_shape)) if "weight" in affine else None
    bias = Value(rng.standard_normal(normalized_shape)) if "bias" in affine else None
    mix = rng.standard_normal((3, 4, 5))  # a loss that weighs each output differently
    inputs = [v for v in (x, weight, bias) if v is not None]
    assert gradcheck(lambda *_: (nn.layer_norm(x, normalized_shape, weight, bias) * mix).sum(), *inputs)


def test_layer_norm_keeps_float32():
    layer = nn.LayerNorm(5).to(np.float32)
    x = Value(np.random.default_rng(4).standard_normal((2, 5)).astype(np.float32))
    y = layer(x)
    y.backward(np.ones((2, 5), dtype=np.float32))
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32


@pytest.mark.parametrize("case", ["causal", "full"])
def test_scaled_dot_product_attention_equals_pytorch(case):
    q, k, v = (Value(ATTENTION[f"{case}.{key}"]) for key in ("q", "k", "v"))
    out = nn.scaled_dot_product_attention(q, k, v, is_causal=case == "causal")
    np.testing.assert_allclose(out.data, ATTENTION[f"{case}.out"], rtol=1e-12, atol=1e-13)
    out.backward(ATTENTION[f"{case}.grad_out"])
    for key, value in (("q", q), ("k", k), ("v", v)):
        np.testing.assert_allclose(value.grad, ATTENTION[f"{case}.grad_{key}"], rtol=1e-10, atol=1e-12,
                                   err_msg=key)


@pytest.mark.parametrize("is_causal", [True, False])
def test_scaled_dot_product_attention_matches_central_differences_and_the_ops_it_fuses(is_causal):
    rng = np.random.default_rng(5)
    q, k, v = (Value(rng.standard_normal((2, 4, 3))) for _ in range(3))
    mix = rng.standard_normal((2, 4, 3))
    assert gradcheck(lambda *_: (nn.scaled_dot_product_attention(q, k, v, is_causal) * mix).sum(), q, k, v)
    mask = np.triu(np.full((4, 4), -np.inf), k=1) if is_causal else np.zeros((4, 4))
    by_ops = ((q @ k.transpose(0, 2, 1)) * (1 / np.sqrt(3)) + mask).softmax(axis=-1) @ v
    fused = nn.scaled_dot_product_attention(q, k, v, is_causal)
    np.testing.assert_allclose(fused.data, by_ops.data, rtol=1e-12)


def test_scaled_dot_product_attention_keeps_float32_and_checks_shapes():
    q = Value(np.ones((2, 3, 4), dtype=np.float32))
    out = nn.scaled_dot_product_attention(q, q, q, is_causal=True)
    out.backward(np.ones((2, 3, 4), dtype=np.float32))
    assert out.dtype == np.float32 and q.grad.dtype == np.float32
    with pytest.raises(ValueError, match=r"one shape.*\(2, 3, 4\), \(2, 3, 5\)"):
        nn.scaled_dot_product_attention(q, Value(np.ones((2, 3, 5))), q)


def test_layer_norm_module_starts_as_pure_normalisation():
    layer = nn.LayerNorm(5)
    np.testing.assert_array_equal(layer.weight.data, np.ones(5))
    np.testing.assert_array_equal(layer.bias.data, np.zeros(5))
    y = layer(np.random.default_rng(0).standard_normal((4, 5)) * 3 + 2).data
    np.testing.assert_allclose(y.mean(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=-1), 1, rtol=1e-4)  # 1 - eps / var
    assert nn.LayerNorm(5, bias=False).bias is None
    assert nn.LayerNorm(5, elementwise_affine=False).parameters() == []
    with pytest.raises(ValueError, match=r"\(4, 5\).*\(3, 5\)"):
        nn.layer_norm(np.zeros((3, 5)), (4, 5))


def test_layer_norm_gradients_match_central_differences():
    rng = np.random.default_rng(2)
    x, w, b = Value(rng.standard_normal((3, 6))), Value(rng.standard_normal(6)), Value(rng.standard_normal(6))
    assert gradcheck(lambda x, w, b: nn.layer_norm(x, 6, w, b), x, w, b)


def test_embedding_equals_pytorch_and_repeated_ids_add_up():
    layer = nn.Embedding(7, 3, seed=0)
    layer.weight.data[...] = GOLDEN["embedding.weight"]
    check("embedding", {"weight": layer.weight}, layer(GOLDEN["embedding.ids"]))
    # ids 1 and 4 appear twice: their rows got two gradients each (checked above against PyTorch)
    assert (GOLDEN["embedding.ids"] == 4).sum() == 2


def test_embedding_init_and_errors():
    layer = nn.Embedding(1000, 16, seed=0)
    assert abs(layer.weight.data.std() - 1) < 0.02  # N(0, 1), as PyTorch
    with pytest.raises(IndexError, match=r"id 1000, expected ids in 0 \.\. 999"):
        layer(np.array([3, 1000]))
    with pytest.raises(TypeError, match="integer ids"):
        layer(np.array([0.5]))


def test_dropout_scales_kept_values_and_is_off_in_eval():
    layer = nn.Dropout(0.25, seed=0)
    x = np.ones((200, 200))
    y = layer(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)  # the expected value stays 1
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x)
    for bad in (1.0, -0.1, "0.5"):
        with pytest.raises(ValueError, match="Dropout p"):
            nn.Dropout(bad)


def test_train_and_eval_reach_every_child():
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Sequential(nn.Dropout(0.5), nn.LayerNorm(2)))
    assert model.eval() is model
    assert [m.training for m in model.modules()] == [False] * 5
    model.train()
    assert all(m.training for m in model.modules())


def test_module_to_float32_keeps_float32_through_a_step():
    from tinygrad_opt import optim

    model = nn.GPT(11, 4, 1, 2, 8, seed=0).to(np.float32)
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    loss = nn.cross_entropy(model(np.array([[1, 2, 3]])).reshape(-1, 11), np.array([2, 3, 4]))
    assert loss.dtype == np.float32
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert {p.grad.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    with pytest.raises(TypeError, match="floating dtype"):
        model.to(np.int64)


def test_a_causal_mask_hides_a_future_score_even_when_it_overflows():
    # the key at position 2 makes every query's score with it overflow to inf; queries 0 and
    # 1 may not see it, so their rows stay finite (adding -inf to an inf score would give nan)
    q = np.zeros((1, 3, 2), np.float32)
    k = np.zeros((1, 3, 2), np.float32)
    q[0, :, 0] = 1e20
    k[0, 2, 0] = 1e20
    v = np.arange(6, dtype=np.float32).reshape(1, 3, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        out = nn.scaled_dot_product_attention(Value(q), Value(k), Value(v), is_causal=True).data
    np.testing.assert_allclose(out[0, :2], [[0, 1], [1, 2]])  # row 0 sees key 0, row 1 averages keys 0, 1


def test_the_gpts_attention_weights_hide_an_overflowing_future_score_too():
    # the op-by-op path (attention dropout, `attention_weights`) masks as the fused op does
    attention = nn.gpt.CausalSelfAttention(2, 1, 3, bias=False, seed=0).to(np.float32)
    q = np.zeros((1, 1, 3, 2), np.float32)
    k = np.zeros((1, 1, 3, 2), np.float32)
    q[..., 0] = 1e20
    k[0, 0, 2, 0] = 1e20
    with np.errstate(over="ignore", invalid="ignore"):
        weights = attention.weights(Value(q), Value(k)).data
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights[0, 0, :2], [[1, 0, 0], [0.5, 0.5, 0]])
