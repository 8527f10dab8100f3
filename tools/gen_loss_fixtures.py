#!/usr/bin/env python3
"""PyTorch 1.13 reference fixtures for the element-wise losses (tests/test_losses.cpp).

    /usr/bin/python3 tools/gen_loss_fixtures.py [--out DIR]

Writes losses.json into DIR (default <repo>/tests/fixtures). Conventions as tools/gen_fixtures.py:
a tensor is {"shape", "data"} (row-major), non-finite numbers are the strings "nan", "inf",
"-inf", float32 values are stored as their exact doubles. Each case is computed in float32 and
float64; random inputs are rounded to float32 first, so both precisions see the same numbers,
hand-written extremes are kept as written (1e200 is inf in float32, 1e-300 is 0). Deterministic.

cases:  {"loss", "dtype", "tag", "args", "inputs": {name: tensor}, "grad_wrt": [names], "out",
         "grad_out", "grads": {name: tensor}}: loss is torch.nn.functional's name; args holds
         reduction and the loss's options (beta, delta, log_target); inputs are input, target
         and optionally weight, pos_weight; grads are d(sum(out * grad_out))/d(name) for the
         names in grad_wrt (those inputs require grad, the others do not).
errors: {"loss", "args", "inputs", "requires_grad": [names], "when": "forward" | "backward",
         "type", "message"}: torch's exception (first line) for a bad call, which the C++ test
         expects after the function's name.
reprs:  {"module", "args", "repr"}: str(module).
"""
import argparse
import json
import math
import os
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_fixtures import jfloat  # one home for the JSON conventions (non-finite floats as strings)

GENERATOR = "tools/gen_loss_fixtures.py"
DTYPES = [("float32", torch.float32), ("float64", torch.float64)]
REDUCTIONS = ["none", "mean", "sum"]
NAN, INF = float("nan"), float("inf")
warnings.simplefilter("ignore")  # torch warns on broadcast targets and kl_div's 'mean'
torch.manual_seed(1414)


def jt(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "data": [jfloat(v) for v in t.reshape(-1).tolist()]}


def f32(t):
    # float32-representable values (inf where float32 overflows), held in float64
    return t.to(torch.float32).to(torch.float64)


def rnd(*shape, lo=-2.0, hi=2.0):
    return f32(lo + (hi - lo) * torch.rand(tuple(shape), dtype=torch.float64))


def T(values):
    # hand-written values stay as written in float64 (1e200, 1e-300, 1 - 1e-16); float32 rounds them
    return torch.tensor(values, dtype=torch.float64)


def call(loss, args, xs):
    red = args.get("reduction", "mean")
    x, t = xs["input"], xs["target"]
    w, pw = xs.get("weight"), xs.get("pos_weight")
    if loss == "binary_cross_entropy":
        return F.binary_cross_entropy(x, t, w, reduction=red)
    if loss == "binary_cross_entropy_with_logits":
        return F.binary_cross_entropy_with_logits(x, t, w, reduction=red, pos_weight=pw)
    if loss == "mse_loss":
        return F.mse_loss(x, t, reduction=red)
    if loss == "l1_loss":
        return F.l1_loss(x, t, reduction=red)
    if loss == "smooth_l1_loss":
        return F.smooth_l1_loss(x, t, reduction=red, beta=args.get("beta", 1.0))
    if loss == "huber_loss":
        return F.huber_loss(x, t, reduction=red, delta=args.get("delta", 1.0))
    if loss == "kl_div":
        return F.kl_div(x, t, reduction=red, log_target=args.get("log_target", False))
    if loss == "soft_margin_loss":
        return F.soft_margin_loss(x, t, reduction=red)
    if loss == "multilabel_soft_margin_loss":
        return F.multilabel_soft_margin_loss(x, t, w, reduction=red)
    raise ValueError(loss)


