"""tinygrad_opt: an autograd engine, neural-network layers and optimizers, written to be read."""

from tinygrad_opt.engine import Value, concatenate, gradcheck, no_grad, stack

__all__ = ["Value", "concatenate", "gradcheck", "no_grad", "stack"]
__version__ = "0.1.0"
