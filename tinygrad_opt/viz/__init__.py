"""See it: computation graphs drawn with Graphviz, plots of training with matplotlib, and
backpropagation one node at a time (a page that needs neither).

Graphviz and matplotlib are the `viz` extra (pip install tinygrad-opt[viz]); nothing else in
tinygrad_opt needs them. matplotlib is imported only when a plot is made, and graphviz only
when `draw_graph` is first used: the plots never need graphviz.
"""

from typing import Any

from tinygrad_opt.viz.backprop import backprop_page
from tinygrad_opt.viz.plots import plot_attention, plot_decision_boundary, plot_landscape, plot_losses

__all__ = ["draw_graph", "backprop_page", "plot_attention", "plot_decision_boundary", "plot_landscape",
           "plot_losses"]


def __getattr__(name: str) -> Any:  # `draw_graph` imports graphviz when it is first asked for
    if name == "draw_graph":
        from tinygrad_opt.viz.graph import draw_graph

        return draw_graph
    raise AttributeError(f"module 'tinygrad_opt.viz' has no attribute {name!r}")