# Which inputs torch 1.13 differentiates, per loss (the rest must not require grad).
GRAD_WRT = {
    "binary_cross_entropy": ["input", "target"],
    "binary_cross_entropy_with_logits": ["input", "target"],
    "mse_loss": ["input", "target"],
    "l1_loss": ["input", "target"],
    "smooth_l1_loss": ["input", "target"],
    "huber_loss": ["input", "target"],
    "kl_div": ["input", "target"],
    "soft_margin_loss": ["input"],  # torch 1.13: "not differentiable with respect to argument 'target'"
    "multilabel_soft_margin_loss": ["input", "target", "weight"],
}


def case(loss, args, inputs, tag, grad_wrt=None):
    if grad_wrt is None:
        grad_wrt = [k for k in GRAD_WRT[loss] if k in inputs]
    out = []
    gout_base = None
    for dname, dt in DTYPES:
        xs = {k: v.to(dt).clone().requires_grad_(k in grad_wrt) for k, v in inputs.items()}
        y = call(loss, args, xs)
        if gout_base is None:
            gout_base = rnd(*y.shape, lo=0.5, hi=1.5)
        gout = gout_base.to(dt)
        y.backward(gout)
        grads = {}
        for k in grad_wrt:
            g = xs[k].grad
            grads[k] = jt(g if g is not None else torch.zeros_like(xs[k]))
        out.append({"loss": loss, "dtype": dname, "tag": tag, "args": args,
                    "inputs": {k: jt(v) for k, v in xs.items()}, "grad_wrt": grad_wrt,
                    "out": jt(y), "grad_out": jt(gout), "grads": grads})
    return out


def each_reduction(loss, inputs, tag, extra=None, reductions=REDUCTIONS, grad_wrt=None):
    c = []
    for red in reductions:
        args = dict(extra or {})
        args["reduction"] = red
        c += case(loss, args, inputs, tag, grad_wrt)
    return c


SHAPES = [(), (5,), (4, 3), (2, 3, 4)]
EMPTY = [(0,), (3, 0)]


def prob(*shape, lo=0.02, hi=0.98):
    return rnd(*shape, lo=lo, hi=hi)


def bce_cases():
    L = "binary_cross_entropy"
    c = []
    for s in SHAPES + EMPTY:
        c += each_reduction(L, {"input": prob(*s), "target": prob(*s, lo=0.0, hi=1.0)}, "shape %s" % (s,))
    c += each_reduction(L, {"input": prob(4, 3), "target": torch.randint(0, 2, (4, 3)).double()}, "hard targets")
    c += each_reduction(L, {"input": prob(4, 3), "target": prob(4, 3), "weight": rnd(3, lo=0.1, hi=2)}, "weight (C)")
    c += each_reduction(L, {"input": prob(4, 3), "target": prob(4, 3), "weight": rnd(4, 1, lo=0.1, hi=2)}, "weight (N, 1)")
    c += each_reduction(L, {"input": prob(4, 3), "target": prob(4, 3), "weight": rnd(4, 3, lo=0.1, hi=2)}, "weight (N, C)")
    c += each_reduction(L, {"input": prob(2, 3, 4), "target": prob(2, 3, 4), "weight": rnd(3, 1, lo=0.1, hi=2)}, "weight (C, 1)")
    c += each_reduction(L, {"input": prob(5), "target": prob(5), "weight": T(2.5)}, "0-d weight")
    # the clamp at −100: probabilities 0 and 1, and values where log underflows or 1 − x rounds
    x = T([0.0, 1.0, 0.0, 1.0, 1e-30, 1e-45, 1 - 1e-7, 1 - 1e-16, -0.0, 0.5, 1e-300, 0.25])
    t = T([0.0, 1.0, 1.0, 0.0, 0.3, 1.0, 0.0, 0.5, 1.0, 0.5, 0.0, 1.0])
    c += each_reduction(L, {"input": x, "target": t}, "0, 1 and near them")
    # targets outside [0, 1] and non-finite targets are accepted, as torch accepts them
    x = T([0.5, 0.3, 0.7, 0.0, 1.0, 0.2])
    t = T([NAN, 2.0, -1.0, INF, -INF, 0.5])
    c += each_reduction(L, {"input": x, "target": t, "weight": T([1.0, 2.0, 0.0, 1.0, 1.0, INF])}, "non-finite targets and weights")
    return c


