"""The post "Optimizers from Scratch", experiment by experiment: what it printed beside what its code does.

The post builds SGD, Momentum, RMSProp and Adam in NumPy and prints the output of three
experiments. Each one is run here for real, with the configurations and the printed numbers
kept in `tinygrad_opt.race.post` (the code behind `tinygrad-opt post`), and each printed row is
checked: does it equal the real one, to the decimals the post shows?

    1. the bowl      x² + y², SGD                         the post's numbers are right
    2. the ravine    50x² + y², SGD and Momentum          SGD slightly off, Momentum impossible
    3. the showdown  a Beale-like surface, four racers    nobody reaches the minimum
    4. a fair test   each racer at its best learning rate: where the post's lesson holds

    python demos/post.py               # everything; the showdown drawn to out/post_showdown.png
    python demos/post.py --quick       # without the learning-rate sweeps of part 4
    python demos/post.py --out DIR     # the picture in DIR instead

docs/post.md tells the same story with the reasons.
"""

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt.race import (  # noqa: E402
    Trajectory,  # noqa: E402
    landscapes,
    post,
)

# ----------------------------------------------------------------- configuration
OUT = "out"  # where the showdown picture goes (--out)
PICTURE = "post_showdown.png"
MOMENTUM_BETA = 0.9  # the post's momentum coefficient (tinygrad_opt.race.standard_racers uses it too)
ADAPTIVE = ("RMSProp", "Adam")  # the racers the post's lesson is about


def matches(printed: float, real: float, decimals: int) -> bool:
    """Whether `real`, shown with `decimals` decimals, is what the post printed."""
    return abs(real - printed) <= 0.5 * 10.0**-decimals + 1e-12


def compare(title: str, printed: dict, trajectory: Trajectory, decimals: int) -> bool:
    """Print the post's rows (step -> ((x, y), loss)) beside the real ones; True if all match.

    Positions are compared to `decimals` decimals, losses to 4, as the post prints them.
    """
    print(title)
    print(f"{'step':>4}  {'post: position':<20} {'loss':>9}   {'real: position':<20} {'loss':>9}  same?")
    all_same = True
    for step, ((px, py), post_loss) in printed.items():
        x, y = trajectory.points[step]
        loss = trajectory.losses[step]
        same = matches(px, x, decimals) and matches(py, y, decimals) and matches(post_loss, loss, 4)
        all_same &= same
        width = decimals + 4
        print(f"{step:4d}  ({px:{width}.{decimals}f}, {py:{width}.{decimals}f}) {post_loss:9.4f}   "
              f"({x:{width}.{decimals}f}, {y:{width}.{decimals}f}) {loss:9.4f}  {'yes' if same else 'NO'}")
    return all_same


