#!/usr/bin/python3
"""Writes experiments/testdata/sklearn_shufflesplit.json: the indices of scikit-learn's
ShuffleSplit(n_splits=5, test_size=0.1, random_state=0), for experiments.TestShuffleSplitMatchesScikitLearn.

Not run by `make test` (the fixture is committed). Regenerate with the Debian packages:
    apt-get install -y python3-sklearn && /usr/bin/python3 scripts/sklearn_shufflesplit.py
For n = 70000 (MNIST train+test pooled) it records, per split, the first and last 20 test and train indices and
a checksum of each full list (sum over i of (i+1)*index, modulo 2**61-1); for small n the full lists.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.model_selection import ShuffleSplit

MOD = 2**61 - 1


def checksum(idx):
    s = 0
    for i, v in enumerate(idx.tolist()):
        s = (s + (i + 1) * v) % MOD
    return s


def cases():
    out = []
    for n, random_state, full in [(70000, 0, False), (10, 0, True), (11, 0, True), (37, 3, True), (1000, 12345, False)]:
        splits = []
        for train, test in ShuffleSplit(n_splits=5, test_size=0.1, random_state=random_state).split(np.zeros(n)):
            s = {"n_train": len(train), "n_test": len(test),
                 "train_checksum": checksum(train), "test_checksum": checksum(test)}
            if full:
                s["train"], s["test"] = train.tolist(), test.tolist()
            else:
                s["train_head"], s["train_tail"] = train[:20].tolist(), train[-20:].tolist()
                s["test_head"], s["test_tail"] = test[:20].tolist(), test[-20:].tolist()
            splits.append(s)
        out.append({"n": n, "random_state": random_state, "test_size": 0.1, "splits": splits})
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, "experiments", "testdata", "sklearn_shufflesplit.json")
    doc = {"generator": "scripts/sklearn_shufflesplit.py", "sklearn": sklearn.__version__, "numpy": np.__version__,
           "checksum": "sum_i (i+1)*index_i mod 2**61-1", "cases": cases()}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("wrote", path, file=sys.stderr)


if __name__ == "__main__":
    main()
