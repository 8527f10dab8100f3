#!/usr/bin/env python3
"""Reference fixtures for the data/ergonomics tests (tests/test_data.cpp, tests/test_csv.cpp).

    /usr/bin/python3 tools/gen_data_fixtures.py [--out DIR]

Writes data.json into DIR (default <repo>/tests/fixtures), with the conventions of
tools/gen_fixtures.py (tensors as {"shape", "data"}, non-finite numbers as strings):
  * random_split: the subset lengths torch.utils.data.random_split (1.13) gives for counts and
    fractions, or its error message;
  * loss_options: F.cross_entropy / F.nll_loss with weight, ignore_index, reduction and
    label_smoothing, float32 and float64: loss and input gradient;
  * accuracy: (logits.argmax(1) == target).float().mean() for logits with ties and NaN;
  * csv: Python's csv module (strict) splitting RFC 4180 texts into rows of fields.
Deterministic (torch seeded with 1234).
"""

import argparse
import csv
import io
import json
import math
import os

import torch
import torch.nn.functional as F
from torch.utils.data import random_split

GENERATOR = "tools/gen_data_fixtures.py"


from gen_fixtures import jfloat as num  # one home for the JSON conventions (non-finite floats as strings)


def tensor(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [num(v) for v in t.reshape(-1).tolist()]}


def itensor(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


def split_cases():
    cases = []
    for n, lengths in [
        (10, [0.5, 0.5]),
        (10, [0.3, 0.3, 0.4]),
        (11, [0.5, 0.5]),
        (7, [0.1, 0.2, 0.7]),
        (5, [1.0 / 3, 1.0 / 3, 1.0 / 3]),
        (3, [0.1, 0.1, 0.1, 0.7]),
        (100, [0.8, 0.1, 0.1]),
        (1001, [0.7, 0.15, 0.15]),
        (5, [1, 0]),  # sums to 1: read as fractions by torch, so [5, 0], not counts
        (1, [1]),
        (10, [3, 7]),
        (10, [10]),
        (10, [3, 6]),  # counts not summing to n
        (10, [1.5, -0.5]),  # sums to 1: a fraction out of [0, 1]
        (0, [0.5, 0.5]),
    ]:
        c = {"n": n, "lengths": [float(v) for v in lengths]}
        try:
            parts = random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
            c["result"] = [len(p) for p in parts]
        except ValueError as e:
            c["error"] = str(e)
        cases.append(c)
    return cases


def loss_cases():
    torch.manual_seed(1234)
    cases = []
    specs = [
        # (N, C, weight?, ignore_index, reduction, label_smoothing, ignored positions)
        (5, 4, True, -100, "mean", 0.0, []),
        (5, 4, True, 2, "sum", 0.1, [1]),
        (6, 3, False, 0, "mean", 0.25, [0, 3]),
        (4, 5, True, -1, "none", 0.0, [2]),
        (3, 3, True, 1, "mean", 0.0, [0, 1, 2]),  # everything ignored: NaN, as torch
    ]
    for dtype in (torch.float32, torch.float64):
        for N, C, has_w, ii, red, ls, ignored in specs:
            x = torch.randn(N, C, dtype=dtype)
            y = torch.randint(0, C, (N,))
            for i in ignored:
                y[i] = ii
            w = torch.rand(C, dtype=dtype) + 0.5 if has_w else None
            xc = x.clone().requires_grad_(True)
            ce = F.cross_entropy(xc, y, weight=w, ignore_index=ii, reduction=red, label_smoothing=ls)
            ce.sum().backward()
            xn = torch.log_softmax(x, 1).detach().requires_grad_(True)
            nl = F.nll_loss(xn, y, weight=w, ignore_index=ii, reduction=red)
            nl.sum().backward()
            cases.append({
                "dtype": "float32" if dtype == torch.float32 else "float64",
                "input": tensor(x), "target": itensor(y), "weight": tensor(w) if w is not None else None,
                "ignore_index": ii, "reduction": red, "label_smoothing": ls,
                "ce": tensor(ce), "ce_grad": tensor(xc.grad),
                "nll_input": tensor(xn), "nll": tensor(nl), "nll_grad": tensor(xn.grad),
            })
    return cases


def accuracy_cases():
    nan = float("nan")
    cases = []
    for logits, target in [
        ([[1.0, 2.0, 0.5], [3.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2.0, 2.0, 1.0]], [1, 0, 1, 1]),  # a tie: first max
        ([[nan, 1.0], [0.0, nan], [1.0, 0.0]], [0, 1, 1]),  # NaN counts as the maximum
        ([[0.1, 0.9]], [1]),
    ]:
        x = torch.tensor(logits, dtype=torch.float64)
        t = torch.tensor(target)
        pred = x.argmax(1)
        cases.append({"logits": tensor(x), "target": itensor(t), "predictions": itensor(pred),
                      "accuracy": num((pred == t).float().mean())})
    return cases


def csv_cases():
    texts = [
        'a,b,c\n1,2,3\n4,5,6\n',
        'name,quote\n"Smith, J","He said ""hi"""\n',
        'x,y\r\n"multi\nline",2\r\n"crlf\r\ninside",3\r\n',
        'a,b\n,\n"",x\n',
        'h1,h2\n"a""b",c\n"",""\n',
        "k,v\n5'10\",tall\n",
        'a;b\n"1;2";3\n',
    ]
    out = []
    for t in texts:
        delim = ";" if t.startswith("a;b") else ","
        rows = list(csv.reader(io.StringIO(t, newline=""), delimiter=delim, strict=True))
        out.append({"text": t, "delimiter": delim, "rows": rows})
    return out


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures"))
    a = ap.parse_args()
    doc = {"generator": GENERATOR, "torch": torch.__version__, "random_split": split_cases(),
           "loss_options": loss_cases(), "accuracy": accuracy_cases(), "csv": csv_cases()}
    with open(os.path.join(a.out, "data.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
