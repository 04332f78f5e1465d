"""See it: computation graphs drawn with Graphviz, and plots of training with matplotlib.

Both libraries are the `viz` extra (pip install tinygrad-opt[viz]); nothing else in
tinygrad_opt needs them.
"""

from tinygrad_opt.viz.graph import draw_graph

__all__ = ["draw_graph"]
