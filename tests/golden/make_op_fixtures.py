"""Make tests/golden/ops.npz: PyTorch's numbers for the engine's ops and the label losses.

Regenerate with (any Python that has torch and numpy):

    python tests/golden/make_op_fixtures.py

Each case `NAME` holds its inputs (`NAME.x`, `NAME.a`, ...), an output gradient
`NAME.grad_out`, and PyTorch's output `NAME.out` and input gradients `NAME.grad_x`, ... all in
float64. Inputs with ties (equal elements, elements on a clip bound) are on purpose: that is
where the conventions for a gradient differ. tests/test_engine_ops.py and tests/test_losses.py
compute the same cases with the engine.
"""

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812


def op_cases(rng):
    """name -> (inputs, PyTorch's function of them). The engine's call is in the tests."""
    x = rng.standard_normal((3, 4))
    ties = rng.integers(0, 3, (3, 4)).astype(np.float64)  # small integers: many ties
    wide = rng.standard_normal((2, 3, 4))
    return {
        "max_all_ties": ({"x": ties}, lambda x: x.max()),
        "max_axis_ties": ({"x": ties}, lambda x: torch.amax(x, dim=1)),
        "min_all_ties": ({"x": ties}, lambda x: x.min()),
        "min_axis_ties": ({"x": ties}, lambda x: torch.amin(x, dim=0, keepdim=True)),
        "min_axes": ({"x": wide}, lambda x: torch.amin(x, dim=(0, 2))),
        "clip": ({"x": np.array([-2.0, -1.0, -0.3, 0.0, 0.5, 1.0, 1.5])},  # on both bounds
                 lambda x: torch.clamp(x, -1.0, 1.0)),
        "clip_lo_only": ({"x": ties - 1}, lambda x: torch.clamp(x, min=0.0)),
        "var": ({"x": wide}, lambda x: torch.var(x, dim=1, correction=0)),
        "var_ddof1_all": ({"x": x}, lambda x: torch.var(x, correction=1)),
        "var_keepdims": ({"x": wide}, lambda x: torch.var(x, dim=(0, 2), correction=1, keepdim=True)),
        "std": ({"x": wide}, lambda x: torch.std(x, dim=-1, correction=1)),
        "std_all": ({"x": x}, lambda x: torch.std(x, correction=0)),
        "std_constant_rows": ({"x": np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])},
                              lambda x: torch.std(x, dim=1, correction=0)),
        "logsumexp": ({"x": wide}, lambda x: torch.logsumexp(x, dim=-1)),
        "logsumexp_all": ({"x": x}, lambda x: torch.logsumexp(x, dim=(0, 1))),
        "logsumexp_1000": ({"x": np.array([[1000.0, 1000.0, 999.0], [-1000.0, 0.0, 1000.0]])},
                           lambda x: torch.logsumexp(x, dim=1, keepdim=True)),
        "cumsum": ({"x": wide}, lambda x: torch.cumsum(x, dim=1)),
        "cumsum_last": ({"x": x}, lambda x: torch.cumsum(x, dim=-1)),
        "cumsum_flat": ({"x": x}, lambda x: torch.cumsum(x.flatten(), dim=0)),
        "expand_dims": ({"x": x}, lambda x: x.unsqueeze(1)),
        "squeeze": ({"x": rng.standard_normal((3, 1, 4, 1))}, lambda x: x.squeeze()),
        "squeeze_axis": ({"x": rng.standard_normal((3, 1, 4, 1))}, lambda x: x.squeeze(-1)),
        "broadcast_to": ({"x": rng.standard_normal((3, 1))}, lambda x: x.expand(2, 3, 4)),
        "flatten": ({"x": wide}, lambda x: x.flatten()),
        "take_along_axis": ({"x": x}, lambda x: torch.take_along_dim(x, torch.tensor(PICKS), 1)),
        "take_along_axis_0": ({"x": x}, lambda x: torch.gather(x, 0, torch.tensor([[2, 2, 0, 1]]))),
        # NumPy's pad_width ((1, 0), (2, 3)) is F.pad's (2, 3, 1, 0): last axis first
        "pad": ({"x": x}, lambda x: F.pad(x, (2, 3, 1, 0), value=0.5)),
        "where": ({"a": x, "b": rng.standard_normal(4)},
                  lambda a, b: torch.where(torch.tensor(CONDITION), a, b)),
        "maximum_ties": ({"a": ties, "b": np.array([1.0, 0.0, 2.0, 1.0])}, lambda a, b: torch.maximum(a, b)),
        "minimum_ties": ({"a": ties, "b": np.array([[1.0], [0.0], [2.0]])}, lambda a, b: torch.minimum(a, b)),
        "einsum_matmul": ({"a": x, "b": rng.standard_normal((4, 5))},
                          lambda a, b: torch.einsum("ij,jk->ik", a, b)),
        "einsum_batched": ({"a": wide, "b": rng.standard_normal((1, 4, 2))},
                           lambda a, b: torch.einsum("...ij,...jk->...ik", a, b)),
        "einsum_trace": ({"a": rng.standard_normal((4, 4))}, lambda a: torch.einsum("ii", a)),
        "einsum_diagonal": ({"a": rng.standard_normal((4, 4))}, lambda a: torch.einsum("ii->i", a)),
        "einsum_outer": ({"a": rng.standard_normal(3), "b": rng.standard_normal(4)},
                         lambda a, b: torch.einsum("i,j", a, b)),
        "einsum_attention": ({"q": wide, "k": rng.standard_normal((2, 5, 4))},
                             lambda q, k: torch.einsum("btd,bsd->bts", q, k)),
        "einsum_sum_one": ({"a": x, "b": rng.standard_normal(3)}, lambda a, b: torch.einsum("ij,i->", a, b)),
        "sum_0d_axis0": ({"x": np.array(1.5)}, lambda x: x.sum(dim=0)),
        "mean_0d_axis_minus1": ({"x": np.array(-2.5)}, lambda x: x.mean(dim=-1)),
    }


