"""The post's experiments: real numbers from the post's own code, beside what it printed; the CLI."""

from pathlib import Path

import numpy as np
import post_reference as post_code
import pytest

from tinygrad_opt.cli import main
from tinygrad_opt.race import RACER_NAMES, post, race, standard_racers

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_bowl_is_the_post_code_and_matches_its_printout():
    trajectory = post.bowl()
    expected = post_code.run(post_code.bowl_grad, post_code.SGD(lr=0.1), (4.0, 3.0), 15)
    np.testing.assert_allclose(trajectory.points, expected, rtol=1e-12)
    for step, ((x, y), loss) in post.POST_BOWL.items():  # printed with 3 and 4 decimals
        assert trajectory.points[step] == pytest.approx((x, y), abs=5e-4)
        assert trajectory.losses[step] == pytest.approx(loss, abs=5e-5)


def test_ravine_is_the_post_code_and_its_printout_is_not():
    results = post.ravine()
    references = {"SGD": post_code.SGD(lr=0.01), "Momentum": post_code.SGDMomentum(lr=0.01, beta=0.9)}
    for name, reference in references.items():
        expected = post_code.run(post_code.ravine_grad, reference, (1.0, 8.0), 30)
        np.testing.assert_allclose(results[name].points, expected, rtol=1e-10, atol=1e-12)
    # SGD: y shrinks by exactly 1 - 2 lr = 0.98 a step, so y_5 = 8 * 0.98**5 = 7.2314, not the printed 7.2384.
    assert results["SGD"].points[5, 1] == pytest.approx(8 * 0.98**5, rel=1e-12)
    # and x is exactly 0 after one step (1 - 100 lr = 0): no sign flips are possible.
    assert np.all(results["SGD"].points[1:, 0] == 0.0)
    # Momentum overshoots: y goes negative, the loss at step 25 is far above the printed 0.1048.
    assert results["Momentum"].points[:26, 1].min() < -2
    assert results["Momentum"].losses[25] > 10 * post.POST_RAVINE["Momentum"][25][1]


def test_showdown_is_the_post_code_and_nobody_reaches_the_minimum():
    results = post.showdown()
    for name, make in post_code.SHOWDOWN.items():
        expected = post_code.run(post_code.beale_like_grad, make(), (0.5, 3.5), 200, clip=10)
        np.testing.assert_allclose(results[name].points, expected, rtol=1e-9, atol=1e-12)
        x, y = results[name].final_point
        assert x < 0  # all four ran into the valley on the left, away from (3, 0.5)
        assert results[name].final_loss > 0.5


def test_tuned_race_takes_each_racers_best_rate():
    grid = (0.001, 0.01, 0.1)
    tuned = post.tuned_race("ravine", (1.0, 8.0), 30, grid=grid)
    assert list(tuned) == list(RACER_NAMES)
    for name, (lr, trajectory) in tuned.items():
        for other in grid:
            rival = race("ravine", standard_racers({name: other}), start=(1.0, 8.0), steps=30)[name]
            if not rival.diverged:
                assert trajectory.final_loss <= rival.final_loss
        again = race("ravine", standard_racers({name: lr}), start=(1.0, 8.0), steps=30)[name]
        assert again.final_loss == trajectory.final_loss


def test_the_lesson_holds_on_the_ravine_within_30_steps():
    tuned = post.honest_configuration()
    adaptive = max(tuned["RMSProp"][1].final_loss, tuned["Adam"][1].final_loss)
    plain = min(tuned["SGD"][1].final_loss, tuned["Momentum"][1].final_loss)
    assert adaptive < plain


def test_post_command_prints_post_and_real_numbers(capsys):
    assert main(["post", "--no-tuned"]) == 0
    out = capsys.readouterr().out
    real_sgd_y5 = post_code.run(post_code.ravine_grad, post_code.SGD(lr=0.01), (1.0, 8.0), 5)[5, 1]
    assert f"{real_sgd_y5:.4f}" in out and "7.2384" in out  # real beside printed
    for name, (loss, _) in post.POST_SHOWDOWN.items():
        run = post_code.run(post_code.beale_like_grad, post_code.SHOWDOWN[name](), (0.5, 3.5), 200, clip=10)
        expected = run[-1]
        line = next(line for line in out.splitlines() if line.startswith(name + " "))
        assert f"{loss:.6f}" in line
        assert f"{expected[0]:.4f}" in line and f"{expected[1]:.4f}" in line


def test_race_command_prints_the_table(capsys):
    assert main(["race", "--landscape", "ravine", "--steps", "30", "--start", "1", "8",
                 "--lr", "0.01", "Adam=0.3"]) == 0
    out = capsys.readouterr().out
    expected = post_code.run(post_code.ravine_grad, post_code.SGD(lr=0.01), (1.0, 8.0), 30)[-1]
    sgd_line = next(line for line in out.splitlines() if line.startswith("SGD "))
    assert f"({expected[0]:.4f}, {expected[1]:.4f})" in sgd_line and sgd_line.endswith("False")
    assert "Adam 0.3" in out


@pytest.mark.parametrize("argv, message", [
    (["race", "--landscape", "flat"], "unknown landscape"),
    (["race", "--lr", "Lion King=0.1"], "unknown racer"),
    (["race", "--lr", "LAMB=0.1"], "LAMB cannot race"),
    (["race", "--lr", "fast"], "--lr takes"),
    (["race", "--out", "race.jpg"], "--out must end"),
    (["race", "--steps", "-3"], "steps"),
])
def test_race_command_rejects_bad_arguments(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_race_command_writes_a_picture_and_the_page(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    picture = tmp_path / "race.png"
    assert main(["race", "--landscape", "bowl", "--steps", "20", "--out", str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = tmp_path / "race.html"
    assert main(["race", "--landscape", "saddle", "--steps", "5", "--out", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '"first":"saddle"' in text
