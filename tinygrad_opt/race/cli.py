"""`tinygrad-opt race`: run a race, print the post's table, write a picture or the page, or serve it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tinygrad_opt.race import MAX_STEPS, RACER_NAMES, SUGGESTED_LR, format_table, race, standard_racers
from tinygrad_opt.race.landscapes import get

__all__ = ["parse_learning_rates", "run_race"]


def parse_learning_rates(items: Sequence[str], default: float) -> dict[str, float]:
    """`["0.01", "Adam=0.1"]` -> a learning rate per racer: VALUE sets all, NAME=VALUE one racer."""
    rates = dict.fromkeys(RACER_NAMES, default)
    for item in items:
        name, _, value = item.rpartition("=")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"--lr takes VALUE or NAME=VALUE with a number, got {item!r}") from None
        if not rate > 0:
            raise ValueError(f"--lr needs a positive learning rate, got {item!r}")
        if not name:
            rates = dict.fromkeys(RACER_NAMES, rate)
        elif name in rates:
            rates[name] = rate
        else:
            raise ValueError(f"--lr: unknown racer {name!r} in {item!r}; racers: {', '.join(RACER_NAMES)}")
    return rates


def run_race(args: argparse.Namespace) -> int:
    """Run the `race` command; returns the exit status (2 for bad arguments)."""
    try:
        landscape = get(args.landscape)
        if args.serve:
            from tinygrad_opt.race.serve import serve

            try:
                serve(args.port, first=landscape.name)
            except OSError as error:  # the port is taken, or not ours to use
                print(f"tinygrad-opt race: cannot serve on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
                return 1
            return 0
        if not 0 <= args.steps <= MAX_STEPS:
            raise ValueError(f"--steps must be from 0 to {MAX_STEPS:,}, got {args.steps:,}")
        rates = parse_learning_rates(args.lr, SUGGESTED_LR[landscape.name])
        suffix = Path(args.out).suffix.lower() if args.out else ""
        if args.out and suffix not in (".png", ".svg", ".html"):
            raise ValueError(f"--out must end in .png, .svg or .html, got {args.out!r}")
        results = race(landscape, standard_racers(rates), start=args.start, steps=args.steps,
                       clip_value=args.clip)
    except ValueError as error:
        print(f"tinygrad-opt race: {error}", file=sys.stderr)
        return 2
    x, y = args.start or landscape.start
    used = ", ".join(f"{name} {rate:g}" for name, rate in rates.items())
    clip = f", gradients clipped to {args.clip:g}" if args.clip else ""
    print(f"{landscape.name}: f(x, y) = {landscape.formula}")
    print(f"from ({x:g}, {y:g}), {args.steps} steps, lr: {used}{clip}\n")
    print(format_table(results))
    if suffix == ".html":
        from tinygrad_opt.race.page import write_page

        write_page(args.out, first=landscape.name)
        print(f"\nwrote {args.out}: the interactive page (every landscape, opening on {landscape.name})")
    elif suffix:
        try:
            from tinygrad_opt.viz import plot_landscape
        except ImportError as error:
            print(f"tinygrad-opt race: pictures need matplotlib ({error}); "
                  "install the viz extra: pip install 'tinygrad-opt[viz]'", file=sys.stderr)
            return 1
        figure = plot_landscape(landscape, results)
        figure.savefig(args.out, dpi=120, bbox_inches="tight")
        print(f"\nwrote {args.out}")
    return 0
