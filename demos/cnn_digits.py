"""A small CNN on the 8x8 digits: does SGD + momentum generalize better than Adam here?

The post says "SGD + momentum sometimes generalizes better for CNNs". This script puts the
claim to a fair test on the digits shipped with tinygrad_opt (1,797 images, 8x8 pixels):

1. the same CNN (two 3x3 convolutions with max pooling, then one Linear layer), the same
   batches and the same number of epochs for every optimizer;
2. each optimizer at its own best learning rate, chosen by a small sweep on a validation split
   carved out of the training images (the test images are never used to choose anything);
3. several seeds at that learning rate; train and test accuracy side by side, mean and spread.

A gap between optimizers counts only if it is larger than the spread across seeds.

    python demos/cnn_digits.py            # the full comparison (about a minute)
    python demos/cnn_digits.py --quick    # one seed, a shorter sweep (for the tests)
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import nn, no_grad, optim  # noqa: E402
from tinygrad_opt.data import batches, load_digits, train_test_split  # noqa: E402

# ----------------------------------------------------------------- configuration
SPLIT_SEED = 0  # the train/validation/test split
TEST_FRACTION = 0.2  # 360 of 1,797 images held out for the final numbers
VALIDATION_FRACTION = 0.2  # of the rest: used only to choose each optimizer's learning rate
EPOCHS = 15
BATCH_SIZE = 32
SEEDS = (0, 1, 2, 3, 4)  # initial weights and batch order
OPTIMIZERS = {  # name -> (make an optimizer from (params, lr), learning rates to sweep)
    "SGD+momentum": (lambda params, lr: optim.SGD(params, lr=lr, momentum=0.9), (0.01, 0.03, 0.1, 0.3)),
    "Adam": (lambda params, lr: optim.Adam(params, lr=lr), (1e-3, 3e-3, 1e-2, 3e-2)),
    "AdamW": (lambda params, lr: optim.AdamW(params, lr=lr, weight_decay=1e-2), (1e-3, 3e-3, 1e-2, 3e-2)),
}
QUICK = dict(epochs=4, seeds=(0,), sweep=2)  # --quick: 4 epochs, one seed, the middle 2 rates


def make_cnn(seed: int) -> nn.Module:
    """(N, 1, 8, 8) -> (N, 10): conv 3x3 -> ReLU -> pool 2 -> conv 3x3 -> ReLU -> pool 2 -> Linear."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),  # (N, 8, 4, 4)
        nn.Conv2d(8, 16, 3, padding=1, seed=rng), nn.ReLU(), nn.MaxPool2d(2),  # (N, 16, 2, 2)
        nn.Flatten(), nn.Linear(16 * 2 * 2, 10, seed=rng),  # (N, 64) -> (N, 10)
    )


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with no_grad():
        return float(np.mean(model(X).data.argmax(axis=1) == y))


def train(name: str, lr: float, seed: int, X: np.ndarray, y: np.ndarray, epochs: int) -> nn.Module:
    """Train a fresh CNN with optimizer `name` at `lr`; the seed fixes the weights and the batches."""
    model = make_cnn(seed)
    optimizer = OPTIMIZERS[name][0](model.parameters(), lr)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        for X_batch, y_batch in batches(X, y, BATCH_SIZE, seed=order):
            loss = nn.cross_entropy(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 4 epochs, 2 learning rates each")
    args = parser.parse_args()
    epochs, seeds = (QUICK["epochs"], QUICK["seeds"]) if args.quick else (EPOCHS, SEEDS)

    # 1. the data: pixels scaled to 0..1, shaped as 1-channel images
    X, y = load_digits()
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=TEST_FRACTION, seed=SPLIT_SEED)
    X_fit, X_val, y_fit, y_val = train_test_split(X_rest, y_rest, test_size=VALIDATION_FRACTION,
                                                  seed=SPLIT_SEED)
    print(f"digits: {len(X_rest)} training images ({len(X_fit)} to fit, {len(X_val)} to choose the learning "
          f"rate), {len(X_test)} held out for testing")
    n_params = sum(p.size for p in make_cnn(0).parameters())
    print(f"model: conv 3x3 (8) -> ReLU -> pool 2 -> conv 3x3 (16) -> ReLU -> pool 2 -> Linear 64->10, "
          f"{n_params:,} parameters")
    print(f"{epochs} epochs, batches of {BATCH_SIZE}, seeds {list(seeds)}\n")
    start = time.perf_counter()

    # 2. each optimizer's learning rate, chosen on the validation images (seed 0)
    best_lr = {}
    for name, (_, rates) in OPTIMIZERS.items():
        if args.quick:
            middle = len(rates) // 2 - QUICK["sweep"] // 2
            rates = rates[middle:middle + QUICK["sweep"]]
        scores = {lr: accuracy(train(name, lr, 0, X_fit, y_fit, epochs), X_val, y_val) for lr in rates}
        best_lr[name] = max(scores, key=scores.get)
        sweep = ", ".join(f"{lr:g}: {score:.1%}" for lr, score in scores.items())
        at_edge = not args.quick and best_lr[name] in (rates[0], rates[-1])
        edge = "  (at the edge of the sweep: widen it)" if at_edge else ""
        print(f"sweep {name:<13} validation accuracy {sweep}  -> lr {best_lr[name]:g}{edge}")

    # 3. every seed at that rate, trained on all training images; measured on the test images
    print(f"\n{'optimizer':<13} {'lr':>7}  {'train accuracy':>18}  {'test accuracy':>18}")
    results = {}
    for name, lr in best_lr.items():
        runs = [train(name, lr, seed, X_rest, y_rest, epochs) for seed in seeds]
        train_acc = np.array([accuracy(model, X_rest, y_rest) for model in runs])
        test_acc = np.array([accuracy(model, X_test, y_test) for model in runs])
        results[name] = test_acc
        print(f"{name:<13} {lr:>7g}  {train_acc.mean():>10.2%} ± {train_acc.std():.2%}  "
              f"{test_acc.mean():>10.2%} ± {test_acc.std():.2%}")

    # 4. the verdict: a gap counts only if it is larger than the spread across seeds
    sgd = results["SGD+momentum"]
    best_adaptive = max((n for n in results if n != "SGD+momentum"), key=lambda n: results[n].mean())
    gap = sgd.mean() - results[best_adaptive].mean()
    spread = max(sgd.std(), results[best_adaptive].std())
    if len(seeds) < 2:
        verdict = "one seed only: no verdict (run without --quick)"
    elif abs(gap) <= spread:
        verdict = (f"SGD+momentum and {best_adaptive} differ by {gap:+.2%} test accuracy, within the spread "
                   f"across seeds ({spread:.2%}): the post's claim does not show on this data")
    elif gap > 0:
        verdict = (f"SGD+momentum beats {best_adaptive} by {gap:.2%} test accuracy (spread {spread:.2%}): "
                   f"the claim shows here")
    else:
        verdict = (f"{best_adaptive} beats SGD+momentum by {-gap:.2%} test accuracy (spread {spread:.2%}): "
                   f"the post's claim does not show on this data")
    print(f"\n{verdict}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
