"""Handwritten digits: a real data set, classified by a small MLP trained with AdamW.

1,797 images of the digits 0..9, each 8x8 pixels with values 0..16 (the test set of the UCI
"Optical Recognition of Handwritten Digits" data, E. Alpaydin and C. Kaynak, 1998, CC BY 4.0;
see tinygrad_opt/data/README.md). scikit-learn's bundled copy is used when scikit-learn is
installed, otherwise the identical copy shipped with tinygrad_opt: nothing is downloaded.

A fifth of the images, drawn with a fixed seed, is held out and never trained on: the test
accuracy printed at the end is measured on those images only. The network is a batched MLP
(64 -> 64 -> 10, ReLU) trained on mini-batches with cross-entropy and AdamW. At the end a few
of the test images it got wrong are drawn in ASCII, with what it answered.

    python demos/digits.py                # the full run (a few seconds)
    python demos/digits.py --quick        # a few epochs, for the tests
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from tinygrad_opt import nn, no_grad, optim  # noqa: E402
from tinygrad_opt.data import batches, train_test_split  # noqa: E402

# ----------------------------------------------------------------- configuration
SEED = 0  # seeds the train/test split, the initial weights and the order of the mini-batches
TEST_FRACTION = 0.2  # share of the images held out for testing (360 of 1,797)
HIDDEN = [64]  # hidden layer sizes: MLP(64, [64, 10])
ACTIVATION = "relu"
EPOCHS = 30  # passes over the training images
QUICK_EPOCHS = 3  # with --quick
BATCH_SIZE = 32  # images per step
LR = 3e-3  # AdamW's learning rate
WEIGHT_DECAY = 1e-4  # AdamW's decoupled weight decay
SHOW_MISTAKES = 4  # misclassified test images drawn at the end


def load() -> tuple[np.ndarray, np.ndarray, str]:
    """(X, y, where from): X float (1797, 64) with pixels 0..16, y int (1797,)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        from tinygrad_opt.data import load_digits

        X, y = load_digits()
        return X, y, "the copy shipped with tinygrad_opt"
    X, y = load_digits(return_X_y=True)
    return X, y, "scikit-learn's bundled copy"


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """The share of images whose highest logit is the right digit."""
    with no_grad():
        logits = model(X).data
    return float(np.mean(logits.argmax(axis=1) == y))


def ascii_digit(pixels: np.ndarray) -> list[str]:
    """An 8x8 image (values 0..16) as 8 lines of text, darker characters for more ink."""
    shades = " .:-=+*#%@"
    levels = np.round(pixels.reshape(8, 8) / 16 * (len(shades) - 1)).astype(int)
    return ["".join(2 * shades[level] for level in row) for row in levels]  # 2 characters: squarer pixels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs (for the tests)")
    args = parser.parse_args()
    epochs = QUICK_EPOCHS if args.quick else EPOCHS

    # 1. the data: pixels scaled from 0..16 to 0..1, a fixed held-out test split
    X, y, source = load()
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=TEST_FRACTION, seed=SEED)
    print(f"digits: {len(X):,} images of 8x8 pixels, 10 classes, from {source}")
    print(f"split: {len(X_train)} to train on, {len(X_test)} held out for testing (seed {SEED})")

    # 2. the model and the optimizer
    model = nn.MLP(64, [*HIDDEN, 10], activation=ACTIVATION, seed=SEED)
    optimizer = optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    print(f"model: {model!r}, {sum(p.size for p in model.parameters()):,} parameters; "
          f"AdamW lr {LR}, weight decay {WEIGHT_DECAY}, batches of {BATCH_SIZE}")

    # 3. training: one line per epoch. The test accuracy is printed to watch it, never used to
    #    choose anything: the number of epochs and every setting above are fixed in advance.
    rng = np.random.default_rng(SEED)  # a new batch order every epoch
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        losses = []
        for X_batch, y_batch in batches(X_train, y_train, BATCH_SIZE, seed=rng):
            loss = nn.cross_entropy(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(f"epoch {epoch:3d}  train loss {np.mean(losses):.4f}  "
              f"train accuracy {accuracy(model, X_train, y_train):6.1%}  "
              f"test accuracy {accuracy(model, X_test, y_test):6.1%}")
    seconds = time.perf_counter() - start

    # 4. what we measured, on images the model never saw
    test_accuracy = accuracy(model, X_test, y_test)
    with no_grad():
        predictions = model(X_test).data.argmax(axis=1)
    wrong = np.flatnonzero(predictions != y_test)
    print(f"test accuracy: {test_accuracy:.2%} ({len(y_test) - len(wrong)} of {len(y_test)} right) "
          f"after {epochs} epochs in {seconds:.1f} s")

    # 5. a few of its mistakes, drawn
    if len(wrong):
        shown = wrong[:SHOW_MISTAKES]
        print(f"\n{len(wrong)} test images misclassified; the first {len(shown)}:")
        drawings = [ascii_digit(X_test[i] * 16) for i in shown]
        print("   ".join(f"{f'true {y_test[i]}, said {predictions[i]}':<18}" for i in shown).rstrip())
        for row in range(8):
            print("   ".join(f"|{drawing[row]}|" for drawing in drawings))


if __name__ == "__main__":
    main()
