#!/usr/bin/env python3
"""PyTorch 1.13 reference fixtures for conv2d and the 2-D pools (tests/test_conv.cpp).

    /usr/bin/python3 tools/gen_conv_fixtures.py [--out DIR]

Writes conv.json into DIR (default <repo>/tests/fixtures). Conventions as tools/gen_fixtures.py:
a tensor is {"shape", "data"} (row-major), non-finite numbers are the strings "nan", "inf",
"-inf", float32 values are stored as their exact doubles. Each case is computed in float32 and
float64 from the same (float32-representable) inputs. Deterministic.

cases:  {"op", "dtype", "args", "inputs": [x, weight?, bias?], "out", "grad_out", "grads"}:
        grads are d(sum(out * grad_out))/d(input) for each input.
        args: conv2d {stride, padding ([h, w] or "same"/"valid"), dilation, groups};
        max_pool2d {kernel, stride, padding, dilation, ceil_mode};
        avg_pool2d {kernel, stride, padding, ceil_mode, count_include_pad, divisor_override};
        adaptive_avg_pool2d {output_size}.
errors: {"op", "args", "shapes": [input shape, weight shape?, bias shape?], "message"}: torch's
        text (first line) for a bad call, which the C++ test repeats.
reprs:  {"module", "args", "repr"}: str(module).
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

GENERATOR = "tools/gen_conv_fixtures.py"
torch.manual_seed(1313)
DTYPES = [("float32", torch.float32), ("float64", torch.float64)]


from gen_fixtures import jfloat  # one home for the JSON conventions (non-finite floats as strings)


def jt(t):
    if t is None:
        return None
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [jfloat(v) for v in t.reshape(-1).tolist()]}


def rnd(*shape, lo=-2.0, hi=2.0):
    return (lo + (hi - lo) * torch.rand(tuple(shape), dtype=torch.float64)).float().double()


def ties(*shape, k=3):
    # small integers: many equal values in each pooling window
    return torch.randint(0, k, tuple(shape)).double()


def call(op, args, xs):
    if op == "conv2d":
        pad = args["padding"]
        pad = pad if isinstance(pad, str) else tuple(pad)
        return F.conv2d(xs[0], xs[1], xs[2] if len(xs) > 2 else None, tuple(args["stride"]), pad,
                        tuple(args["dilation"]), args["groups"])
    if op == "max_pool2d":
        return F.max_pool2d(xs[0], tuple(args["kernel"]), tuple(args["stride"]), tuple(args["padding"]),
                            tuple(args["dilation"]), args["ceil_mode"])
    if op == "avg_pool2d":
        return F.avg_pool2d(xs[0], tuple(args["kernel"]), tuple(args["stride"]), tuple(args["padding"]),
                            args["ceil_mode"], args["count_include_pad"], args["divisor_override"])
    if op == "adaptive_avg_pool2d":
        return F.adaptive_avg_pool2d(xs[0], tuple(args["output_size"]))
    raise ValueError(op)


def case(op, args, inputs):
    out = []
    gout_base = None
    for dname, dt in DTYPES:
        xs = [t.to(dt).clone().requires_grad_(True) for t in inputs]
        y = call(op, args, xs)
        if gout_base is None:
            gout_base = rnd(*y.shape)
        gout = gout_base.to(dt)
        (y * gout).sum().backward()
        out.append({"op": op, "dtype": dname, "args": args, "inputs": [jt(x) for x in xs], "out": jt(y),
                    "grad_out": jt(gout), "grads": [jt(x.grad) for x in xs]})
    return out


def conv(xs, ws, bias=True, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    inputs = [rnd(*xs), rnd(*ws, lo=-1, hi=1)]
    if bias:
        inputs.append(rnd(ws[0]))
    return case("conv2d", {"stride": list(stride), "padding": padding if isinstance(padding, str) else list(padding),
                           "dilation": list(dilation), "groups": groups}, inputs)


def maxp(x, kernel, stride=None, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    return case("max_pool2d", {"kernel": list(kernel), "stride": list(stride or kernel), "padding": list(padding),
                               "dilation": list(dilation), "ceil_mode": ceil_mode}, [x])


def avgp(x, kernel, stride=None, padding=(0, 0), ceil_mode=False, count_include_pad=True, divisor_override=None):
    return case("avg_pool2d", {"kernel": list(kernel), "stride": list(stride or kernel), "padding": list(padding),
                               "ceil_mode": ceil_mode, "count_include_pad": count_include_pad,
                               "divisor_override": divisor_override}, [x])


def cases():
    c = []
    # conv2d
    c += conv((2, 3, 5, 5), (4, 3, 3, 3))
    c += conv((2, 3, 5, 5), (4, 3, 3, 3), bias=False)
    c += conv((1, 1, 7, 6), (5, 1, 3, 3), padding=(1, 1))
    c += conv((2, 2, 7, 8), (3, 2, 3, 2), stride=(2, 3), padding=(1, 0))
    c += conv((2, 3, 9, 8), (2, 3, 3, 3), dilation=(2, 1), padding=(2, 1))
    c += conv((1, 2, 6, 7), (3, 2, 2, 4), padding="same")
    c += conv((2, 2, 6, 7), (3, 2, 3, 2), padding="same", dilation=(1, 2))
    c += conv((2, 2, 5, 6), (3, 2, 4, 4), padding="same")           # even kernel: extra pad right/bottom
    c += conv((1, 3, 6, 5), (2, 3, 3, 2), padding="valid")
    c += conv((2, 4, 6, 6), (6, 2, 3, 3), groups=2, padding=(1, 1))
    c += conv((2, 4, 7, 5), (4, 1, 3, 3), groups=4, stride=(2, 2), padding=(1, 1))   # depthwise
    c += conv((1, 6, 5, 5), (6, 2, 1, 3), groups=3, bias=False, padding=(0, 1))
    c += conv((3, 5, 5), (2, 3, 3, 3), padding=(1, 1))                               # unbatched
    c += conv((2, 3, 4, 4), (2, 3, 1, 1), stride=(3, 2))
    c += conv((2, 1, 11, 13), (4, 1, 5, 3), stride=(2, 2), padding=(2, 3), dilation=(2, 3))
    c += conv((2, 3, 2, 2), (2, 3, 1, 1), padding=(2, 1))
    # max_pool2d
    c += maxp(rnd(2, 3, 6, 6), (2, 2))
    c += maxp(rnd(1, 2, 7, 5), (3, 2), stride=(2, 1), padding=(1, 1))
    c += maxp(rnd(2, 2, 7, 7), (3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True)
    c += maxp(rnd(1, 2, 9, 8), (2, 3), stride=(1, 2), dilation=(2, 2), padding=(1, 1))
    c += maxp(rnd(2, 5, 5), (2, 2), ceil_mode=True)                                # unbatched
    c += maxp(ties(2, 3, 6, 6), (2, 2))                                            # ties: first max
    c += maxp(ties(1, 2, 7, 7, k=2), (3, 3), stride=(1, 1), padding=(1, 1))        # overlapping windows
    x = rnd(1, 2, 6, 6)
    x[0, 0, 0, 1] = float("nan"); x[0, 0, 1, 0] = float("nan"); x[0, 1, 3, 3] = float("-inf")
    x[0, 1, 4:6, 4:6] = float("-inf")
    c += maxp(x, (2, 2))                                                            # NaN, -inf
    c += maxp(rnd(1, 2, 7, 5), (2, 2))                                              # odd sizes, floor mode
    # avg_pool2d
    c += avgp(rnd(2, 3, 6, 6), (2, 2))
    c += avgp(rnd(1, 2, 7, 5), (3, 2), stride=(2, 1), padding=(1, 1))
    c += avgp(rnd(1, 2, 7, 5), (3, 2), stride=(2, 1), padding=(1, 1), count_include_pad=False)
    c += avgp(rnd(2, 2, 7, 7), (3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True)
    c += avgp(rnd(2, 2, 7, 7), (3, 3), stride=(2, 2), padding=(1, 1), ceil_mode=True, count_include_pad=False)
    c += avgp(rnd(1, 2, 8, 6), (2, 3), stride=(3, 2), padding=(1, 1), ceil_mode=True)
    c += avgp(rnd(2, 6, 5), (2, 2), divisor_override=3)                           # unbatched
    c += avgp(rnd(1, 1, 5, 5), (3, 3), stride=(2, 2), padding=(1, 1), divisor_override=2, ceil_mode=True)
    # adaptive_avg_pool2d
    for shape, osz in [((2, 3, 7, 7), (3, 3)), ((1, 2, 5, 8), (3, 5)), ((2, 4, 4), (4, 4)), ((1, 2, 3, 5), (5, 7)),
                       ((2, 3, 6, 5), (1, 1)), ((1, 1, 10, 9), (4, 2))]:
        c += case("adaptive_avg_pool2d", {"output_size": list(osz)}, [rnd(*shape)])
    return c


def errors():
    out = []

    def e(op, args, shapes):
        xs = [torch.zeros(s) for s in shapes]
        try:
            call(op, args, xs)
        except Exception as ex:
            out.append({"op": op, "args": args, "shapes": [list(s) for s in shapes],
                        "message": str(ex).split("\n")[0]})
            return
        raise SystemExit("no error for %s %s %s" % (op, args, shapes))

    cv = lambda **k: dict({"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1}, **k)
    e("conv2d", cv(), [(2, 4, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(groups=2), [(2, 4, 5, 5), (3, 2, 3, 3)])
    e("conv2d", cv(stride=[2, 1], padding="same"), [(2, 3, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(padding="foo"), [(2, 3, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(), [(2, 3, 2, 2), (8, 3, 3, 3)])
    e("conv2d", cv(padding=[1, 0], dilation=[1, 2]), [(2, 3, 4, 4), (8, 3, 3, 3)])
    e("conv2d", cv(), [(2, 3, 5, 5), (8, 3, 3, 3), (4,)])
    e("conv2d", cv(), [(2, 3), (8, 3, 3, 3)])
    e("conv2d", cv(), [(2, 3, 5, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(stride=[0, 1]), [(2, 3, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(dilation=[1, 0]), [(2, 3, 5, 5), (8, 3, 3, 3)])
    e("conv2d", cv(groups=0), [(2, 3, 5, 5), (8, 3, 3, 3)])
    mp = lambda **k: dict({"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0], "dilation": [1, 1],
                           "ceil_mode": False}, **k)
    e("max_pool2d", mp(kernel=[3, 3], stride=[3, 3]), [(1, 2, 2)])
    e("max_pool2d", mp(kernel=[3, 3], stride=[3, 3]), [(2, 1, 2, 2)])
    e("max_pool2d", mp(padding=[2, 2]), [(1, 4, 4)])
    e("max_pool2d", mp(), [(2, 2)])
    e("max_pool2d", mp(kernel=[0, 0], stride=[1, 1]), [(1, 1, 4, 4)])
    e("max_pool2d", mp(stride=[0, 0]), [(1, 1, 4, 4)])
    e("max_pool2d", mp(dilation=[0, 0]), [(1, 1, 4, 4)])
    e("max_pool2d", mp(), [(1, 0, 4, 4)])
    ap = lambda **k: dict({"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0], "ceil_mode": False,
                           "count_include_pad": True, "divisor_override": None}, **k)
    e("avg_pool2d", ap(kernel=[3, 3], stride=[3, 3]), [(1, 2, 2)])
    e("avg_pool2d", ap(padding=[2, 2]), [(1, 1, 4, 4)])
    e("avg_pool2d", ap(kernel=[0, 0], stride=[1, 1]), [(1, 1, 4, 4)])
    e("avg_pool2d", ap(stride=[0, 0]), [(1, 1, 4, 4)])
    e("avg_pool2d", ap(divisor_override=0), [(1, 1, 4, 4)])
    e("avg_pool2d", ap(), [(1, 4, 0)])
    e("adaptive_avg_pool2d", {"output_size": [2, 2]}, [(2, 2)])
    e("adaptive_avg_pool2d", {"output_size": [2, 2]}, [(1, 4, 0)])
    return out


def reprs():
    r = []

    def add(module, args, m):
        r.append({"module": module, "args": args, "repr": str(m)})

    add("Conv2d", {"in": 1, "out": 32, "kernel": [3, 3], "padding": [1, 1]}, nn.Conv2d(1, 32, 3, padding=1))
    add("Conv2d", {"in": 4, "out": 8, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2], "dilation": [2, 2],
                   "groups": 2, "bias": False},
        nn.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, groups=2, bias=False))
    add("Conv2d", {"in": 3, "out": 3, "kernel": [3, 3], "padding": "same"}, nn.Conv2d(3, 3, 3, padding="same"))
    add("Conv2d", {"in": 3, "out": 5, "kernel": [3, 3], "padding": "valid"}, nn.Conv2d(3, 5, 3, padding="valid"))
    add("Conv2d", {"in": 3, "out": 3, "kernel": [3, 3]}, nn.Conv2d(3, 3, 3))
    add("MaxPool2d", {"kernel": 2}, nn.MaxPool2d(2))
    add("MaxPool2d", {"kernel": [2, 3], "stride": 1, "padding": 1, "dilation": [1, 2], "ceil_mode": True},
        nn.MaxPool2d((2, 3), stride=1, padding=1, dilation=(1, 2), ceil_mode=True))
    add("AvgPool2d", {"kernel": 2}, nn.AvgPool2d(2))
    add("AvgPool2d", {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False,
                      "divisor_override": 4}, nn.AvgPool2d(3, 2, 1, True, False, 4))
    add("AdaptiveAvgPool2d", {"output_size": [5, 7]}, nn.AdaptiveAvgPool2d((5, 7)))
    add("AdaptiveAvgPool2d", {"output_size": 1}, nn.AdaptiveAvgPool2d(1))
    return r


def init_stats():
    # torch's Conv2d init bounds, for a check of the C++ draw's range: weight bound and bias bound
    m = nn.Conv2d(6, 4, (3, 5), groups=2)
    fan_in = m.weight.shape[1] * 3 * 5
    return {"in": 6, "out": 4, "kernel": [3, 5], "groups": 2,
            "weight_bound": math.sqrt(6.0 / ((1 + 5) * fan_in)), "bias_bound": 1 / math.sqrt(fan_in),
            "weight_shape": list(m.weight.shape), "bias_shape": list(m.bias.shape),
            "state_dict_keys": list(m.state_dict().keys())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    a = ap.parse_args()
    dumps = lambda o: json.dumps(o, allow_nan=False, separators=(",", ":"))
    cs, es, rs = cases(), errors(), reprs()
    parts = ["{", ' "generator": %s,' % dumps(GENERATOR), ' "torch_version": %s,' % dumps(torch.__version__),
             ' "init": %s,' % dumps(init_stats()),
             ' "reprs": [\n%s\n ],' % ",\n".join("  " + dumps(x) for x in rs),
             ' "errors": [\n%s\n ],' % ",\n".join("  " + dumps(x) for x in es),
             ' "cases": [\n%s\n ]' % ",\n".join("  " + dumps(x) for x in cs), "}"]
    path = os.path.join(a.out, "conv.json")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    print("wrote %s: %d cases, %d errors, %d reprs" % (path, len(cs), len(es), len(rs)))


if __name__ == "__main__":
    main()
