"""optim.clip_grad_norm and clip_grad_value against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_opt import Value, optim


def with_grads(*grads):
    params = []
    for g in grads:
        p = Value(0.0) if isinstance(g, float) else Value(np.zeros_like(np.asarray(g, dtype=float)))
        p.grad = g if isinstance(g, float) else np.array(g, dtype=float)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together():
    a, b = with_grads(3.0, [0.0, 4.0, 12.0])  # joint norm sqrt(9 + 16 + 144) = 13
    grad_b = b.grad
    total = optim.clip_grad_norm([a, b], max_norm=6.5)
    assert total == pytest.approx(13.0, rel=1e-15)
    scale = 6.5 / (13.0 + 1e-6)  # PyTorch's formula
    assert a.grad == pytest.approx(3.0 * scale, rel=1e-15)
    np.testing.assert_allclose(b.grad, np.array([0.0, 4.0, 12.0]) * scale, rtol=1e-15)
    assert b.grad is grad_b  # in place
    assert math.hypot(a.grad, *b.grad) < 6.5


def test_clip_grad_norm_leaves_small_gradients_alone():
    (a,) = with_grads([0.3, -0.4])
    assert optim.clip_grad_norm(a, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad, [0.3, -0.4])


def test_clip_grad_norm_other_norms():
    a, b = with_grads([1.0, -2.0], -5.0)
    assert optim.clip_grad_norm([a, b], 100.0, norm_type=1) == pytest.approx(8.0)
    assert optim.clip_grad_norm([a, b], 2.5, norm_type=math.inf) == pytest.approx(5.0)
    assert b.grad == pytest.approx(-5.0 * 2.5 / (5.0 + 1e-6))


def test_clip_grad_norm_non_finite():
    (a,) = with_grads([1.0, np.inf])
    with pytest.raises(ValueError, match="inf"):
        optim.clip_grad_norm(a, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clips_each_element():
    a, b = with_grads(-12.0, [0.5, 20.0, -3.0])
    optim.clip_grad_value([a, b], clip_value=2.0)
    assert a.grad == -2.0
    np.testing.assert_array_equal(b.grad, [0.5, 2.0, -2.0])


@pytest.mark.parametrize(("call", "message"), [
    (lambda ps: optim.clip_grad_norm(ps, -1.0), "max_norm: -1.0"),
    (lambda ps: optim.clip_grad_norm(ps, 1.0, norm_type=0), "norm_type: 0"),
    (lambda ps: optim.clip_grad_value(ps, -0.5), "clip_value: -0.5"),
])
def test_invalid_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(with_grads([1.0]))
    with pytest.raises(TypeError, match="ndarray"):
        optim.clip_grad_value([np.zeros(2)], 1.0)
