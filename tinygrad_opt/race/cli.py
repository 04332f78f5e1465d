"""`tinygrad-opt race`: run a race, print the post's table, write a picture or the page, or serve it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinygrad_opt.race import (
    MAX_STEPS,
    RACER_NAMES,
    SUGGESTED_LR,
    format_table,
    race,
    racer_name,
    standard_racers,
    suggested_lr,
)
from tinygrad_opt.race.landscapes import get

__all__ = ["parse_learning_rates", "run_race"]


def parse_learning_rates(
    items: Sequence[str], default: float, landscape: str | None = None
) -> dict[str, float]:
    """`["0.01", "Adam=0.1"]` -> a learning rate per racer: VALUE sets every racer named so far (at
    first the post's four, at `default`), NAME=VALUE one racer, any of `ALL_RACERS` (letter case
    aside; "Lion=0.01" adds Lion). NAME=suggested takes the racer's `suggested_lr` on `landscape`."""
    rates = dict.fromkeys(RACER_NAMES, default)
    for item in items:
        name, _, value = item.rpartition("=")
        if name and value == "suggested" and landscape is not None:
            rates[racer_name(name)] = suggested_lr(name, landscape)
            continue
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"--lr takes VALUE or NAME=VALUE with a number, got {item!r}") from None
        if not rate > 0:
            raise ValueError(f"--lr needs a positive learning rate, got {item!r}")
        if not name:
            rates = dict.fromkeys(rates, rate)
        else:
            try:
                rates[racer_name(name)] = rate
            except ValueError as error:
                raise ValueError(f"--lr {item}: {error}") from None
    return rates


def run_race(args: argparse.Namespace) -> int:
    """Run the `race` command; returns the exit status (2 for bad arguments).

    The table, a picture, the page (`--out race.html`) and the server (`--serve`) all race
    with the same `--lr`, `--start`, `--steps` and `--clip`.
    """
    try:
        landscape = get(args.landscape)
        if not 0 <= args.steps <= MAX_STEPS:
            raise ValueError(f"--steps must be from 0 to {MAX_STEPS:,}, got {args.steps:,}")
        if args.clip is not None and not args.clip > 0:
            raise ValueError(f"--clip must be a positive number, got {args.clip:g}")
        rates = parse_learning_rates(args.lr, SUGGESTED_LR[landscape.name], landscape.name)
        page_options = {"steps": args.steps, "start": args.start, "clip_value": args.clip, "rates": rates}
        if args.serve:
            if not 1 <= args.steps <= 5000:
                raise ValueError(f"--serve races from 1 to 5,000 steps, got {args.steps:,}")
            from tinygrad_opt.race.serve import serve

            try:
                serve(args.port, first=landscape.name, **page_options)
            except OSError as error:  # the port is taken, or not ours to use
                print(f"tinygrad-opt race: cannot serve on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
                return 1
            return 0
        suffix = Path(args.out).suffix.lower() if args.out else ""
        if args.out and suffix not in OUT_SUFFIXES:
            raise ValueError(f"--out must end in {', '.join(OUT_SUFFIXES)}, got {args.out!r}")
        if suffix == ".html" and args.steps > 5000:
            raise ValueError(f"--out .html carries races of at most 5,000 steps, got {args.steps:,}")
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

        write_page(args.out, first=landscape.name, **page_options)
        print(f"\nwrote {args.out}: the interactive page (every landscape, opening on {landscape.name})")
    elif suffix:
        return _write_picture(args.out, suffix, landscape, results)
    return 0


OUT_SUFFIXES = (".png", ".svg", ".html", ".gif", ".mp4")


def _write_picture(out: str, suffix: str, landscape: Any, results: Any) -> int:
    """`--out` a picture (.png, .svg) or an animation (.gif, .mp4) of the race."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("tinygrad-opt race: pictures need matplotlib, which is missing: "
              "pip install matplotlib (or pip install 'tinygrad-opt[viz]')", file=sys.stderr)
        return 1
    if suffix in (".gif", ".mp4"):  # MissingPiece: Pillow or ffmpeg, named in one line
        from tinygrad_opt.viz.animate import MissingPiece, animate_race

        try:
            frames = animate_race(landscape, results, out)
        except MissingPiece as error:
            print(f"tinygrad-opt race: {error}", file=sys.stderr)
            return 1
        print(f"\nwrote {out}: {frames} frames")
        return 0
    from tinygrad_opt.viz import plot_landscape

    figure = plot_landscape(landscape, results)
    figure.savefig(out, dpi=120, bbox_inches="tight")
    print(f"\nwrote {out}")
    return 0
