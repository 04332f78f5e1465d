"""Make tests/golden/layers.npz: PyTorch's numbers for the CNN and transformer layers of nn.

Regenerate with (any Python that has torch and numpy):

    python tests/golden/make_layer_fixtures.py

Each case `NAME` holds its inputs (`NAME.x`, `NAME.weight`, ...), an output gradient
`NAME.grad_out`, and PyTorch's output `NAME.out` and input gradients `NAME.grad_x`, ... all in
float64.
"""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

CONV_CASES = {  # name -> (N, C, H, W, O, kh, kw, stride, padding)
    "conv_plain": (2, 3, 7, 6, 4, 3, 2, 1, 0),
    "conv_stride_pad": (2, 3, 9, 8, 5, 3, 3, 2, 1),
    "conv_pointwise": (3, 2, 5, 5, 3, 1, 1, (2, 1), 0),
}
POOL_CASES = {  # name -> (kernel_size, stride): on integer-valued images, so windows have ties
    "pool_2": (2, None),
    "pool_3_overlap": (3, 1),
    "pool_3x2": ((3, 2), (2, 1)),
}


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    out = {"torch_version": np.array(torch.__version__)}

    def record(name: str, inputs: dict, forward) -> None:
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inputs.items()}
        result = forward(**tensors)
        grad_out = rng.standard_normal(tuple(result.shape))
        result.backward(torch.tensor(grad_out))
        out.update({f"{name}.{k}": v for k, v in inputs.items()})
        out[f"{name}.out"] = result.detach().numpy()
        out[f"{name}.grad_out"] = grad_out
        out.update({f"{name}.grad_{k}": t.grad.numpy() for k, t in tensors.items()})

    for name, (n, c, h, w, o, kh, kw, stride, padding) in CONV_CASES.items():
        inputs = {"x": rng.standard_normal((n, c, h, w)), "weight": rng.standard_normal((o, c, kh, kw)),
                  "bias": rng.standard_normal(o)}
        record(name, inputs, lambda x, weight, bias, s=stride, p=padding: F.conv2d(x, weight, bias, s, p))
        out[f"{name}.stride"], out[f"{name}.padding"] = np.array(stride), np.array(padding)
    for name, (kernel, stride) in POOL_CASES.items():
        x = rng.integers(0, 3, (2, 3, 7, 8)).astype(np.float64)
        record(f"max_{name}", {"x": x}, lambda x, k=kernel, s=stride: F.max_pool2d(x, k, s))
        record(f"avg_{name}", {"x": x}, lambda x, k=kernel, s=stride: F.avg_pool2d(x, k, s))
        out[f"{name}.kernel_size"] = np.array(kernel)
        out[f"{name}.stride"] = np.array(kernel if stride is None else stride)
    record("layer_norm", {"x": rng.standard_normal((3, 4, 5)), "weight": rng.standard_normal(5),
                          "bias": rng.standard_normal(5)},
           lambda x, weight, bias: F.layer_norm(x, (5,), weight, bias, 1e-5))
    record("layer_norm_2d", {"x": rng.standard_normal((3, 4, 5)) * 100 + 7},
           lambda x: F.layer_norm(x, (4, 5), eps=1e-5))
    ids = np.array([[1, 4, 4], [0, 6, 1]])
    out["embedding.ids"] = ids
    record("embedding", {"weight": rng.standard_normal((7, 3))},
           lambda weight: F.embedding(torch.tensor(ids), weight))
    np.savez_compressed("tests/golden/layers.npz", **out)
    print(f"wrote tests/golden/layers.npz ({len(out)} arrays)")


if __name__ == "__main__":
    main()
