"""demos/transformer_lessons.py run as a user would run it (--quick), asserting on the numbers it prints."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def number(text: str) -> float:
    return math.nan if text == "-" else float(text)


def test_transformer_lessons_quick_prints_the_three_lessons():
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(ROOT / "demos" / "transformer_lessons.py"), "--quick"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    _, rest = out.split("\n1. ")
    lesson_1, rest = rest.split("\n2. ")
    lesson_2, lesson_3 = rest.split("\n3. ")
    start = math.log(69)  # an untrained model: about uniform over the 69 characters

    # 1. one row per peak rate: spike and held-out loss with and without warmup
    value = r"([\d.]+|-)"
    rows = re.findall(rf"^ *([\d.e-]+) +{value} +{value} +{value} +{value}$", lesson_1, re.MULTILINE)
    assert [float(row[0]) for row in rows] == [0.01, 0.03, 0.1]
    for _, spike_on, held_on, spike_off, held_off in rows:
        for spike, held in ((spike_on, held_on), (spike_off, held_off)):
            assert spike == "-" or float(spike) > 0.5  # the largest loss over the first: at least not absurd
            assert held == "-" or float(held) < start  # every finished run learnt something
    # the tuned rate with warmup never rises above where it started
    assert float(rows[0][1]) <= 1.0 + 1e-9

    # 2. decay: the rows, and decay shrinking the weights against no decay at all
    rows = {(kind.strip(), float(lam)): (number(held), float(norm)) for kind, lam, held, norm in
            re.findall(r"^(none|AdamW|Adam \+ L2) +([\d.]+) +([\d.]+|-) +([\d.]+)$", lesson_2, re.MULTILINE)}
    assert set(rows) == {("none", 0.0), ("AdamW", 0.1), ("Adam + L2", 0.1), ("AdamW", 1.0),
                         ("Adam + L2", 1.0)}
    assert rows["AdamW", 1.0][1] < rows["none", 0.0][1]
    assert rows["Adam + L2", 1.0][1] < rows["none", 0.0][1]
    assert all(held < start for held, _ in rows.values())

    # 3. clipping: norms before clipping, how many steps were above 1, the same count of steps
    rows = re.findall(r"^ *([\d.e-]+) +(on|off) +([\d.]+|-) +([\d.]+|-) +([\d.]+) +([\d.]+) +(\d+) of (\d+)$",
                      lesson_3, re.MULTILINE)
    assert [(float(lr), clip) for lr, clip, *_ in rows] == [(0.01, "on"), (0.01, "off"), (0.03, "on"),
                                                            (0.03, "off")]
    for _, _, _, _, median, largest, above, steps in rows:
        assert 0 < float(median) <= float(largest) and int(steps) == 20
        assert (int(above) > 0) == (float(largest) > 1.0)
