#!/usr/bin/env python3
"""PyTorch 1.13 reference numbers for `explain_cross_entropy --loss NAME --json` (tests/test_explainer.cpp).

    /usr/bin/python3 tools/gen_explain_loss_fixtures.py [--out DIR]

The explainer prints {"loss", "grad"}: the loss as the function returns it, and the gradient of
the SUM of what it returns w.r.t. the input (what loss.sum().backward() gives), in float64. The
cases are the float64 cases of tests/fixtures/losses.json (made by tools/gen_loss_fixtures.py:
every loss, every reduction, options, broadcasting, extreme and non-finite inputs), recomputed
here with a gradient of ones. Writes explain_losses.json into DIR (default <repo>/tests/fixtures):

cases: {"loss", "args", "inputs": {name: tensor}, "out", "grad"}, tensors as {"shape", "data"},
       non-finite numbers as the strings "nan", "inf", "-inf" (the conventions of gen_fixtures.py).
"""
import argparse
import json
import os
import warnings

import torch

from gen_fixtures import jfloat
from gen_loss_fixtures import call

GENERATOR = "tools/gen_explain_loss_fixtures.py"
warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))


def tensor(j):
    data = [float(v) for v in j["data"]]  # float("nan"), float("inf") read the strings
    return torch.tensor(data, dtype=torch.float64).reshape(j["shape"])


def jt(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [jfloat(v) for v in t.reshape(-1).tolist()]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fixtures"))
    a = ap.parse_args()
    with open(os.path.join(HERE, "..", "tests", "fixtures", "losses.json")) as f:
        source = json.load(f)["cases"]
    out = []
    for c in source:
        if c["dtype"] != "float64":
            continue
        xs = {k: tensor(v) for k, v in c["inputs"].items()}
        xs["input"].requires_grad_(True)
        y = call(c["loss"], c["args"], xs)
        y.sum().backward()
        out.append({"loss": c["loss"], "args": c["args"], "inputs": c["inputs"], "out": jt(y), "grad": jt(xs["input"].grad)})
    dumps = lambda o: json.dumps(o, allow_nan=False, separators=(",", ":"))
    path = os.path.join(a.out, "explain_losses.json")
    with open(path, "w") as f:
        f.write('{\n "generator": %s,\n "torch_version": %s,\n "cases": [\n%s\n ]\n}\n'
                % (dumps(GENERATOR), dumps(torch.__version__), ",\n".join("  " + dumps(x) for x in out)))
    print("wrote %s: %d cases" % (path, len(out)))


if __name__ == "__main__":
    main()
