"""nn.GPT against nanoGPT's own model (tests/golden/gpt.npz, made by tests/golden/make_gpt_fixtures.py):
the same weights give the same logits, loss and gradients, and 30 AdamW steps the same trajectory."""

from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt import nn, optim
from tinygrad_opt.gradcheck import gradcheck

GOLDEN = np.load(Path(__file__).parent / "golden" / "gpt.npz")
VOCAB, BLOCK, LAYERS, HEADS, WIDTH = 17, 8, 2, 2, 16


def golden_model() -> nn.GPT:
    model = nn.GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH, seed=0)
    model.load_state_dict({k[len("param."):]: GOLDEN[k] for k in GOLDEN.files if k.startswith("param.")})
    return model


def loss_of(model: nn.GPT):
    logits = model(GOLDEN["ids"])
    return nn.cross_entropy(logits, GOLDEN["targets"])


def test_names_and_shapes_are_nanogpts():
    model = nn.GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH, seed=0)
    expected = {k[len("param."):]: GOLDEN[k].shape for k in GOLDEN.files if k.startswith("param.")}
    assert {k: v.shape for k, v in model.state_dict().items()} == expected
    assert model.state_dict()["transformer.h.0.attn.c_attn.weight"].shape == (3 * WIDTH, WIDTH)
    # lm_head shares the token embedding: one parameter, listed once
    assert model.lm_head.weight is model.transformer.wte.weight
    assert "lm_head.weight" not in dict(model.named_parameters())
    state = model.state_dict()  # ... and saved under both names, as nanoGPT's checkpoints have it
    np.testing.assert_array_equal(state["lm_head.weight"], state["transformer.wte.weight"])
    state["lm_head.weight"] = state["lm_head.weight"] + 1
    with pytest.raises(ValueError, match="'transformer.wte.weight' and 'lm_head.weight' differ"):
        model.load_state_dict(state)


def test_logits_loss_and_every_gradient_equal_nanogpts():
    model = golden_model()
    logits = model(GOLDEN["ids"])
    np.testing.assert_allclose(logits.data, GOLDEN["logits"], rtol=1e-12, atol=1e-14)
    loss = nn.cross_entropy(logits, GOLDEN["targets"])
    assert loss.item() == pytest.approx(float(GOLDEN["loss"]), rel=1e-13)
    loss.backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, GOLDEN[f"grad.{name}"], rtol=1e-10, atol=1e-14, err_msg=name)


def test_thirty_adamw_steps_follow_nanogpts_trajectory():
    model = golden_model()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                      lr=1e-2, betas=(0.9, 0.99))
    losses = []
    for _ in range(30):
        loss = loss_of(model)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses, GOLDEN["adamw_losses"], rtol=1e-10)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.data, GOLDEN[f"adamw.{name}"], rtol=1e-8, atol=1e-12, err_msg=name)


def test_gradients_match_central_differences():
    model = nn.GPT(7, 4, 1, 2, 4, seed=1)
    ids = np.array([[1, 2, 3, 0], [6, 5, 4, 3]])
    targets = np.array([[2, 3, 0, 1], [5, 4, 3, 2]])
    params = model.parameters()  # gradcheck nudges each parameter's data in place
    assert gradcheck(lambda *_: nn.cross_entropy(model(ids), targets), *params)


def test_causal_a_later_token_does_not_change_earlier_logits():
    model = nn.GPT(VOCAB, BLOCK, LAYERS, HEADS, WIDTH, seed=3)
    a = np.array([[1, 2, 3, 4, 5]])
    b = np.array([[1, 2, 3, 4, 16]])
    np.testing.assert_array_equal(model(a).data[:, :4], model(b).data[:, :4])
    assert not np.allclose(model(a).data[:, 4], model(b).data[:, 4])


def test_too_long_input_names_block_size():
    model = nn.GPT(VOCAB, BLOCK, 1, 1, 4, seed=0)
    with pytest.raises(ValueError, match="block_size 8"):
        model(np.zeros((1, 9), dtype=np.int64))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(np.zeros(5, dtype=np.int64))


def test_generate_contract():
    model = nn.GPT(VOCAB, BLOCK, 1, 2, 8, seed=0)
    start = np.array([[1, 2], [3, 4]])
    out = model.generate(start, 12, seed=5)
    assert out.shape == (2, 14) and out.dtype.kind == "i"
    np.testing.assert_array_equal(out[:, :2], start)
    assert out.min() >= 0 and out.max() < VOCAB
    np.testing.assert_array_equal(out, model.generate(start, 12, seed=5))  # same seed, same text
    # greedy: each new token is the argmax of the logits of the (cropped) context
    greedy = model.generate(start, 10, top_k=1)
    for t in range(2, 12):
        context = greedy[:, max(0, t - BLOCK):t]
        np.testing.assert_array_equal(greedy[:, t], model(context).data[:, -1].argmax(axis=-1))
    # top_k=1 ignores the temperature and the seed
    np.testing.assert_array_equal(greedy, model.generate(start, 10, top_k=1, temperature=1.5, seed=9))
    assert model.training  # generate restores the mode
    with pytest.raises(ValueError, match="temperature"):
        model.generate(start, 3, temperature=0.0)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(start, 3, top_k=VOCAB + 1)


def test_low_temperature_concentrates_the_samples():
    model = nn.GPT(VOCAB, BLOCK, 1, 2, 8, seed=0)
    start = np.zeros((64, 1), dtype=np.int64)
    cold = model.generate(start, 1, temperature=0.05, seed=0)[:, 1]
    hot = model.generate(start, 1, temperature=5.0, seed=0)[:, 1]
    assert len(set(cold.tolist())) < len(set(hot.tolist()))


def test_dropout_is_on_in_train_and_off_in_eval():
    model = nn.GPT(VOCAB, BLOCK, 1, 2, 8, dropout=0.5, seed=0)
    ids = np.array([[1, 2, 3]])
    assert not np.array_equal(model(ids).data, model(ids).data)  # a new mask each call
    model.eval()
    assert all(not m.training for m in model.modules())
    np.testing.assert_array_equal(model(ids).data, model(ids).data)
    model.train()
    assert all(m.training for m in model.modules())
