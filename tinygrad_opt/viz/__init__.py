"""See it: computation graphs drawn with Graphviz, and plots of training with matplotlib.

Both libraries are the `viz` extra (pip install tinygrad-opt[viz]); nothing else in
tinygrad_opt needs them. matplotlib is imported only when a plot is made.
"""

from tinygrad_opt.viz.graph import draw_graph
from tinygrad_opt.viz.plots import plot_attention, plot_decision_boundary, plot_landscape, plot_losses

__all__ = ["draw_graph", "plot_attention", "plot_decision_boundary", "plot_landscape", "plot_losses"]