def bcel_cases():
    L = "binary_cross_entropy_with_logits"
    c = []
    for s in SHAPES + EMPTY:
        c += each_reduction(L, {"input": rnd(*s, lo=-4, hi=4), "target": prob(*s, lo=0, hi=1)}, "shape %s" % (s,))
    c += each_reduction(L, {"input": rnd(4, 3, lo=-4, hi=4), "target": torch.randint(0, 2, (4, 3)).double(),
                            "weight": rnd(3, lo=0.1, hi=2)}, "weight (C)")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-4, hi=4), "target": prob(4, 3, lo=0, hi=1),
                            "pos_weight": rnd(3, lo=0.1, hi=4)}, "pos_weight (C)")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-4, hi=4), "target": prob(4, 3, lo=0, hi=1),
                            "weight": rnd(4, 1, lo=0.1, hi=2), "pos_weight": rnd(3, lo=0.1, hi=4)}, "weight (N, 1) and pos_weight (C)")
    c += each_reduction(L, {"input": rnd(2, 3, 4, lo=-4, hi=4), "target": prob(2, 3, 4, lo=0, hi=1),
                            "weight": rnd(3, 4, lo=0.1, hi=2), "pos_weight": rnd(4, lo=0.1, hi=4)}, "(N, C, d), pos_weight along the last dim")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-4, hi=4), "target": prob(4, 3, lo=0, hi=1),
                            "pos_weight": rnd(4, 3, lo=0.1, hi=4)}, "pos_weight (N, C)")
    c += each_reduction(L, {"input": rnd(5, lo=-4, hi=4), "target": prob(5, lo=0, hi=1),
                            "pos_weight": T(3.0), "weight": T(0.5)}, "0-d weight and pos_weight")
    x = T([1e4, -1e4, 100.0, -100.0, 1e4, -1e4, 88.0, -88.0, 750.0, -750.0, 0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0])
    t = T([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.3, 0.7, 0.5, 0.5, 1.0, 0.0, 0.5, 0.5, 1.0, 0.0])
    c += each_reduction(L, {"input": x, "target": t}, "logits ±1e4, ±100, ±88, ±750, ±0")
    c += each_reduction(L, {"input": x, "target": t, "pos_weight": rnd(16, lo=0.1, hi=4)}, "extreme logits with pos_weight")
    x = T([INF, -INF, NAN, INF, -INF, 1.0, 2.0, 0.5])
    t = T([0.5, 0.5, 0.5, 1.0, 0.0, NAN, INF, 0.0])
    c += each_reduction(L, {"input": x, "target": t}, "non-finite logits and targets")
    c += each_reduction(L, {"input": x, "target": t, "pos_weight": T([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, INF])}, "non-finite with pos_weight")
    return c


def regression_cases(L, extra_list):
    c = []
    for extra in extra_list:
        for s in SHAPES + EMPTY:
            c += each_reduction(L, {"input": rnd(*s), "target": rnd(*s)}, "shape %s" % (s,), extra)
        c += each_reduction(L, {"input": rnd(4, 3), "target": rnd(3)}, "target (C) broadcast", extra)
        c += each_reduction(L, {"input": rnd(4, 1), "target": rnd(1, 3)}, "both broadcast", extra)
        c += each_reduction(L, {"input": rnd(3), "target": rnd(2, 3)}, "target larger than input", extra)
        c += each_reduction(L, {"input": rnd(2, 3, 4), "target": rnd()}, "0-d target", extra)
        # differences at and around the kinks (0, ±beta, ±delta) and equal values
        x = T([1.5, 1.0, -0.5, 0.25, 2.0, 3.0, 0.0, -0.0, 0.75, -2.0, 1.0, 0.5])
        t = T([1.0, 1.5, 0.0, 0.25, 0.0, 0.5, 0.0, 0.0, 0.25, -1.0, 0.0, 0.5])
        c += each_reduction(L, {"input": x, "target": t}, "kinks and ties", extra)
        x = T([NAN, INF, -INF, INF, 1.0, 1e30, -1e30, 1e-30, 1e200, 1e-40, -1e-40, 3.0e38])
        t = T([0.0, 0.0, 1.0, INF, NAN, 0.0, 1e30, -1e-30, 0.0, 0.0, 1e-40, -3.0e38])
        c += each_reduction(L, {"input": x, "target": t}, "NaN, ±inf, huge and tiny", extra)
    return c


