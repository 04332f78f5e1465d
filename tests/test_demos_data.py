"""The shipped digits data (tinygrad_opt.data.load_digits), and demos/digits.py and demos/post.py
run as a user would run them, asserting on the numbers they print."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_opt.data import DIGITS_FILE, load_digits
from tinygrad_opt.race import post

ROOT = Path(__file__).resolve().parent.parent


def run_demo(name: str, *args: str, pythonpath: tuple[Path, ...] = ()) -> str:
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(str(p) for p in (*pythonpath, ROOT)))
    done = subprocess.run([sys.executable, str(ROOT / "demos" / name), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ------------------------------------------------------------------ load_digits
def test_load_digits_shapes_values_and_class_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.array_equal(X, np.round(X)) and X.min() == 0 and X.max() == 16  # block counts 0..16
    # the class distribution of UCI's optdigits.tes, as its description lists it
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # every image has ink, and no two classes have the same mean image
    assert np.all(X.sum(axis=1) > 0)
    means = np.stack([X[y == k].mean(axis=0) for k in range(10)])
    assert len({tuple(row) for row in np.round(means, 6)}) == 10


def test_the_shipped_file_holds_no_pickles():
    with np.load(DIGITS_FILE, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (1797, 8, 8)
        assert archive["labels"].dtype == np.uint8 and archive["labels"].shape == (1797,)


def test_load_digits_equals_scikit_learns_copy():
    datasets = pytest.importorskip("sklearn.datasets")
    X_sklearn, y_sklearn = datasets.load_digits(return_X_y=True)
    X, y = load_digits()
    assert np.array_equal(X, X_sklearn)
    assert np.array_equal(y, y_sklearn)


def test_the_datasets_readme_states_source_and_licence():
    readme = (ROOT / "tinygrad_opt" / "data" / "README.md").read_text()
    for fact in ("Alpaydin", "Kaynak", "CC BY 4.0", "10.24432/C50P49", "optdigits.tes"):
        assert fact in readme
        assert fact in load_digits.__doc__


# ------------------------------------------------------------------ demos/digits.py
EPOCH_LINE = re.compile(r"^epoch +(\d+)  train loss (\d+\.\d+)  train accuracy +(\d+\.\d)%  "
                        r"test accuracy +(\d+\.\d)%$", re.MULTILINE)
FINAL_LINE = re.compile(r"^test accuracy: (\d+\.\d\d)% \((\d+) of (\d+) right\)", re.MULTILINE)


def digits_results(out: str) -> tuple[list[tuple[str, ...]], float, int, int]:
    epochs = EPOCH_LINE.findall(out)
    final = FINAL_LINE.search(out)
    assert epochs and final, out
    return epochs, float(final.group(1)), int(final.group(2)), int(final.group(3))


def test_digits_quick_without_scikit_learn_uses_the_shipped_copy(tmp_path):
    # A package named sklearn that fails to import stands in for a machine without scikit-learn.
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "__init__.py").write_text("raise ImportError('no scikit-learn here')\n")
    out = run_demo("digits.py", "--quick", pythonpath=(tmp_path,))
    assert "from the copy shipped with tinygrad_opt" in out
    assert "split: 1437 to train on, 360 held out for testing" in out
    epochs, test_accuracy, right, total = digits_results(out)
    assert [int(e[0]) for e in epochs] == [1, 2, 3]
    losses = [float(e[1]) for e in epochs]
    assert losses[-1] < losses[0] / 2  # the training loss falls
    assert total == 360 and right == round(test_accuracy / 100 * total)
    assert test_accuracy >= 90.0  # three epochs already get most digits right
    # the mistakes are drawn: a caption per image, then 8 rows of 8 two-character pixels
    caption = re.search(r"^true (\d), said (\d)", out, re.MULTILINE)
    assert caption and caption.group(1) != caption.group(2)
    rows = re.findall(r"^\|([ .:\-=+*#%@]{16})\|", out, re.MULTILINE)
    assert len(rows) == 8


def test_digits_full_run_reaches_95_percent_on_the_held_out_images():
    out = run_demo("digits.py")
    epochs, test_accuracy, right, total = digits_results(out)
    assert len(epochs) == 30
    assert test_accuracy >= 95.0
    assert right == round(test_accuracy / 100 * total)
    misclassified = re.search(r"^(\d+) test images misclassified", out, re.MULTILINE)
    assert misclassified is None or int(misclassified.group(1)) == total - right


# ------------------------------------------------------------------ demos/post.py
NUMBER = r"(-?\d+\.\d+)"
POSITION_AND_LOSS = rf"\( *{NUMBER}, +{NUMBER}\) +{NUMBER}"
ROW = re.compile(rf"^ +(\d+)  {POSITION_AND_LOSS}   {POSITION_AND_LOSS}  (yes|NO)$", re.MULTILINE)


def sections(out: str) -> dict[str, str]:
    """The demo's output cut at its numbered titles: '1. The bowl...' -> the text up to the next one."""
    parts = re.split(r"^(\d\. [^\n]*)$", out, flags=re.MULTILINE)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def test_post_quick_compares_each_experiment_and_draws_the_showdown(tmp_path):
    out = run_demo("post.py", "--quick", "--out", str(tmp_path))
    parts = sections(out)
    bowl = next(body for title, body in parts.items() if title.startswith("1. The bowl"))
    rows = ROW.findall(bowl)
    assert [int(r[0]) for r in rows] == sorted(post.POST_BOWL)
    for step, px, py, post_loss, x, y, loss, same in rows:
        k = int(step)
        assert ((float(px), float(py)), float(post_loss)) == post.POST_BOWL[k]  # the post's numbers
        # the real column against the closed form: each step multiplies (x, y) by 1 - 2 * 0.1
        assert float(x) == pytest.approx(4 * 0.8**k, abs=5e-4)
        assert float(y) == pytest.approx(3 * 0.8**k, abs=5e-4)
        assert float(loss) == pytest.approx(25 * 0.64**k, abs=5e-5)
        assert same == "yes"
    assert "verdict: the bowl matches the post (4 printed rows checked)" in out

    sgd = next(body for title, body in parts.items() if title.startswith("2. The ravine: SGD"))
    rows = ROW.findall(sgd)
    assert len(rows) == 6
    for step, _, _, _, x, y, _, same in rows:
        k = int(step)
        assert float(x) == pytest.approx(0.0 if k else 1.0, abs=1e-4)  # x: factor 1 - 0.01 * 100 = 0
        assert float(y) == pytest.approx(8 * 0.98**k, abs=5e-5)  # y: factor 1 - 0.01 * 2
        assert same == ("yes" if k == 0 else "NO")  # the post's y are off from step 5 on
    assert "verdict: the ravine (SGD) does NOT match the post" in out
    assert "verdict: the ravine (Momentum) does NOT match the post" in out
    assert f"sqrt(beta) = {0.9 ** 0.5:.4f}" in out
    assert f"shrinks by {(0.3237 / 8) ** (1 / 25):.4f} a step" in out

    showdown = re.findall(r"^(SGD|Momentum|RMSProp|Adam) +([\d.]+) +([\d.]+) +\(([-\d.]+), ([-\d.]+)\) +"
                          r"([\d.]+) +\(([-\d.]+), ([-\d.]+)\)  (yes|NO)$", out, re.MULTILINE)
    assert [row[0] for row in showdown] == list(post.POST_SHOWDOWN)
    for name, lr, post_loss, *_, x, _, same in showdown:
        assert float(lr) == post.SHOWDOWN_RATES[name]
        assert float(post_loss) == post.POST_SHOWDOWN[name][0]
        assert float(x) < 0 and same == "NO"  # every racer ends left of x = 0, far from (3, 0.5)
    assert "verdict: the showdown does NOT match the post (4 printed rows checked)" in out

    assert not any(title.startswith("4.") for title in parts)  # --quick skips the sweeps
    picture = tmp_path / "post_showdown.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture}" in out


def test_post_full_run_tests_the_lesson_fairly(tmp_path):
    out = run_demo("post.py", "--out", str(tmp_path))
    fair = [(title, body) for title, body in sections(out).items() if title.startswith("4.")]
    assert len(fair) == 2
    for _, body in fair:
        ranking = re.findall(r"^   (\w+) +best lr ([\d.e-]+) +final loss ([\d.e+-]+)$", body, re.MULTILINE)
        assert sorted(name for name, _, _ in ranking) == sorted(post.SHOWDOWN_RATES)
        assert all(float(lr) in post.LR_GRID for _, lr, _ in ranking)
        losses = [float(loss) for _, _, loss in ranking]
        assert losses == sorted(losses)
        adaptive_first = {name for name, _, _ in ranking[:2]} == {"RMSProp", "Adam"}
        assert ("verdict: adaptive methods win here" in body) == adaptive_first
    assert "verdict: adaptive methods win here" in fair[0][1]  # the ravine, 30 steps
    assert "verdict: adaptive methods do NOT win here" in fair[1][1]  # the showdown surface
