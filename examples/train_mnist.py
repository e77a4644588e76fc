"""Train the classic 784-100-10 spiking network on MNIST (T = 25 steps, rate coding) and test it.

    python examples/train_mnist.py                    # 5 epochs: about 97.7 % test accuracy
    python examples/train_mnist.py --epochs 1 --out runs/quick

The recipe is SNNClassifier's defaults, the same as ``spikingnn train``'s: leak beta 0.95, fast-sigmoid
surrogate of slope 5, Adam at 1.5e-3 with a cosine schedule, batches of 128, and the cross-entropy of the output
membrane averaged over time (``ce_mem_mean``): the 10 output neurons are leaky integrators that never spike,
and the class with the highest time-averaged membrane wins. Every epoch prints its progress and a summary line
and saves a checkpoint (``--out``/model.npz); the saved model is then used with ``spikingnn.load``,
``spikingnn predict --model ... --image my_digit.png`` or the scripts in ``visualizations/`` (``--model``).
The same run from the command line: ``spikingnn train --epochs 5 --out runs/mnist``.
"""
import argparse
from pathlib import Path

from spikingnn.datasets import ENV_VAR, load_mnist
from spikingnn.serialization import load, save
from spikingnn.training.model import SNNClassifier


def main(argv=None):
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--epochs", type=int, default=5, help="epochs to train (default 5)")
    parser.add_argument("--out", default="runs/train_mnist", help="folder for the model (default runs/train_mnist)")
    parser.add_argument("--data-dir", help="folder with the four MNIST IDX files (default: the usual places, "
                                           f"${ENV_VAR}/mnist among them, else a download)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be >= 1; got {args.epochs}")
    try:
        X_train, y_train = load_mnist("train", data_dir=args.data_dir)
        X_test, y_test = load_mnist("test", data_dir=args.data_dir)
    except FileNotFoundError:
        # the loader's message lists every place and mirror tried; here one line says what to do
        parser.exit(2, f"{parser.prog}: error: MNIST is not on this machine and could not be downloaded; pass "
                       f"--data-dir DIR with the four IDX files, or set {ENV_VAR}=DIR with them in DIR/mnist\n")
    except ValueError as err:                 # a corrupt or truncated IDX file, named by the loader
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    checkpoint = Path(args.out) / "model.npz"
    model = SNNClassifier(epochs=args.epochs)          # the defaults: 784-100-10, T = 25, random_state 0
    model.fit(X_train, y_train, validation_data=(X_test, y_test),
              callbacks=[lambda model, metrics: save(model, checkpoint)])
    accuracy = load(checkpoint).score(X_test, y_test)
    print(f"test accuracy after {model.epoch_} epochs: {accuracy:.2%}  (model saved to {checkpoint})")


if __name__ == "__main__":
    main()
