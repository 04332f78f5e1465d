"""The command line: `tinygrad-opt COMMAND ...`, the same as `python -m tinygrad_opt COMMAND ...`.

Each command is a pair: a function that adds its arguments to a parser, and a
function that runs it. Commands import what they need when they run, so
`tinygrad-opt --help` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tinygrad_opt import __version__


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out", help="folder for the pictures and the page (default out)")
    parser.add_argument("--steps", type=int, default=300,
                        help="training steps per optimizer, at most 10,000 (default 300)")
    parser.add_argument("--quick", action="store_true", help="a few steps only, to check that it all runs")
    parser.add_argument("--no-page", action="store_true", help="leave out the race page")


def _demo(args: argparse.Namespace) -> int:
    from tinygrad_opt.tour import MAX_STEPS, run_tour

    if not 1 <= args.steps <= MAX_STEPS:
        message = f"--steps must be from 1 to {MAX_STEPS:,}, got {args.steps:,}"
        print(f"tinygrad-opt demo: {message}", file=sys.stderr)
        return 2
    try:
        run_tour(args.out, steps=args.steps, quick=args.quick, page=not args.no_page)
    except Exception as error:
        missing = missing_piece(error)
        if missing is None:
            raise
        print(f"tinygrad-opt demo: {missing}", file=sys.stderr)
        return 1
    return 0


# What each optional piece is called, and how to install it.
INSTALL = {
    "matplotlib": "plots need matplotlib, which is missing: pip install matplotlib "
                  "(or pip install 'tinygrad-opt[viz]')",
    "graphviz": "drawing graphs needs the graphviz Python package, which is missing: pip install graphviz "
                "(or pip install 'tinygrad-opt[viz]')",
    "PIL": "animated GIFs need Pillow, which is missing: pip install pillow",
    "dot": "Graphviz's `dot` program is missing: install it with 'sudo apt-get install graphviz' "
           "(Debian/Ubuntu), 'brew install graphviz' (macOS) or `make dot`",
}


def missing_piece(error: BaseException) -> str | None:
    """One line naming the optional piece whose absence raised `error`, and how to install it;
    None when `error` is not about a missing piece."""
    if type(error).__name__ == "ExecutableNotFound":  # graphviz's error for a missing `dot`
        return INSTALL["dot"]
    if isinstance(error, ImportError):
        name = (error.name or "").split(".")[0]
        if name in INSTALL:
            return INSTALL[name]
        if "graphviz" in str(error):  # tinygrad_opt.viz.graph's own ImportError
            return INSTALL["graphviz"]
    return None


def _graph_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--example",
        choices=("neuron", "micrograd"),
        default="neuron",
        help="neuron: a 2-input tanh neuron; micrograd: micrograd's README expression (default neuron)",
    )
    parser.add_argument(
        "--out", default="graph.svg", help="output file, .svg, .png or .pdf (default graph.svg)"
    )


def _graph(args: argparse.Namespace) -> int:
    import os

    try:
        from tinygrad_opt.viz import draw_graph
    except ImportError as error:
        print(f"tinygrad-opt graph: {missing_piece(error) or error}", file=sys.stderr)
        return 1
    from tinygrad_opt.viz.examples import micrograd_expression, neuron

    suffix = os.path.splitext(args.out)[1].lstrip(".").lower()
    if suffix not in ("svg", "png", "pdf"):
        print(f"tinygrad-opt graph: --out must end in .svg, .png or .pdf, got {args.out!r}", file=sys.stderr)
        return 2
    root = neuron() if args.example == "neuron" else micrograd_expression()
    try:
        image = draw_graph(root).pipe(format=suffix)
    except Exception as error:
        if missing_piece(error) is None:
            raise
        print(f"tinygrad-opt graph: {missing_piece(error)}", file=sys.stderr)
        return 1
    with open(args.out, "wb") as file:
        file.write(image)
    print(f"wrote {args.out}: the {args.example} example, {root.label} = {root.data:.4f}")
    return 0


def _backprop_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="backprop.html", help="the page to write (default backprop.html)")
    parser.add_argument("--expression", metavar="TEXT",
                        help="an expression such as 'tanh(x*w + b)' (default: micrograd's neuron, "
                             "tanh(x1*w1 + x2*w2 + b))")
    parser.add_argument("--let", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                        help="the value of each name in --expression, e.g. --let x=2 w=-3 b=6.88")


def _backprop(args: argparse.Namespace) -> int:
    from tinygrad_opt.viz.backprop import backprop_page, expression_graph
    from tinygrad_opt.viz.examples import neuron

    try:
        if not args.out.lower().endswith(".html"):
            raise ValueError(f"--out must end in .html, got {args.out!r}")
        if args.expression is None:
            if args.let:
                raise ValueError("--let gives values to the names of --expression; there is no --expression")
            root, what = neuron(), "micrograd's neuron, o = tanh(x1*w1 + x2*w2 + b)"
        else:
            values = {}
            for item in args.let:
                name, _, value = item.partition("=")
                try:
                    values[name.strip()] = float(value)
                except ValueError:
                    raise ValueError(f"--let takes NAME=NUMBER, got {item!r}") from None
            root, what = expression_graph(args.expression, values), args.expression
        page = backprop_page(root)
    except ValueError as error:
        print(f"tinygrad-opt backprop: {error}", file=sys.stderr)
        return 2
    page.save(args.out)
    print(f"wrote {args.out}: {what} = {root.data:.4f}, backpropagated in {page.steps} steps "
          "(open it in a web browser and press Step)")
    return 0


def _race_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--landscape", default="beale_like", metavar="NAME",
                        help="bowl, ravine, beale_like, beale, rosenbrock, saddle, himmelblau, rastrigin "
                             "(default beale_like)")
    parser.add_argument("--steps", type=int, default=200,
                        help="steps per racer, at most 100,000 (default 200)")
    parser.add_argument("--start", type=float, nargs=2, metavar=("X", "Y"),
                        help="start point (default: the landscape's own)")
    parser.add_argument("--lr", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                        help="learning rates: VALUE for every racer, NAME=VALUE for one; naming another "
                             "racer adds it (SGD, Momentum, Nesterov, Adagrad, RMSProp, Adam, AdamW, NAdam, "
                             "RAdam, Lion, L-BFGS, Prodigy, ScheduleFreeSGD, ScheduleFreeAdamW; "
                             "NAME=suggested for its suggested rate; default: the post's four at a rate "
                             "suggested for the landscape)")
    parser.add_argument("--clip", type=float, metavar="V", help="clip each gradient component to [-V, V]")
    parser.add_argument("--out", metavar="FILE",
                        help="write race.png or race.svg (a picture), race.gif or race.mp4 (an animation) "
                             "or race.html (the page, with these settings)")
    parser.add_argument("--serve", action="store_true",
                        help="serve the interactive page on 127.0.0.1 with live races (click to start)")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve (default 8000; 0 picks one)")


def _race(args: argparse.Namespace) -> int:
    from tinygrad_opt.race.cli import run_race

    return run_race(args)


def _post_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-tuned", action="store_true",
                        help="skip the learning-rate sweeps (the last two tables)")


def _post(args: argparse.Namespace) -> int:
    from tinygrad_opt.race.post import report

    print(report(tuned=not args.no_tuned))
    return 0


# name -> (help, add arguments, run)
COMMANDS = {
    "demo": ("the tour: a neuron's graph, every optimizer on moons and spirals, the race page",
             _demo_arguments, _demo),
    "graph": ("draw a built-in example's computation graph to SVG", _graph_arguments, _graph),
    "backprop": ("a page that backpropagates through a small graph one node per click",
                 _backprop_arguments, _backprop),
    "race": ("race optimizers on a loss landscape: a table, a picture, an animation or the page",
             _race_arguments, _race),
    "post": ("run the post's experiments and print its numbers beside the real ones", _post_arguments, _post),
}
# Old names that still work but are not listed in --help.
HIDDEN_ALIASES = {"seed": "post"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-opt",
        description="An autograd engine, neural-network layers and optimizers, written to be read.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        command = commands.add_parser(name, help=help_text, description=help_text)
        add_arguments(command)
        command.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HIDDEN_ALIASES:
        argv[0] = HIDDEN_ALIASES[argv[0]]
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args)
    except OSError as error:  # a file or folder that cannot be written: say which, without a traceback
        where = f" {error.filename!r}" if error.filename else ""
        print(f"tinygrad-opt {args.command}: cannot write{where}: {error.strerror or error}", file=sys.stderr)
        return 1
