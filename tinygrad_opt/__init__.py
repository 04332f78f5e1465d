"""tinygrad_opt: an autograd engine, neural-network layers and optimizers, written to be read."""

from tinygrad_opt.engine import (
    Value,
    as_value,
    concatenate,
    einsum,
    maximum,
    minimum,
    no_grad,
    operation,
    stack,
    topological_order,
    where,
)
from tinygrad_opt.gradcheck import GradcheckError, gradcheck

__all__ = [
    "GradcheckError",
    "Value",
    "as_value",
    "concatenate",
    "einsum",
    "gradcheck",
    "maximum",
    "minimum",
    "no_grad",
    "operation",
    "stack",
    "topological_order",
    "where",
]
__version__ = "0.1.0"