PICKS = np.array([[0, 0, 3], [1, 1, 1], [2, 0, 2]])  # repeated indices: their gradients add up
CONDITION = np.array([[True, False, True, False], [False, False, True, True], [True, True, True, False]])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 0.25, 3.0])
IGNORE_TARGETS = np.array([[1, -100, 4, 0], [2, 2, -100, 3]])  # (B, T) with ignored positions


def loss_cases(rng):
    """name -> (inputs, targets, PyTorch's function of them). Classes are on the last axis here
    (the engine's convention for (B, T, C) logits): PyTorch gets them flattened to (N, C)."""
    logits = rng.standard_normal((2, 4, 5)) * 2  # (B, T, C)
    targets = rng.integers(0, 5, (2, 4))
    log_probs = np.log(rng.dirichlet(np.ones(5), size=(2, 4)))
    weight = torch.tensor(CLASS_WEIGHT)

    def flat(loss, **kw):
        def forward(x, t):
            result = loss(x.reshape(-1, 5), t.reshape(-1), **kw)
            return result.reshape(t.shape) if kw.get("reduction") == "none" else result
        return forward

    ce, nll = F.cross_entropy, F.nll_loss
    return {
        "ce_btc": (logits, targets, flat(ce)),
        "ce_btc_none": (logits, targets, flat(ce, reduction="none")),
        "ce_ignore": (logits, IGNORE_TARGETS, flat(ce)),
        "ce_ignore_sum": (logits, IGNORE_TARGETS, flat(ce, reduction="sum")),
        "ce_weight": (logits, targets, flat(ce, weight=weight)),
        "ce_weight_ignore": (logits, IGNORE_TARGETS, flat(ce, weight=weight)),
        "ce_weight_smoothing": (logits, targets, flat(ce, weight=weight, label_smoothing=0.2)),
        "ce_weight_ignore_smoothing": (logits, IGNORE_TARGETS, flat(ce, weight=weight, label_smoothing=0.2)),
        "ce_weight_ignore_smoothing_sum": (logits, IGNORE_TARGETS,
                                           flat(ce, weight=weight, label_smoothing=0.2, reduction="sum")),
        "ce_weight_ignore_smoothing_none": (logits, IGNORE_TARGETS,
                                            flat(ce, weight=weight, label_smoothing=0.2, reduction="none")),
        "ce_ignore_index_2": (logits, targets, flat(ce, ignore_index=2, label_smoothing=0.1)),
        "nll_btc": (log_probs, targets, flat(nll)),
        "nll_weight_ignore": (log_probs, IGNORE_TARGETS, flat(nll, weight=weight)),
        "nll_weight_sum": (log_probs, targets, flat(nll, weight=weight, reduction="sum")),
    }


def main() -> None:
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(0)
    out = {"torch_version": np.array(torch.__version__), "numpy_version": np.array(np.__version__),
           "where.cond": CONDITION, "class_weight": CLASS_WEIGHT}

    def record(name: str, inputs: dict, forward, *extra) -> None:
        tensors = {k: torch.tensor(v, requires_grad=True) for k, v in inputs.items()}
        result = forward(*tensors.values(), *extra)
        grad_out = rng.standard_normal(tuple(result.shape))
        result.backward(torch.tensor(grad_out))
        out.update({f"{name}.{k}": v for k, v in inputs.items()})
        out[f"{name}.out"] = result.detach().numpy()
        out[f"{name}.grad_out"] = grad_out
        out.update({f"{name}.grad_{k}": t.grad.numpy() for k, t in tensors.items()})

    for name, (inputs, forward) in op_cases(rng).items():
        record(name, inputs, forward)
    for name, (x, targets, forward) in loss_cases(rng).items():
        out[f"{name}.target"] = targets
        record(name, {"x": x}, forward, torch.tensor(targets))
    np.savez_compressed("tests/golden/ops.npz", **out)
    print(f"wrote tests/golden/ops.npz ({len(out)} arrays)")


if __name__ == "__main__":
    main()