def verdict(name: str, same: bool, count: int) -> None:
    print(f"verdict: {name} {'matches the post' if same else 'does NOT match the post'} "
          f"({count} printed rows checked)\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the learning-rate sweeps (part 4)")
    parser.add_argument("--out", default=OUT, metavar="DIR",
                        help=f"where to draw the showdown (default {OUT}/)")
    args = parser.parse_args()

    # 1. The bowl: each SGD step multiplies the position by 1 - 2 lr = 0.8.
    same = compare("1. The bowl: SGD, lr 0.1, on x² + y² from (4, 3)", post.POST_BOWL, post.bowl(), 3)
    verdict("the bowl", same, len(post.POST_BOWL))

    # 2. The ravine: the same learning rate for SGD and Momentum.
    ravine = post.ravine()
    for name, printed in post.POST_RAVINE.items():
        same = compare(f"2. The ravine: {name}, lr 0.01, on 50x² + y² from (1, 8)", printed, ravine[name], 4)
        verdict(f"the ravine ({name})", same, len(printed))
    # Why the printed Momentum run cannot be: along any direction, heavy-ball momentum's two
    # modes multiply to beta, so the slower one shrinks by no more than sqrt(beta) a step.
    (_, y_start), _ = post.POST_RAVINE["Momentum"][0]
    (_, y_last), _ = post.POST_RAVINE["Momentum"][25]
    printed_rate = (y_last / y_start) ** (1 / 25)
    print(f"the post's Momentum y shrinks by {printed_rate:.4f} a step; with beta {MOMENTUM_BETA} "
          f"no run can do better than sqrt(beta) = {math.sqrt(MOMENTUM_BETA):.4f}")
    real_y = ravine["Momentum"].points[25][1]
    print(f"the real run at step 25: y = {real_y:.4f}, loss {ravine['Momentum'].losses[25]:.4f} "
          f"(the post: y = {y_last:.4f}, loss {post.POST_RAVINE['Momentum'][25][1]:.4f})\n")

    # 3. The showdown: the post's four racers and hand-picked learning rates, 200 steps.
    showdown = post.showdown()
    print("3. The showdown: the Beale-like surface from (0.5, 3.5), 200 steps, gradients clipped to 10")
    print(f"{'racer':<9} {'lr':>7}  {'post: loss':>11} {'position':>18}   "
          f"{'real: loss':>11} {'position':>18}  same?")
    all_same = True
    for name, (post_loss, (px, py)) in post.POST_SHOWDOWN.items():
        trajectory = showdown[name]
        x, y = trajectory.final_point
        same = matches(post_loss, trajectory.final_loss, 6) and matches(px, x, 4) and matches(py, y, 4)
        all_same &= same
        print(f"{name:<9} {post.SHOWDOWN_RATES[name]:7g}  {post_loss:11.6f} {f'({px:.4f}, {py:.4f})':>18}   "
              f"{trajectory.final_loss:11.6f} {f'({x:.4f}, {y:.4f})':>18}  {'yes' if same else 'NO'}")
    verdict("the showdown", all_same, len(post.POST_SHOWDOWN))
    minimum = landscapes.get("beale_like").minima[0]
    left = [name for name, trajectory in showdown.items() if trajectory.final_point[0] < 0]
    print(f"the minimum is at {minimum}; racers that ended at x < 0, in the valley running off to "
          f"x -> -inf: {', '.join(left) or 'none'}\n")

    # 4. A fair test: every racer at its own best learning rate from one grid.
    if not args.quick:
        grid = f"{len(post.LR_GRID)} rates from {post.LR_GRID[0]:g} to {post.LR_GRID[-1]:g}"
        fair_tests = [
            ("the ravine from (1, 8), 30 steps", post.honest_configuration()),
            ("the showdown from (0.5, 3.5), 200 steps, clip 10",
             post.tuned_race("beale_like", post.SHOWDOWN_START, post.SHOWDOWN_STEPS,
                             clip_value=post.SHOWDOWN_CLIP)),
        ]
        for where, tuned in fair_tests:
            print(f"4. Each racer at its best learning rate ({grid}): {where}")
            ranking = sorted(tuned, key=lambda name: tuned[name][1].final_loss)
            for name in ranking:
                lr, trajectory = tuned[name]
                print(f"   {name:<9} best lr {lr:<8g} final loss {trajectory.final_loss:.3g}")
            lesson_holds = set(ranking[: len(ADAPTIVE)]) == set(ADAPTIVE)
            print(f"verdict: adaptive methods {'win' if lesson_holds else 'do NOT win'} here "
                  f"(first two: {', '.join(ranking[:2])})\n")

    # The showdown drawn: each racer's path over the surface's contours.
    try:
        from tinygrad_opt.viz import plot_landscape
    except ImportError:
        print("matplotlib is missing (pip install tinygrad-opt[viz]): no picture drawn")
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot_landscape(landscapes.get("beale_like"), showdown, path=out / PICTURE)
    print(f"wrote {out / PICTURE}: the showdown's four paths over the Beale-like surface")


if __name__ == "__main__":
    main()
