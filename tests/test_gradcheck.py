"""Tests for tinygrad_opt/gradcheck.py: it passes right gradients and catches wrong ones."""

import numpy as np
import pytest

from tinygrad_opt import GradcheckError, Value, gradcheck, operation


def square_with_wrong_backward(v):
    claims_three = lambda out, grad: (grad * 3,)  # noqa: E731  (claims d(x^2)/dx = 3)
    return operation(v.data * v.data, (v,), "square", claims_three).sum()


def test_a_right_gradient_passes():
    x = Value(np.array([[0.5, -1.0], [2.0, 3.0]]))
    assert gradcheck(lambda v: (v * v).sum(), x) is True
    assert gradcheck(lambda v: v.tanh(), x)  # a non-scalar output is checked through a projection


def test_a_wrong_gradient_is_caught_naming_the_worst_element():
    x = Value([0.0, 1.5, 10.0], label="x")
    with pytest.raises(GradcheckError, match=r"input 0 \('x'\) at index \(2,\): backward gives 3.0"):
        gradcheck(square_with_wrong_backward, x)


def test_a_wrong_scalar_gradient_is_caught():
    with pytest.raises(GradcheckError, match="input 1: backward gives 3.0, central differences 4.0"):
        gradcheck(lambda a, b: a + square_with_wrong_backward(b), Value(1.0), Value(2.0))


def test_a_nan_gradient_is_a_mismatch():
    def nan_backward(v):
        return operation(v.data * 1.0, (v,), "times one", lambda out, grad: (float("nan"),))

    with pytest.raises(GradcheckError, match="backward gives nan"):
        gradcheck(nan_backward, Value(1.0))


def test_a_wrong_micrograd_style_closure_is_caught():
    def cube_with_wrong_backward(x):
        out = Value(x.data**3, (x,), "cube")

        def _backward():
            x.grad += 2 * x.data**2 * out.grad  # should be 3 x^2
        out._backward = _backward
        return out

    with pytest.raises(GradcheckError, match="input 0: backward gives 8.0, central differences 12.0"):
        gradcheck(cube_with_wrong_backward, Value(2.0))


def test_gradcheck_leaves_the_data_as_it_was():
    x = Value(np.array([1.0, 2.0]))
    before = x.data.copy()
    gradcheck(lambda v: (v**3).sum(), x)
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_allclose(x.grad, 3 * before**2)


def test_gradcheck_rejects_what_is_not_a_value():
    with pytest.raises(TypeError, match="argument 0 is ndarray"):
        gradcheck(lambda v: v, np.ones(2))
    with pytest.raises(TypeError, match="f must return a Value, got float"):
        gradcheck(lambda v: 1.0, Value(1.0))
