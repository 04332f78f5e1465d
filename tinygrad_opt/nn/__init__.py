"""Neural networks on the engine: modules, layers, initialisation and loss functions.

    tinygrad_opt.nn.Module                 parameters, names, zero_grad, state_dict, save / load
    tinygrad_opt.nn.scalar                 micrograd's Neuron, Layer, MLP (one Value per number)
    tinygrad_opt.nn.Linear, MLP, ...       batched layers: (batch, features) arrays at once
    tinygrad_opt.nn.init                   uniform, normal, Xavier/Glorot, Kaiming/He
    tinygrad_opt.nn.mse_loss, ...          loss functions with PyTorch's numbers
"""

from tinygrad_opt.nn import init, scalar
from tinygrad_opt.nn.conv import AvgPool2d, Conv2d, Flatten, MaxPool2d, avg_pool2d, conv2d, max_pool2d
from tinygrad_opt.nn.gpt import GPT
from tinygrad_opt.nn.layers import GELU, MLP, Linear, ReLU, Sequential, Sigmoid, Tanh, gelu
from tinygrad_opt.nn.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    softmax,
)
from tinygrad_opt.nn.module import Module
from tinygrad_opt.nn.transformer import (
    Dropout,
    Embedding,
    LayerNorm,
    layer_norm,
    scaled_dot_product_attention,
)

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "Flatten",
    "MaxPool2d",
    "avg_pool2d",
    "conv2d",
    "max_pool2d",
    "GELU",
    "GPT",
    "Dropout",
    "Embedding",
    "LayerNorm",
    "layer_norm",
    "scaled_dot_product_attention",
    "MLP",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gelu",
    "hinge_loss",
    "huber_loss",
    "init",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "scalar",
    "softmax",
]
