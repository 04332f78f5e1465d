"""tinygrad_opt: an autograd engine, neural-network layers and optimizers, written to be read."""

from tinygrad_opt.engine import Value, concatenate, no_grad, stack
from tinygrad_opt.gradcheck import GradcheckError, gradcheck

__all__ = ["GradcheckError", "Value", "concatenate", "gradcheck", "no_grad", "stack"]
__version__ = "0.1.0"