def kl_cases():
    L = "kl_div"
    c = []
    reds = ["none", "batchmean", "mean", "sum"]
    for lt in [False, True]:
        extra = {"log_target": lt}
        for s in [(5,), (4, 3), (2, 3, 4)]:
            x = F.log_softmax(rnd(*s), dim=-1)
            t = F.log_softmax(rnd(*s), dim=-1) if lt else F.softmax(rnd(*s), dim=-1)
            c += each_reduction(L, {"input": f32(x), "target": f32(t)}, "shape %s" % (s,), extra, reds)
        c += each_reduction(L, {"input": T(-1.2), "target": T(-0.5 if lt else 0.3)}, "0-d", extra, reds)
        for s in EMPTY:
            c += each_reduction(L, {"input": rnd(*s), "target": rnd(*s)}, "shape %s" % (s,), extra, reds)
        c += each_reduction(L, {"input": f32(F.log_softmax(rnd(4, 3), -1)), "target": rnd(3, lo=-3 if lt else 0, hi=0 if lt else 1)},
                            "target (C) broadcast", extra, reds)
        c += each_reduction(L, {"input": f32(F.log_softmax(rnd(3), -1)), "target": rnd(2, 3, lo=-3 if lt else 0, hi=0 if lt else 1)},
                            "target larger than input", extra, reds)
        if lt:
            x = T([-1.0, -INF, NAN, -1.0, -2.0, -1.0, 0.0, -1e30, -100.0, 50.0])
            t = T([-INF, -INF, -1.0, INF, NAN, 0.0, 100.0, -1.0, -100.0, -1e30])
        else:
            x = T([-1.0, -INF, NAN, -1.0, -2.0, -1.0, 0.0, -1e30, -0.5, 3.0])
            t = T([0.0, 0.0, 0.5, NAN, -0.5, INF, 1e-40, 0.5, 1e30, -0.0])
        c += each_reduction(L, {"input": x, "target": t}, "t = 0, NaN, ±inf, huge and tiny", extra, reds)
    return c


def soft_margin_cases():
    L = "soft_margin_loss"
    c = []
    for s in SHAPES + EMPTY:
        c += each_reduction(L, {"input": rnd(*s, lo=-3, hi=3), "target": torch.randint(0, 2, s).double() * 2 - 1}, "shape %s" % (s,))
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": rnd(4, 3)}, "real-valued target")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": T([1.0, -1.0, 1.0])}, "target (C) broadcast")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": T(-1.0)}, "0-d target")
    x = T([100.0, -100.0, 1e4, -1e4, 88.0, -89.0, 710.0, -710.0, 0.0, 40.0, NAN, INF, -INF, INF, 1.0])
    t = T([1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, NAN])
    c += each_reduction(L, {"input": x, "target": t}, "margins ±100, ±1e4, ±88, ±710, NaN, ±inf")
    return c


