#!/usr/bin/env python3
"""scikit-learn's four classic tables as CSV files with a header, and scikit-learn's accuracy on
the split train_csv made, for comparing examples/train_csv with it.

    /usr/bin/python3 tools/sklearn_tables.py write DIR
        writes DIR/iris.csv, wine.csv, breast_cancer.csv and digits.csv: one column per feature
        (named as sklearn names them, spaces as '_'), then 'target' holding the class *name*
        (setosa, class_0, malignant, 0..9), from Debian's python3-sklearn (which ships the raw
        tables without a usable header: its first line is "150,4,setosa,versicolor,virginica").

    /usr/bin/python3 tools/sklearn_tables.py baseline CSV SPLIT_JSON [--seed S]
        SPLIT_JSON is what `train_csv --split-out FILE` wrote ({"train": [rows], "test": [rows]},
        0-based data rows). Standardises the features with the training rows' mean and std, as
        train_csv does, and prints the test accuracy of LogisticRegression and MLPClassifier
        (hidden 64,32, adam, early stopping off, 500 iterations), with their fit times.

Only the project's tools use this; the test suite never runs Python.
"""
import argparse
import csv
import json
import os
import sys
import time

import numpy as np
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

LOADERS = {
    "iris": datasets.load_iris,
    "wine": datasets.load_wine,
    "breast_cancer": datasets.load_breast_cancer,
    "digits": datasets.load_digits,
}


def write_tables(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, load in LOADERS.items():
        d = load()
        features = [f.replace(" ", "_") for f in d.feature_names]
        names = [str(t) for t in d.target_names]
        path = os.path.join(out_dir, name + ".csv")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(features + ["target"])
            for x, y in zip(d.data, d.target):
                w.writerow([repr(float(v)) if not float(v).is_integer() else str(int(v)) for v in x] + [names[y]])
        print(f"{path}: {len(d.data)} rows, {len(features)} features, {len(names)} classes")


def baseline(csv_path, split_path, seed):
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    label = header.index("target")
    x = np.array([[float(v) for i, v in enumerate(r) if i != label] for r in rows])
    y = np.array([r[label] for r in rows])
    with open(split_path) as f:
        split = json.load(f)
    tr, te = np.array(split["train"]), np.array(split["test"])
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    std[std == 0] = 1.0
    xs = (x - mean) / std
    for name, model in [
        ("LogisticRegression", LogisticRegression(max_iter=5000)),
        ("MLPClassifier(64,32)", MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=500, random_state=seed)),
    ]:
        t0 = time.perf_counter()
        model.fit(xs[tr], y[tr])
        secs = time.perf_counter() - t0
        acc = float((model.predict(xs[te]) == y[te]).mean())
        print(f"{os.path.basename(csv_path)}: {name} test accuracy {acc:.4f} ({len(te)} test rows, fit {secs:.2f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("dir")
    b = sub.add_parser("baseline")
    b.add_argument("csv")
    b.add_argument("split")
    b.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.cmd == "write":
        write_tables(a.dir)
    else:
        baseline(a.csv, a.split, a.seed)


if __name__ == "__main__":
    sys.exit(main())
