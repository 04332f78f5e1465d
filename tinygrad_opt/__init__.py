"""tinygrad_opt: an autograd engine, neural-network layers and optimizers, written to be read."""

from tinygrad_opt.engine import Value, as_value, concatenate, no_grad, operation, stack, topological_order
from tinygrad_opt.gradcheck import GradcheckError, gradcheck

__all__ = [
    "GradcheckError",
    "Value",
    "as_value",
    "concatenate",
    "gradcheck",
    "no_grad",
    "operation",
    "stack",
    "topological_order",
]
__version__ = "0.1.0"