def mlsm_cases():
    L = "multilabel_soft_margin_loss"
    c = []
    for s in [(5,), (4, 3), (2, 3, 4), (0, 3)]:
        c += each_reduction(L, {"input": rnd(*s, lo=-3, hi=3), "target": torch.randint(0, 2, s).double()}, "shape %s" % (s,))
    c += each_reduction(L, {"input": rnd(2, 0), "target": rnd(2, 0)}, "no classes (C = 0)")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": prob(4, 3, lo=0, hi=1)}, "soft targets")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": torch.randint(0, 2, (4, 3)).double(),
                            "weight": rnd(3, lo=0.1, hi=2)}, "weight (C)")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": torch.randint(0, 2, (4, 3)).double(),
                            "weight": rnd(4, 3, lo=0.1, hi=2)}, "weight (N, C)")
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": torch.randint(0, 2, (4, 3)).double(),
                            "weight": rnd(3, lo=0.1, hi=2)}, "weight (C), no weight gradient", grad_wrt=["input", "target"])
    c += each_reduction(L, {"input": rnd(4, 3, lo=-3, hi=3), "target": T([1.0, 0.0, 1.0])}, "target (C) broadcast")
    c += each_reduction(L, {"input": rnd(3, lo=-3, hi=3), "target": torch.randint(0, 2, (2, 3)).double()},
                        "target larger than input (torch sums over dim input.dim() - 1 of the loss)")
    c += each_reduction(L, {"input": rnd(4, 1, lo=-3, hi=3), "target": prob(4, 3, lo=0, hi=1)}, "input (N, 1) broadcast")
    x = T([[1e4, -1e4, 100.0, -100.0], [INF, -INF, NAN, 0.0], [88.0, -88.0, 750.0, -750.0]])
    t = T([[0.0, 1.0, 1.0, 0.0], [0.5, 0.5, 1.0, NAN], [1.0, 0.0, 0.0, 1.0]])
    c += each_reduction(L, {"input": x, "target": t}, "logits ±1e4, ±100, ±inf, NaN")
    c += each_reduction(L, {"input": x, "target": t, "weight": T([1.0, 0.0, 2.0, INF])}, "extreme logits with weight")
    return c


def cases():
    c = []
    c += bce_cases()
    c += bcel_cases()
    c += regression_cases("mse_loss", [{}])
    c += regression_cases("l1_loss", [{}])
    c += regression_cases("smooth_l1_loss", [{}, {"beta": 0.5}, {"beta": 0.0}, {"beta": 2.5}])
    c += regression_cases("huber_loss", [{}, {"delta": 0.5}, {"delta": 2.5}])
    c += kl_cases()
    c += soft_margin_cases()
    c += mlsm_cases()
    return c


def errors():
    out = []

    def e(loss, args, inputs, requires_grad=(), when="forward"):
        xs = {k: v.clone().requires_grad_(k in requires_grad) for k, v in inputs.items()}
        try:
            y = call(loss, args, xs)
            if when == "backward":
                y.sum().backward()
        except Exception as ex:
            out.append({"loss": loss, "args": args, "inputs": {k: jt(v) for k, v in xs.items()},
                        "requires_grad": list(requires_grad), "when": when, "type": type(ex).__name__,
                        "message": str(ex).split("\n")[0]})
            return
        raise SystemExit("no error for %s %s %s" % (loss, args, {k: list(v.shape) for k, v in inputs.items()}))

    z = lambda *s: torch.zeros(s, dtype=torch.float64)
    h = lambda *s: torch.full(s, 0.5, dtype=torch.float64)
    m = {"reduction": "mean"}
    B, BL = "binary_cross_entropy", "binary_cross_entropy_with_logits"
    e(B, m, {"input": h(2, 3), "target": h(3)})
    e(B, m, {"input": h(3), "target": h(2, 3)})
    e(B, m, {"input": h(2, 3), "target": h(2, 3), "weight": h(2)})
    e(B, m, {"input": h(3), "target": h(3), "weight": h(2, 3)})
    e(B, m, {"input": T([0.5, 1.5]), "target": h(2)})
    e(B, m, {"input": T([-0.1, 0.5]), "target": h(2)})
    e(B, m, {"input": T([0.5, NAN]), "target": h(2)})
    e(B, m, {"input": h(3), "target": h(3), "weight": h(3)}, ["input", "weight"])
    e(BL, m, {"input": z(2, 3), "target": z(3)})
    e(BL, m, {"input": z(2, 3), "target": z(2, 3), "pos_weight": h(2)})
    e(BL, m, {"input": z(3), "target": z(3), "pos_weight": h(2, 3)})
    e(BL, m, {"input": z(2, 3), "target": z(2, 3), "weight": h(2)})
    e(BL, m, {"input": z(3), "target": z(3), "weight": h(2, 3)})
    e(BL, m, {"input": z(3), "target": z(3), "weight": h(3)}, ["input", "weight"])
    e(BL, m, {"input": z(3), "target": z(3), "pos_weight": h(3)}, ["input", "pos_weight"])
    for L in ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]:
        e(L, m, {"input": z(2, 3), "target": z(2)})
        e(L, m, {"input": z(2, 3), "target": z(3, 3)})
    e("smooth_l1_loss", {"reduction": "mean", "beta": -1.0}, {"input": z(2, 3), "target": z(2, 3)})
    e("huber_loss", {"reduction": "mean", "delta": 0.0}, {"input": z(2, 3), "target": z(2, 3)})
    e("huber_loss", {"reduction": "mean", "delta": -1.0}, {"input": z(2, 3), "target": z(2, 3)})
    e("kl_div", {"reduction": "batchmean"}, {"input": z(2, 3), "target": z(3, 3)})
    e("kl_div", {"reduction": "batchmean", "log_target": True}, {"input": z(2, 3), "target": z(2)})
    e("soft_margin_loss", m, {"input": z(3), "target": z(2, 3)})
    e("soft_margin_loss", m, {"input": z(2, 3), "target": z(2)})
    e("soft_margin_loss", m, {"input": z(2, 3), "target": z(2, 3)}, ["input", "target"])
    ML = "multilabel_soft_margin_loss"
    e(ML, m, {"input": T(1.0), "target": T(1.0)})
    e(ML, m, {"input": z(2, 3), "target": z(2)})
    e(ML, m, {"input": z(2, 3), "target": z(2, 3), "weight": h(2)})
    return out


