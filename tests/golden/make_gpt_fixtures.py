"""Make tests/golden/gpt.npz: nanoGPT's own model, in float64, as the reference for nn.GPT.

The reference is `model.py` of nanoGPT (github.com/karpathy/nanoGPT), run with PyTorch on the
CPU. Regenerate with (any Python that has torch and numpy):

    python tests/golden/make_gpt_fixtures.py PATH/TO/nanoGPT/model.py

What the fixture holds, for a small configuration (vocab 17, block 8, 2 layers, 2 heads, 16 wide):
- `param.NAME`: the weights (nanoGPT's init, then perturbed so LayerNorm is not the identity);
- `ids`, `targets`: one batch (3, 8);
- `logits` (3, 8, 17), `loss`, and `grad.NAME` for every parameter;
- `adamw_losses` and `adamw.NAME`: 30 steps of torch.optim.AdamW (lr 1e-2, betas (0.9, 0.99),
  weight decay 0.1 on matrices only, nanoGPT's parameter groups) on that batch: the loss before
  each step and the weights after the last.
"""

import sys

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

VOCAB, BLOCK, LAYERS, HEADS, WIDTH = 17, 8, 2, 2, 16
STEPS = 30


def main(model_path: str) -> None:
    torch.set_default_dtype(torch.float64)
    source = open(model_path).read()
    namespace: dict = {}
    exec(compile(source, model_path, "exec"), namespace)  # the reference model, run as its own file
    config = namespace["GPTConfig"](block_size=BLOCK, vocab_size=VOCAB, n_layer=LAYERS, n_head=HEADS,
                                    n_embd=WIDTH, dropout=0.0, bias=True)
    torch.manual_seed(0)
    model = namespace["GPT"](config).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (3, BLOCK))
    targets = rng.integers(0, VOCAB, (3, BLOCK))
    out = {"ids": ids, "targets": targets, "torch_version": np.array(torch.__version__)}
    out.update({f"param.{k}": v.numpy().copy() for k, v in model.state_dict().items()})

    def full_logits() -> torch.Tensor:  # nanoGPT's forward without targets returns the last position only
        t = model.transformer
        x = t.drop(t.wte(torch.tensor(ids)) + t.wpe(torch.arange(BLOCK)))
        for block in t.h:
            x = block(x)
        return model.lm_head(t.ln_f(x))

    logits = full_logits()
    loss = F.cross_entropy(logits.view(-1, VOCAB), torch.tensor(targets).view(-1))
    loss.backward()
    out["logits"] = logits.detach().numpy()
    out["loss"] = np.array(loss.item())
    out.update({f"grad.{name}": p.grad.numpy().copy() for name, p in model.named_parameters()})

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=1e-2, betas=(0.9, 0.99))
    losses = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = F.cross_entropy(full_logits().view(-1, VOCAB), torch.tensor(targets).view(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["adamw_losses"] = np.array(losses)
    out.update({f"adamw.{name}": p.detach().numpy().copy() for name, p in model.named_parameters()})
    np.savez_compressed("tests/golden/gpt.npz", **out)
    print(f"wrote tests/golden/gpt.npz: loss {out['loss']:.6f}, after {STEPS} AdamW steps {losses[-1]:.6f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/golden/make_gpt_fixtures.py PATH/TO/nanoGPT/model.py")
    main(sys.argv[1])
