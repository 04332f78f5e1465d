"""nn's convolution and pooling against PyTorch (tests/golden/layers.npz, made by
tests/golden/make_layer_fixtures.py) and against central differences."""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import Value, nn
from tinygrad_opt.gradcheck import gradcheck

GOLDEN = np.load(Path(__file__).parent / "golden" / "layers.npz")
CONV_CASES = ["conv_plain", "conv_stride_pad", "conv_pointwise"]
POOL_CASES = ["pool_2", "pool_3_overlap", "pool_3x2"]


def check_case(name: str, inputs: dict[str, Value], out: Value) -> None:
    np.testing.assert_allclose(out.data, GOLDEN[f"{name}.out"], rtol=1e-12, atol=1e-13)
    out.backward(GOLDEN[f"{name}.grad_out"])
    for key, value in inputs.items():
        np.testing.assert_allclose(value.grad, GOLDEN[f"{name}.grad_{key}"], rtol=1e-12, atol=1e-13,
                                   err_msg=f"{name}: gradient of {key}")


def pair(array: np.ndarray):
    return tuple(int(v) for v in array) if array.ndim else int(array)


@pytest.mark.parametrize("name", CONV_CASES)
def test_conv2d_equals_pytorch(name):
    inputs = {key: Value(GOLDEN[f"{name}.{key}"]) for key in ("x", "weight", "bias")}
    out = nn.conv2d(inputs["x"], inputs["weight"], inputs["bias"],
                    stride=pair(GOLDEN[f"{name}.stride"]), padding=pair(GOLDEN[f"{name}.padding"]))
    check_case(name, inputs, out)


@pytest.mark.parametrize("name", POOL_CASES)
def test_pooling_equals_pytorch_including_ties(name):
    kernel, stride = pair(GOLDEN[f"{name}.kernel_size"]), pair(GOLDEN[f"{name}.stride"])
    for kind, pool in (("max", nn.max_pool2d), ("avg", nn.avg_pool2d)):
        x = Value(GOLDEN[f"{kind}_{name}.x"])
        check_case(f"{kind}_{name}", {"x": x}, pool(x, kernel, stride))


def test_conv_and_pool_gradients_match_central_differences():
    rng = np.random.default_rng(1)
    x, w, b = (Value(rng.standard_normal(s)) for s in ((2, 2, 6, 5), (3, 2, 3, 2), (3,)))
    assert gradcheck(lambda x, w, b: nn.conv2d(x, w, b, stride=(2, 1), padding=1), x, w, b)
    distinct = Value(rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5) / 10.0)  # no ties: differentiable
    assert gradcheck(lambda x: nn.max_pool2d(x, 3, 1), distinct)
    assert gradcheck(lambda x: nn.avg_pool2d(x, (2, 3), (2, 1)), x)


def test_conv2d_layer_shapes_and_pytorch_default_init():
    layer = nn.Conv2d(3, 64, (2, 3), stride=2, padding=1, seed=0)
    assert layer.weight.shape == (64, 3, 2, 3) and layer.bias.shape == (64,)
    bound = 1 / np.sqrt(3 * 2 * 3)  # PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.95 * bound  # the whole range is used, not a narrower one
    assert layer(np.zeros((4, 3, 8, 8))).shape == (4, 64, 5, 4)  # (8 + 2 - 2) // 2 + 1, (8 + 2 - 3) // 2 + 1
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert nn.Conv2d(3, 4, 3, bias=False, seed=0).bias is None


def test_a_tiny_cnn_fits_a_batch():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 1, 6, 6)), rng.integers(0, 3, 16)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 3 * 3, 3, seed=0))
    from tinygrad_opt import optim

    opt = optim.Adam(model.parameters(), lr=0.03)
    for _ in range(100):
        loss = nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (model(X).data.argmax(axis=1) == y).all()  # 16 random labels memorised: the gradients flow


@pytest.mark.parametrize("call, message", [
    (lambda: nn.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((3, 4, 3, 3))),
     r"same C.*\(1, 2, 5, 5\).*\(3, 4, 3, 3\)"),
    (lambda: nn.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), "larger than the padded image"),
    (lambda: nn.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0),
     "stride must be an int >= 1"),
    (lambda: nn.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), bias=np.zeros(3)), r"bias .*\(2,\)"),
    (lambda: nn.max_pool2d(np.zeros((2, 5, 5)), 2), r"\(N, C, H, W\)"),
    (lambda: nn.avg_pool2d(np.zeros((1, 1, 2, 2)), 3), "larger than the image"),
    (lambda: nn.Conv2d(0, 3, 3), "in_channels must be an int >= 1"),
])
def test_bad_shapes_and_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()