def reprs():
    r = []

    def add(module, args, mod):
        r.append({"module": module, "args": args, "repr": str(mod)})

    add("BCELoss", {}, nn.BCELoss())
    add("BCELoss", {"weight": [1.0, 2.0], "reduction": "sum"}, nn.BCELoss(torch.tensor([1.0, 2.0]), reduction="sum"))
    add("BCEWithLogitsLoss", {}, nn.BCEWithLogitsLoss())
    add("BCEWithLogitsLoss", {"pos_weight": [1.0, 3.0]}, nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 3.0])))
    add("MSELoss", {}, nn.MSELoss())
    add("MSELoss", {"reduction": "none"}, nn.MSELoss(reduction="none"))
    add("L1Loss", {}, nn.L1Loss())
    add("SmoothL1Loss", {}, nn.SmoothL1Loss())
    add("SmoothL1Loss", {"beta": 0.5}, nn.SmoothL1Loss(beta=0.5))
    add("HuberLoss", {}, nn.HuberLoss())
    add("HuberLoss", {"delta": 2.0, "reduction": "sum"}, nn.HuberLoss(reduction="sum", delta=2.0))
    add("KLDivLoss", {}, nn.KLDivLoss())
    add("KLDivLoss", {"reduction": "batchmean", "log_target": True}, nn.KLDivLoss(reduction="batchmean", log_target=True))
    add("SoftMarginLoss", {}, nn.SoftMarginLoss())
    add("MultiLabelSoftMarginLoss", {}, nn.MultiLabelSoftMarginLoss())
    add("MultiLabelSoftMarginLoss", {"weight": [1.0, 2.0, 3.0]}, nn.MultiLabelSoftMarginLoss(torch.tensor([1.0, 2.0, 3.0])))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    a = ap.parse_args()
    dumps = lambda o: json.dumps(o, allow_nan=False, separators=(",", ":"))
    cs, es, rs = cases(), errors(), reprs()
    parts = ["{", ' "generator": %s,' % dumps(GENERATOR), ' "torch_version": %s,' % dumps(torch.__version__),
             ' "reprs": [\n%s\n ],' % ",\n".join("  " + dumps(x) for x in rs),
             ' "errors": [\n%s\n ],' % ",\n".join("  " + dumps(x) for x in es),
             ' "cases": [\n%s\n ]' % ",\n".join("  " + dumps(x) for x in cs), "}"]
    path = os.path.join(a.out, "losses.json")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")
    print("wrote %s: %d cases, %d errors, %d reprs" % (path, len(cs), len(es), len(rs)))


if __name__ == "__main__":
    main()
