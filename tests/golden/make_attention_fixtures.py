"""Make tests/golden/attention.npz: PyTorch's scaled_dot_product_attention, for
nn.scaled_dot_product_attention.

Regenerate with (any Python that has torch and numpy):

    python tests/golden/make_attention_fixtures.py

Each case `NAME` (`causal`, `full`) holds q, k, v of shape (2, 3, 5, 4), an output gradient
`NAME.grad_out`, PyTorch's output `NAME.out` and its gradients `NAME.grad_q`, `NAME.grad_k`,
`NAME.grad_v`, all in float64.
"""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812


def main() -> None:
    rng = np.random.default_rng(0)
    out = {"torch_version": np.array(torch.__version__)}
    for name, is_causal in (("causal", True), ("full", False)):
        inputs = {key: rng.standard_normal((2, 3, 5, 4)) for key in ("q", "k", "v")}
        tensors = {key: torch.tensor(value, requires_grad=True) for key, value in inputs.items()}
        result = F.scaled_dot_product_attention(tensors["q"], tensors["k"], tensors["v"], is_causal=is_causal)
        grad_out = rng.standard_normal(tuple(result.shape))
        result.backward(torch.tensor(grad_out))
        out.update({f"{name}.{key}": value for key, value in inputs.items()})
        out[f"{name}.out"] = result.detach().numpy()
        out[f"{name}.grad_out"] = grad_out
        out.update({f"{name}.grad_{key}": t.grad.numpy() for key, t in tensors.items()})
    np.savez_compressed("tests/golden/attention.npz", **out)
    print(f"wrote tests/golden/attention.npz ({len(out)} arrays)")


if __name__ == "__main__":
    main()
