#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the tapegrad C++ test suite.

Reference semantics: PyTorch 1.13.  Run with the interpreter that has torch:

    /usr/bin/python3 tools/gen_fixtures.py [--out DIR]

Writes sgd.json, linear.json, cross_entropy.json, nll_loss.json, lr_scheduler.json,
embedding_bag.json, numerics.json (--only numerics: that one alone) and
errors.json into DIR (default: <repo>/tests/fixtures).

JSON conventions (shared by every file):
  * a tensor is {"shape": [...], "data": [flat row-major values]}; a 0-d
    tensor has shape [];
  * non-finite floats are the strings "nan", "inf", "-inf";
  * integer tensors (class indices) hold ints;
  * float32 results are stored as the exact double value of each float32.
The output is deterministic (torch and random are seeded with 1234).
"""

import argparse
import json
import math
import os
import random
import sys
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234
GENERATOR = "tools/gen_fixtures.py"


# ---------------------------------------------------------------------------
# serialisation helpers
# ---------------------------------------------------------------------------

def jfloat(x):
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def jtensor(t):
    if t is None:
        return None
    t = t.detach().cpu().contiguous()
    shape = list(t.shape)
    flat = t.reshape(-1).tolist()
    if t.dtype.is_floating_point:
        data = [jfloat(v) for v in flat]
    elif t.dtype == torch.bool:
        data = [bool(v) for v in flat]
    else:
        data = [int(v) for v in flat]
    return {"shape": shape, "data": data}


def write_fixture(out_dir, filename, cases, extra=None):
    """Write one fixture file; one case per line to keep diffs readable."""
    head = {"generator": GENERATOR, "torch_version": torch.__version__}
    if extra:
        head.update(extra)
    dumps = lambda o: json.dumps(o, allow_nan=False, separators=(",", ":"))
    parts = ["{"]
    for k, v in head.items():
        parts.append(" %s: %s," % (dumps(k), dumps(v)))
    parts.append(' "cases": [')
    parts.append(",\n".join("  " + dumps(c) for c in cases))
    parts.append(" ]")
    parts.append("}")
    text = "\n".join(parts) + "\n"
    json.loads(text)  # sanity: must parse back
    path = os.path.join(out_dir, filename)
    with open(path, "w") as f:
        f.write(text)
    return path, len(text)


# ---------------------------------------------------------------------------
# 1. SGD trajectories
# ---------------------------------------------------------------------------

SGD_CONFIGS = [
    # name, lr, momentum, dampening, weight_decay, nesterov, maximize
    ("plain", 0.1, 0.0, 0.0, 0.0, False, False),
    ("plain_lr0.5", 0.5, 0.0, 0.0, 0.0, False, False),
    ("momentum0.9", 0.1, 0.9, 0.0, 0.0, False, False),
    ("momentum0.9_dampening0.5", 0.1, 0.9, 0.5, 0.0, False, False),
    ("momentum0.5_dampening0.9_lr0.5", 0.5, 0.5, 0.9, 0.0, False, False),
    ("nesterov0.9", 0.1, 0.9, 0.0, 0.0, True, False),
    ("weight_decay0.01", 0.1, 0.0, 0.0, 0.01, False, False),
    ("weight_decay0.01_momentum0.9", 0.1, 0.9, 0.0, 0.01, False, False),
    ("nesterov0.9_weight_decay0.01", 0.1, 0.9, 0.0, 0.01, True, False),
    ("maximize", 0.1, 0.0, 0.0, 0.0, False, True),
    ("maximize_momentum0.9", 0.1, 0.9, 0.0, 0.0, False, True),
    ("maximize_nesterov_weight_decay0.1", 0.05, 0.9, 0.0, 0.1, True, True),
    ("momentum0.9_dampening0.5_weight_decay0.01", 0.1, 0.9, 0.5, 0.01, False, False),
    ("lr0.5_momentum0.9_weight_decay0.5", 0.5, 0.9, 0.0, 0.5, False, False),
    ("lr0.001_momentum0.99", 0.001, 0.99, 0.0, 0.0, False, False),
    ("momentum1.0_dampening1.0", 0.1, 1.0, 1.0, 0.0, False, False),
]
SGD_STEPS = 6
SGD_SHAPES = [(3, 4), (4,)]


def gen_sgd():
    cases = []
    for (name, lr, momentum, dampening, wd, nesterov, maximize) in SGD_CONFIGS:
        init = [torch.randn(*s, dtype=torch.float64) for s in SGD_SHAPES]
        grads = [[torch.randn(*s, dtype=torch.float64) for s in SGD_SHAPES]
                 for _ in range(SGD_STEPS)]
        params = [p.clone().requires_grad_(True) for p in init]
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum,
                              dampening=dampening, weight_decay=wd,
                              nesterov=nesterov, maximize=maximize)
        expected = []
        for step in range(SGD_STEPS):
            for p, g in zip(params, grads[step]):
                p.grad = g.clone()
            opt.step()
            expected.append([jtensor(p.detach().clone()) for p in params])
        cases.append({
            "name": name, "lr": lr, "momentum": momentum,
            "dampening": dampening, "weight_decay": wd,
            "nesterov": nesterov, "maximize": maximize,
            "params": [jtensor(p) for p in init],
            "grads": [[jtensor(g) for g in gs] for gs in grads],
            "expected": expected,
        })
    return cases


# ---------------------------------------------------------------------------
# 2. Linear
# ---------------------------------------------------------------------------

LINEAR_CONFIGS = [
    # in, out, bias, x shape prefix (batch dims)
    (3, 2, True, (4,)),
    (3, 2, False, (4,)),
    (5, 4, True, (1,)),      # batch 1
    (5, 4, False, (1,)),
    (1, 3, True, (2,)),      # in_features 1
    (4, 1, True, (3,)),      # out_features 1
    (4, 3, True, (2, 3)),    # 3-D input [2,3,in]
    (4, 3, False, (2, 3)),
    (6, 5, True, (7,)),
    (2, 2, True, ()),        # 1-D input [in]
]
INIT_FAN_INS = [1, 3, 784, 256]
INIT_CHECK_OUT = 512


def gen_linear():
    cases = []
    for (fin, fout, bias, batch) in LINEAR_CONFIGS:
        x = torch.randn(*batch, fin, dtype=torch.float64, requires_grad=True)
        w = torch.randn(fout, fin, dtype=torch.float64, requires_grad=True)
        b = (torch.randn(fout, dtype=torch.float64, requires_grad=True)
             if bias else None)
        y = F.linear(x, w, b)
        gout = torch.randn(*y.shape, dtype=torch.float64)
        y.backward(gout)
        cases.append({
            "in_features": fin, "out_features": fout, "bias": bias,
            "x": jtensor(x), "weight": jtensor(w),
            "bias_value": jtensor(b) if bias else None,
            "grad_out": jtensor(gout), "y": jtensor(y),
            "grad_x": jtensor(x.grad), "grad_weight": jtensor(w.grad),
            "grad_bias": jtensor(b.grad) if bias else None,
        })

    init = []
    for fan_in in INIT_FAN_INS:
        # kaiming_uniform_(a=sqrt(5)): gain = sqrt(2/(1+5)), std = gain/sqrt(fan_in),
        # bound = sqrt(3)*std = 1/sqrt(fan_in).  Bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        gain = math.sqrt(2.0 / (1.0 + 5.0))
        weight_bound = math.sqrt(3.0) * gain / math.sqrt(fan_in)
        bias_bound = 1.0 / math.sqrt(fan_in)
        assert abs(weight_bound - 1.0 / math.sqrt(fan_in)) < 1e-12
        lin = nn.Linear(fan_in, INIT_CHECK_OUT).double()
        wmax = lin.weight.detach().abs().max().item()
        bmax = lin.bias.detach().abs().max().item()
        assert wmax <= weight_bound, (fan_in, wmax, weight_bound)
        assert bmax <= bias_bound, (fan_in, bmax, bias_bound)
        # the bound should be nearly attained with this many samples
        assert wmax > 0.9 * weight_bound, (fan_in, wmax, weight_bound)
        init.append({"in_features": fan_in, "out_features": INIT_CHECK_OUT,
                     "weight_bound": 1.0 / math.sqrt(fan_in),
                     "bias_bound": bias_bound})
    return cases, init


# ---------------------------------------------------------------------------
# shared: loss case construction
# ---------------------------------------------------------------------------

LAYOUTS = ["NC", "NCd1", "NCd1d2", "C"]
REDUCTIONS = ["none", "sum", "mean"]
LABEL_SMOOTHINGS = [0.0, 0.1, 0.35, 1.0]
SCALES = ["normal", "x1e4", "offset1e8"]
IGNORE_MODES = ["default", "present", "out_of_range", "negative", "all"]


def random_shape(layout):
    if layout == "NC":
        return [random.randint(1, 6), random.randint(2, 7)]
    if layout == "NCd1":
        return [random.randint(1, 3), random.randint(2, 5), random.randint(1, 4)]
    if layout == "NCd1d2":
        return [random.randint(1, 2), random.randint(2, 4),
                random.randint(1, 3), random.randint(1, 3)]
    if layout == "C":
        return [random.randint(2, 7)]
    raise ValueError(layout)


def class_dim(shape):
    return 0 if len(shape) == 1 else 1


def target_shape(shape):
    """Shape of an index target for an input of the given shape."""
    if len(shape) == 1:
        return []
    return [shape[0]] + list(shape[2:])


def make_logits(shape, scale):
    x = torch.randn(*shape, dtype=torch.float64)
    if scale == "normal":
        return x
    if scale == "x1e4":
        return x * 1e4
    if scale == "offset1e8":
        # one common offset per "row" (all classes at a given position)
        return x + 1e8
    raise ValueError(scale)


def make_prob_target(shape):
    cd = class_dim(shape)
    return torch.softmax(torch.randn(*shape, dtype=torch.float64) * 2.0, dim=cd)


def make_index_target(shape, mode):
    """Returns (target int64 tensor, ignore_index)."""
    C = shape[class_dim(shape)]
    tshape = target_shape(shape)
    n = 1
    for s in tshape:
        n *= s
    vals = [random.randrange(C) for _ in range(n)]
    if mode == "default":
        ii = -100
    elif mode == "all":
        ii = random.choice([-100, 0, 1, C + 3, -1])
        vals = [ii] * n
    else:
        if mode == "present":
            ii = random.choice([0, 1])
        elif mode == "out_of_range":
            ii = C + 3
        elif mode == "negative":
            ii = -1
        else:
            raise ValueError(mode)
        if n == 1:
            if mode == "present":
                # single position: keep it a real class different from ii
                vals = [(ii + 1) % C]
            else:
                vals = [ii]
        else:
            # ignore a few positions (at least one, never all)
            k = max(1, n // 3)
            pos = random.sample(range(n), k)
            for p in pos:
                vals[p] = ii
            keep = [i for i in range(n) if i not in pos]
            for i in keep:
                if vals[i] == ii:
                    vals[i] = (ii + 1) % C
    return torch.tensor(vals, dtype=torch.int64).reshape(tshape), ii


def run_loss(fn, inp, target, weight, kwargs, dtype):
    x = inp.detach().to(dtype).clone().requires_grad_(True)
    t = target.to(dtype) if target.dtype.is_floating_point else target
    w = weight.to(dtype) if weight is not None else None
    loss = fn(x, t, weight=w, **kwargs)
    loss.sum().backward()
    grad = x.grad if x.grad is not None else torch.zeros_like(x)
    return loss.detach(), grad.detach()


def ensure_batch(shape, layout, need):
    """Make sure an index target has at least `need` positions."""
    if layout == "C":
        return shape
    while True:
        n = 1
        for s in target_shape(shape):
            n *= s
        if n >= need:
            return shape
        shape = list(shape)
        shape[0] += 1


# ---------------------------------------------------------------------------
# 3. cross_entropy
# ---------------------------------------------------------------------------

def ce_case(cid, inp, target, kind, weight, ii, reduction, ls):
    kwargs = {"ignore_index": ii, "reduction": reduction, "label_smoothing": ls}
    l64, g64 = run_loss(F.cross_entropy, inp, target, weight, kwargs, torch.float64)
    l32, g32 = run_loss(F.cross_entropy, inp, target, weight, kwargs, torch.float32)
    return {
        "id": cid, "input": jtensor(inp), "target": jtensor(target),
        "target_kind": kind, "weight": jtensor(weight), "ignore_index": ii,
        "reduction": reduction, "label_smoothing": ls,
        "loss64": jtensor(l64), "grad64": jtensor(g64),
        "loss32": jtensor(l32), "grad32": jtensor(g32),
    }


def gen_cross_entropy():
    cases = []
    tags = []  # per-case category tags, for the printed coverage summary

    def add(case, **tag):
        cases.append(case)
        tags.append(tag)

    f64 = torch.float64
    # --- seed article example (ids 0..6) ---
    logits2 = torch.tensor([[2.0, 0.5, 1.0], [0.5, 2.0, 1.5]], dtype=f64)
    t2 = torch.tensor([0, 2], dtype=torch.int64)
    for red in ["none", "sum", "mean"]:
        add(ce_case(len(cases), logits2, t2, "index", None, -100, red, 0.0),
            group="seed", layout="NC", kind="index", weight=False,
            ignore="default", reduction=red, ls=0.0, scale="normal")
    w3 = torch.tensor([1.0, 2.0, 3.0], dtype=f64)
    add(ce_case(len(cases), logits2, t2, "index", w3, -100, "mean", 0.0),
        group="seed", layout="NC", kind="index", weight=True,
        ignore="default", reduction="mean", ls=0.0, scale="normal")
    logits3 = torch.tensor([[2.0, 0.5, 1.0], [0.5, 2.0, 1.5], [0.1, 0.2, 0.3]], dtype=f64)
    t3 = torch.tensor([0, 2, -1], dtype=torch.int64)
    for red in ["mean", "sum", "none"]:
        add(ce_case(len(cases), logits3, t3, "index", None, -1, red, 0.0),
            group="seed", layout="NC", kind="index", weight=False,
            ignore="negative", reduction=red, ls=0.0, scale="normal")

    # --- full grid ---
    for li, layout in enumerate(LAYOUTS):
        for ki, kind in enumerate(["index", "prob"]):
            modes = IGNORE_MODES if kind == "index" else ["default"]
            for wi, use_w in enumerate([False, True]):
                for ii_i, mode in enumerate(modes):
                    for ri, red in enumerate(REDUCTIONS):
                        for si, ls in enumerate(LABEL_SMOOTHINGS):
                            scale = SCALES[(li + ki + wi + ii_i + ri + si) % len(SCALES)]
                            shape = random_shape(layout)
                            if kind == "index" and mode in ("present", "out_of_range", "negative"):
                                shape = ensure_batch(shape, layout, 2)
                            inp = make_logits(shape, scale)
                            C = shape[class_dim(shape)]
                            if kind == "index":
                                target, ii = make_index_target(shape, mode)
                            else:
                                target, ii = make_prob_target(shape), -100
                            weight = (torch.rand(C, dtype=f64) * 2.0 + 0.1) if use_w else None
                            add(ce_case(len(cases), inp, target, kind, weight, ii, red, ls),
                                group="grid", layout=layout, kind=kind, weight=use_w,
                                ignore=mode, reduction=red, ls=ls, scale=scale)

    # --- non-finite logits (a handful) ---
    nonfinite = [
        # kind, what, reduction, label_smoothing, weight
        ("index", "+inf_at_target", "mean", 0.0, False),
        ("index", "+inf_off_target", "none", 0.0, False),
        ("index", "-inf_at_target", "sum", 0.0, True),
        ("index", "-inf_off_target", "none", 0.0, False),
        ("index", "-inf_off_target", "mean", 0.1, False),
        ("index", "nan", "none", 0.0, False),
        ("index", "nan", "mean", 0.35, True),
        ("index", "row_all_-inf", "none", 0.0, False),
        ("prob", "+inf", "none", 0.0, False),
        ("prob", "-inf", "mean", 0.1, False),
        ("prob", "nan", "sum", 0.0, True),
        ("prob", "mixed", "none", 0.35, False),
    ]
    for kind, what, red, ls, use_w in nonfinite:
        N, C = 3, 4
        shape = [N, C]
        inp = torch.randn(N, C, dtype=f64)
        if kind == "index":
            target = torch.tensor([random.randrange(C) for _ in range(N)], dtype=torch.int64)
            r = 1
            tc = int(target[r])
            oc = (tc + 1) % C
            if what == "+inf_at_target":
                inp[r, tc] = math.inf
            elif what == "+inf_off_target":
                inp[r, oc] = math.inf
            elif what == "-inf_at_target":
                inp[r, tc] = -math.inf
            elif what == "-inf_off_target":
                inp[r, oc] = -math.inf
            elif what == "nan":
                inp[r, oc] = math.nan
            elif what == "row_all_-inf":
                inp[r, :] = -math.inf
        else:
            target = make_prob_target(shape)
            if what == "+inf":
                inp[1, 2] = math.inf
            elif what == "-inf":
                inp[1, 2] = -math.inf
            elif what == "nan":
                inp[0, 1] = math.nan
            elif what == "mixed":
                inp[0, 0] = math.inf
                inp[1, 1] = -math.inf
                inp[2, 3] = math.nan
        weight = (torch.rand(C, dtype=f64) * 2.0 + 0.1) if use_w else None
        add(ce_case(len(cases), inp, target, kind, weight, -100, red, ls),
            group="nonfinite", layout="NC", kind=kind, weight=use_w,
            ignore="default", reduction=red, ls=ls, scale="nonfinite:" + what)

    return cases, tags


def print_counts(title, tags, keys):
    print("%s: %d cases" % (title, len(tags)))
    for key in keys:
        c = Counter(str(t[key]) for t in tags)
        print("  %-10s %s" % (key, ", ".join("%s=%d" % kv for kv in sorted(c.items()))))


# ---------------------------------------------------------------------------
# 4. nll_loss
# ---------------------------------------------------------------------------

NLL_IGNORE_MODES = ["default", "present", "negative", "all"]


def nll_case(cid, inp, target, weight, ii, reduction):
    kwargs = {"ignore_index": ii, "reduction": reduction}
    l64, g64 = run_loss(F.nll_loss, inp, target, weight, kwargs, torch.float64)
    l32, g32 = run_loss(F.nll_loss, inp, target, weight, kwargs, torch.float32)
    return {
        "id": cid, "input": jtensor(inp), "target": jtensor(target),
        "weight": jtensor(weight), "ignore_index": ii, "reduction": reduction,
        "loss64": jtensor(l64), "grad64": jtensor(g64),
        "loss32": jtensor(l32), "grad32": jtensor(g32),
    }


def gen_nll_loss():
    cases = []
    tags = []
    f64 = torch.float64
    grid = []
    for li, layout in enumerate(LAYOUTS):
        for ini, input_kind in enumerate(["log_softmax", "arbitrary"]):
            for wi, use_w in enumerate([False, True]):
                for ri, red in enumerate(REDUCTIONS):
                    mode = NLL_IGNORE_MODES[(li + ini + wi + ri) % len(NLL_IGNORE_MODES)]
                    grid.append((layout, input_kind, use_w, red, mode))
    # extra: out-of-range ignore_index and more all-ignored cases
    for layout in ["NC", "NCd1", "NCd1d2"]:
        for red in REDUCTIONS:
            grid.append((layout, "log_softmax", layout != "NC", red, "out_of_range"))
    for red in REDUCTIONS:
        grid.append(("NC", "arbitrary", True, red, "all"))

    for (layout, input_kind, use_w, red, mode) in grid:
        shape = random_shape(layout)
        if mode in ("present", "out_of_range", "negative"):
            shape = ensure_batch(shape, layout, 2)
        cd = class_dim(shape)
        C = shape[cd]
        raw = torch.randn(*shape, dtype=f64) * 2.0
        inp = torch.log_softmax(raw, dim=cd) if input_kind == "log_softmax" else raw
        target, ii = make_index_target(shape, mode)
        weight = (torch.rand(C, dtype=f64) * 2.0 + 0.1) if use_w else None
        cases.append(nll_case(len(cases), inp, target, weight, ii, red))
        tags.append({"layout": layout, "input": input_kind, "weight": use_w,
                     "reduction": red, "ignore": mode})
    return cases, tags


# ---------------------------------------------------------------------------
# 5. error messages
# ---------------------------------------------------------------------------

def capture(fn):
    try:
        fn()
    except (RuntimeError, ValueError, IndexError) as e:
        msg = str(e)
        return msg.splitlines()[0] if msg else msg
    return None


def gen_errors():
    f64 = torch.float64
    x23 = torch.randn(2, 3, dtype=f64)
    probs23 = torch.softmax(torch.randn(2, 3, dtype=f64), dim=1)
    specs = [
        ("cross_entropy target out of bounds: input (2,3), target [0,5]",
         lambda: F.cross_entropy(x23, torch.tensor([0, 5]))),
        ("nll_loss target out of bounds: input (2,3), target [0,5]",
         lambda: F.nll_loss(x23, torch.tensor([0, 5]))),
        ("cross_entropy negative target not equal to ignore_index: input (2,3), target [0,-1]",
         lambda: F.cross_entropy(x23, torch.tensor([0, -1]))),
        ("cross_entropy batch size mismatch: input (2,3), target of 3 elements",
         lambda: F.cross_entropy(x23, torch.tensor([0, 1, 2]))),
        ("cross_entropy weight of wrong length: input (2,3), weight of 2 elements",
         lambda: F.cross_entropy(x23, torch.tensor([0, 1]),
                                 weight=torch.ones(2, dtype=f64))),
        ("cross_entropy label_smoothing=1.5",
         lambda: F.cross_entropy(x23, torch.tensor([0, 1]), label_smoothing=1.5)),
        ("cross_entropy label_smoothing=-0.1",
         lambda: F.cross_entropy(x23, torch.tensor([0, 1]), label_smoothing=-0.1)),
        ("cross_entropy probability target with ignore_index=0",
         lambda: F.cross_entropy(x23, probs23, ignore_index=0)),
        ("cross_entropy probability target of wrong shape: input (2,3), target (2,4)",
         lambda: F.cross_entropy(x23, torch.softmax(torch.randn(2, 4, dtype=f64), 1))),
    ]
    return [{"what": what, "message": capture(fn)} for what, fn in specs]


# ---------------------------------------------------------------------------

def gen_lr_scheduler():
    """Learning rates after construction and after each scheduler.step(), as torch computes them."""
    cases = []
    specs = [
        ("StepLR", dict(step_size=3, gamma=0.5), 0.1, 12),
        ("StepLR", dict(step_size=1, gamma=0.9), 0.05, 8),
        ("CosineAnnealingLR", dict(T_max=15, eta_min=0.0), 0.05, 15),
        ("CosineAnnealingLR", dict(T_max=5, eta_min=0.001), 0.1, 23),  # past T_max: back up again
    ]
    for name, kw, lr, steps in specs:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)
        lrs = [opt.param_groups[0]["lr"]]
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(opt.param_groups[0]["lr"])
        cases.append({"scheduler": name, "kwargs": kw, "lr": lr, "lrs": lrs})
    return cases


def gen_embedding_bag():
    """F.embedding_bag forward and backward (dense weight gradient, per_sample_weights gradient)."""
    F = torch.nn.functional
    cases = []
    specs = [
        # (V, D, input, offsets, mode, psw, include_last_offset, padding_idx)
        (10, 3, [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], "sum", False, False, None),
        (10, 3, [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], "mean", False, False, None),
        (10, 3, [1, 2, 4, 5, 4, 3, 2, 9], [0, 4], "max", False, False, None),
        (10, 4, [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 7], "mean", False, False, None),   # an empty bag
        (10, 4, [1, 2, 4, 5, 4, 3, 2, 9], [0, 2, 2, 7], "sum", True, False, None),     # per-sample weights
        (10, 4, [1, 2, 4, 5, 4, 3, 2, 9], [0, 3, 5, 8], "mean", False, True, None),    # include_last_offset
        (10, 4, [1, 0, 4, 0, 0, 3, 2, 9], [0, 3, 5], "mean", False, False, 0),         # padding_idx
        (10, 4, [1, 0, 4, 0, 0, 3, 2, 9], [0, 3, 5], "sum", False, False, 0),
        (12, 5, [[1, 2, 3], [4, 4, 11], [0, 7, 7]], None, "mean", False, False, None),  # 2-D input
        (12, 5, [[1, 2, 3], [4, 4, 11], [0, 7, 7]], None, "max", False, False, None),
        (12, 5, [[1, 2, 3], [4, 4, 11], [0, 7, 7]], None, "sum", True, False, None),
        (7, 2, [3, 3, 3, 1], [0, 1, 1, 1], "mean", False, False, None),                 # several empty bags
    ]
    for V, D, inp, off, mode, use_psw, ilo, pad in specs:
        weight = torch.randn(V, D, dtype=torch.float64, requires_grad=True)
        inp_t = torch.tensor(inp, dtype=torch.int64)
        off_t = torch.tensor(off, dtype=torch.int64) if off is not None else None
        psw = torch.randn(inp_t.shape, dtype=torch.float64, requires_grad=True) if use_psw else None
        out = F.embedding_bag(inp_t, weight, off_t, mode=mode, per_sample_weights=psw,
                              include_last_offset=ilo, padding_idx=pad)
        g = torch.randn(out.shape, dtype=torch.float64)
        out.backward(g)
        cases.append({
            "input": jtensor(inp_t), "offsets": jtensor(off_t) if off_t is not None else None,
            "weight": jtensor(weight.detach()), "mode": mode, "include_last_offset": ilo,
            "padding_idx": pad, "per_sample_weights": jtensor(psw.detach()) if psw is not None else None,
            "grad_out": jtensor(g), "out": jtensor(out.detach()), "grad_weight": jtensor(weight.grad),
            "grad_per_sample_weights": jtensor(psw.grad) if psw is not None else None,
        })
    return cases


# ---------------------------------------------------------------------------
# 8. numerics: every op on NaN, ±inf, ±0, ±tiny, denormals and ±huge (float32 and
#    float64), and every op on tensors with a zero-size dim — values and gradients
# ---------------------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
# dtype-appropriate extremes: tiny/huge/denormal for float64 do not exist in float32
SPECIALS = {
    "float64": [NAN, INF, -INF, 0.0, -0.0, 1e-300, -1e-300, 5e-324, -1e-310, 1e300, -1e300, 1.5, -2.5],
    "float32": [NAN, INF, -INF, 0.0, -0.0, 1e-30, -1e-30, 1e-45, -1e-40, 1e30, -1e30, 3e38, 1.5, -2.5],
}
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def num_case(op, dtype, inputs, fn, args=None, grad=None, int_inputs=None, gout=None, group="special"):
    """Runs fn(*tensors) in torch; inputs is a list of lists/tensors (float, requiring grad unless
    grad says otherwise). fn returns a tensor, or (tensor, int tensor) for max/argmax."""
    dt = DTYPES[dtype]
    grad = grad if grad is not None else [True] * len(inputs)
    ts = []
    for v, g in zip(inputs, grad):
        t = v.clone().to(dt) if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=dt)
        ts.append(t.requires_grad_(g))
    res = fn(*ts)
    idx = None
    if isinstance(res, tuple):
        res, idx = res
    case = {"op": op, "dtype": dtype, "group": group, "args": args or {},
            "inputs": [jtensor(t.detach()) for t in ts], "requires_grad": grad,
            "int_inputs": {k: jtensor(v) for k, v in (int_inputs or {}).items()}}
    if res.dtype.is_floating_point:
        case["out"] = jtensor(res.detach())
    else:
        case["out"] = None
        idx = res
    case["indices"] = jtensor(idx) if idx is not None else None
    grads = [None] * len(ts)
    if res.dtype.is_floating_point and res.requires_grad:
        g = torch.ones_like(res) if gout is None else gout.to(dt)
        res.backward(g)
        case["gout"] = jtensor(g) if gout is not None else None
        grads = [jtensor(t.grad) if t.grad is not None else
                 (jtensor(torch.zeros_like(t)) if t.requires_grad else None) for t in ts]
    else:
        case["gout"] = None
    case["grads"] = grads
    return case


def gen_numerics():
    cases = []
    for dtype in ("float64", "float32"):
        S = SPECIALS[dtype]
        n = len(S)
        tiny, huge, den = S[5], S[9], S[7]
        # ---- element-wise, unary: every special value
        unary = {
            "neg": lambda x: -x, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "abs": torch.abs,
            "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
        }
        for name, f in unary.items():
            cases.append(num_case(name, dtype, [S], f))
        # a small upstream gradient: g/x must not become g·(1/x)
        small = torch.full((n,), 3e-30)
        for name in ("log", "sqrt"):
            cases.append(num_case(name, dtype, [S], unary[name], gout=small, args={"note": "small upstream"}))
        # non-finite upstream gradients: where torch selects (relu, clamp, pow 0) a 0 stays 0
        rev = torch.tensor(S[::-1])
        for name, f in unary.items():
            cases.append(num_case(name, dtype, [S], f, gout=rev, args={"note": "special upstream"}))
        cases.append(num_case("clamp", dtype, [S], lambda x: torch.clamp(x, -1.0, 1.0), gout=rev,
                              args={"min": -1.0, "max": 1.0, "note": "special upstream"}))
        for p in (0.0, 2.0):
            cases.append(num_case("pow", dtype, [S], lambda x, p=p: torch.pow(x, p), gout=rev,
                                  args={"exponent": p, "note": "special upstream"}))
        # where exp overflows or underflows (sigmoid's 1/(1 + exp(-x)) gives 0, not a denormal)
        R = [-800.0, -745.0, -720.0, -104.0, -100.0, -88.0, -20.0, 20.0, 88.0, 89.0, 100.0, 710.0, 800.0]
        for name in ("exp", "sigmoid", "tanh", "log", "sqrt"):
            cases.append(num_case(name, dtype, [R], unary[name], args={"note": "exp range"}))
        for p in [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, -1.5, 2.5, NAN, INF, -INF]:
            cases.append(num_case("pow", dtype, [S], lambda x, p=p: torch.pow(x, p), args={"exponent": jfloat(p)}))
        for lo, hi in [(-1.0, 1.0), (0.0, None), (None, 0.0), (1.0, -1.0), (-INF, INF), (tiny, huge)]:
            cases.append(num_case("clamp", dtype, [S], lambda x, lo=lo, hi=hi: torch.clamp(x, lo, hi),
                                  args={"min": None if lo is None else jfloat(lo),
                                        "max": None if hi is None else jfloat(hi)}))
        # ---- element-wise, binary: every pair of special values
        a = [x for x in S for _ in S]
        b = [y for _ in S for y in S]
        for name, f in {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}.items():
            cases.append(num_case(name, dtype, [a, b], f))
        cases.append(num_case("div", dtype, [a, b], torch.div, gout=torch.full((n * n,), 3e-30),
                              args={"note": "small upstream"}))
        # ---- with a Python number, as the operators spell them
        scal = {
            "add_scalar": lambda x, s: x + s, "sub_scalar": lambda x, s: x - s, "mul_scalar": lambda x, s: x * s,
            "div_scalar": lambda x, s: x / s, "rsub_scalar": lambda x, s: s - x, "rdiv_scalar": lambda x, s: s / x,
        }
        for name, f in scal.items():
            for s in [NAN, INF, -INF, 0.0, tiny, den, huge, -2.5]:
                cases.append(num_case(name, dtype, [S], lambda x, f=f, s=s: f(x, s), args={"scalar": jfloat(s)}))
        # ---- reductions, softmax: rows mixing specials
        M = [[1.0, NAN, 3.0], [INF, 1.0, 2.0], [-INF, -INF, -INF], [INF, -INF, 0.0], [huge, huge, 1.0],
             [NAN, INF, -INF], [1.0, 3.0, 3.0], [tiny, -tiny, den], [-0.0, 0.0, -1.0], [INF, INF, 1.0],
             [-huge, -huge, -2.5]]
        cases.append(num_case("sum", dtype, [M], torch.sum))
        cases.append(num_case("mean", dtype, [M], torch.mean))
        for rows in ([[1.0, 3.0, 3.0]], [[1.0, NAN, 3.0, NAN]], [[-INF, -INF]], [[INF, 1.0, INF]], M):
            cases.append(num_case("max", dtype, [rows], torch.max))
        for d in (0, 1):
            cases.append(num_case("sum_dim", dtype, [M], lambda x, d=d: torch.sum(x, d), args={"dim": d}))
            cases.append(num_case("mean_dim", dtype, [M], lambda x, d=d: torch.mean(x, d), args={"dim": d}))
            cases.append(num_case("max_dim", dtype, [M], lambda x, d=d: tuple(torch.max(x, d)), args={"dim": d}))
            cases.append(num_case("argmax", dtype, [M], lambda x, d=d: torch.argmax(x, d), args={"dim": d},
                                  grad=[False]))
            cases.append(num_case("softmax", dtype, [M], lambda x, d=d: torch.softmax(x, d), args={"dim": d}))
            cases.append(num_case("log_softmax", dtype, [M], lambda x, d=d: torch.log_softmax(x, d), args={"dim": d}))
        # ---- matmul, linear: 0·inf, inf − inf, NaN, overflow, tiny products
        A = [[1.0, 2.0, 3.0], [INF, 1.0, 0.0], [NAN, 1.0, 1.0], [huge, huge, 1.0], [tiny, den, 1.0], [0.0, 0.0, 0.0]]
        B = [[0.0, 1.0], [1.0, -1.0], [2.0, INF]]
        cases.append(num_case("matmul", dtype, [A, B], torch.matmul))
        cases.append(num_case("matmul", dtype, [[A, A], B], torch.matmul))
        cases.append(num_case("matmul", dtype, [[INF, 0.0, 1.0], [0.0, 1.0, huge]], torch.matmul))
        W = [[0.0, 1.0, 2.0], [1.0, -1.0, INF]]
        cases.append(num_case("linear", dtype, [A, W, [NAN, 1.0]], F.linear))
        cases.append(num_case("linear", dtype, [A, W, [-INF, huge]], F.linear))
        # ---- losses: logits rows holding specials
        X = [[1.0, 2.0, 3.0], [NAN, 1.0, 2.0], [INF, 1.0, 2.0], [-INF, 1.0, 2.0], [-INF, -INF, -INF],
             [huge, -huge, 0.0], [tiny, den, 0.0]]
        N = len(X)
        targets = {"all": [0, 1, 2, 0, 1, 2, 0], "ignore_nonfinite": [0, -100, -100, 0, -100, 2, 1],
                   "ignore_all": [-100] * N, "zero_weight": [0] * N}
        wts = {"none": None, "w": [0.5, 1.0, 2.0], "w0": [0.0, 1.0, 2.0]}
        for tname, tgt in targets.items():
            for wname, w in wts.items():
                if tname == "zero_weight" and wname != "w0":
                    continue
                for red in ("none", "sum", "mean"):
                    for ls in (0.0, 0.1):
                        t = torch.tensor(tgt)
                        inputs = [X] + ([w] if w is not None else [])
                        grad = [True] + ([False] if w is not None else [])
                        cases.append(num_case(
                            "cross_entropy", dtype, inputs,
                            lambda x, *ww, t=t, red=red, ls=ls: F.cross_entropy(
                                x, t, weight=ww[0] if ww else None, reduction=red, label_smoothing=ls),
                            args={"reduction": red, "label_smoothing": ls, "ignore_index": -100,
                                  "targets": tname, "weight": wname},
                            grad=grad, int_inputs={"target": t}))
                    t = torch.tensor(tgt)
                    cases.append(num_case(
                        "nll_loss", dtype, inputs,
                        lambda x, *ww, t=t, red=red: F.nll_loss(x, t, weight=ww[0] if ww else None, reduction=red),
                        args={"reduction": red, "ignore_index": -100, "targets": tname, "weight": wname},
                        grad=grad, int_inputs={"target": t}))
        # zero total weight and all-ignored with finite logits: no NaN row hides the reduction's own
        Xf = [[1.0, 2.0, 3.0], [0.0, 1.0, 2.0], [-1.0, 0.0, 5.0], [tiny, den, 0.0], [huge, -huge, 0.0]]
        for tname, tgt, wname, w in (("zero_weight", [0] * 5, "w0", [0.0, 1.0, 2.0]),
                                     ("ignore_all", [-100] * 5, "none", None),
                                     ("ignore_all", [-100] * 5, "w", [0.5, 1.0, 2.0]),
                                     ("mixed", [0, -100, 1, 0, 2], "w0", [0.0, 1.0, 2.0])):
            for red in ("sum", "mean"):
                for ls in (0.0, 0.1, 1.0):
                    t = torch.tensor(tgt)
                    inputs = [Xf] + ([w] if w is not None else [])
                    grad = [True] + ([False] if w is not None else [])
                    cases.append(num_case(
                        "cross_entropy", dtype, inputs,
                        lambda x, *ww, t=t, red=red, ls=ls: F.cross_entropy(
                            x, t, weight=ww[0] if ww else None, reduction=red, label_smoothing=ls),
                        args={"reduction": red, "label_smoothing": ls, "ignore_index": -100,
                              "targets": tname, "weight": wname, "logits": "finite"},
                        grad=grad, int_inputs={"target": t}))
        P = [[0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.3, 0.3, 0.4],
             [0.5, 0.5, 0.0], [0.1, 0.1, 0.8]]
        for red in ("none", "sum", "mean"):
            for ls in (0.0, 0.1):
                cases.append(num_case("cross_entropy_prob", dtype, [X, P],
                                      lambda x, p, red=red, ls=ls: F.cross_entropy(x, p, reduction=red, label_smoothing=ls),
                                      args={"reduction": red, "label_smoothing": ls}, grad=[True, False]))
        # ---- embedding_bag: rows holding specials, in every mode
        E = [[NAN, 1.0], [INF, -INF], [1.0, 2.0], [-1.0, NAN], [huge, tiny], [-INF, 0.0]]
        inp = torch.tensor([2, 0, 1, 2, 3, 4, 4, 5, 1, 3, 0])
        off = torch.tensor([0, 2, 3, 5, 7, 7])
        for mode in ("sum", "mean", "max"):
            cases.append(num_case("embedding_bag", dtype, [E],
                                  lambda w, mode=mode: F.embedding_bag(inp, w, off, mode=mode),
                                  args={"mode": mode}, int_inputs={"input": inp, "offsets": off}))
    return cases


def gen_empty():
    """Every op on tensors with a zero-size dim (and k = 0 products)."""
    cases = []
    E = lambda *s: torch.arange(math.prod(s), dtype=torch.float64).reshape(s) * 0.5 - 1.0
    for dtype in ("float64", "float32"):
        def add(op, inputs, fn, **kw):
            cases.append(num_case(op, dtype, inputs, fn, group="empty", **kw))
        for name, f in {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}.items():
            add(name, [E(0, 3), E(3) + 3], f)            # broadcast: (0, 3) and (3,)
            add(name, [E(2, 0), E(2, 1) + 3], f)
            add(name, [E(0), E()], f)                    # with a 0-d tensor
        for name, f in {"neg": lambda x: -x, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
                        "abs": torch.abs, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
                        "pow": lambda x: torch.pow(x, 2.0), "clamp": lambda x: torch.clamp(x, -1.0, 1.0),
                        "add_scalar": lambda x: x + 2.0, "mul_scalar": lambda x: x * 2.0,
                        "div_scalar": lambda x: x / 2.0, "rsub_scalar": lambda x: 2.0 - x,
                        "rdiv_scalar": lambda x: 2.0 / x, "sub_scalar": lambda x: x - 2.0}.items():
            args = {"pow": {"exponent": 2.0}, "clamp": {"min": -1.0, "max": 1.0}}.get(name, {})
            if name.endswith("_scalar"):
                args = {"scalar": 2.0}
            add(name, [E(0, 3)], f, args=args)
        add("sum", [E(0, 3)], torch.sum)
        add("mean", [E(0, 3)], torch.mean)
        for d in (0, 1):
            add("sum_dim", [E(0, 3)], lambda x, d=d: torch.sum(x, d), args={"dim": d})
            add("mean_dim", [E(0, 3)], lambda x, d=d: torch.mean(x, d), args={"dim": d})
            add("softmax", [E(0, 3)], lambda x, d=d: torch.softmax(x, d), args={"dim": d})
            add("log_softmax", [E(0, 3)], lambda x, d=d: torch.log_softmax(x, d), args={"dim": d})
            add("softmax", [E(3, 0)], lambda x, d=d: torch.softmax(x, d), args={"dim": d})
        add("sum_dim", [E(3, 0)], lambda x: torch.sum(x, 1), args={"dim": 1})
        add("mean_dim", [E(3, 0)], lambda x: torch.mean(x, 1), args={"dim": 1})
        add("max_dim", [E(0, 3)], lambda x: tuple(torch.max(x, 1)), args={"dim": 1})
        add("argmax", [E(0, 3)], lambda x: torch.argmax(x, 1), args={"dim": 1}, grad=[False])
        add("matmul", [E(0, 3, 4), E(4, 5)], torch.matmul)      # empty batch
        add("matmul", [E(2, 0, 4), E(4, 5)], torch.matmul)      # 0 rows
        add("matmul", [E(3, 0), E(0, 4)], torch.matmul)         # k = 0: zeros
        add("matmul", [E(2, 3, 0), E(0, 4)], torch.matmul)      # batched, k = 0
        add("matmul", [E(3, 4), E(4, 0)], torch.matmul)         # 0 columns
        add("matmul", [E(0), E(0)], torch.matmul)               # empty dot: 0
        add("matmul", [E(0), E(0, 3)], torch.matmul)
        add("matmul", [E(0, 2, 3), E(0, 3, 2)], torch.matmul)
        add("linear", [E(0, 3), E(2, 3), E(2)], F.linear)
        add("linear", [E(4, 0), E(2, 0), E(2)], F.linear)       # in = 0: the bias
        add("linear", [E(4, 0), E(2, 0)], F.linear)             # in = 0, no bias: zeros
        add("linear", [E(4, 3), E(0, 3), E(0)], F.linear)       # out = 0
        add("linear", [E(2, 0, 3), E(5, 3), E(5)], F.linear)
        add("reshape", [E(0, 3)], lambda x: x.reshape(-1, 3), args={"shape": [-1, 3]})
        add("reshape", [E(0, 3)], lambda x: x.reshape(3, 0, 2), args={"shape": [3, 0, 2]})
        add("flatten", [E(2, 0, 3)], torch.flatten, args={"start": 0, "end": -1})
        add("flatten", [E(2, 0, 3)], lambda x: torch.flatten(x, 1), args={"start": 1, "end": -1})
        add("transpose", [E(0, 3)], lambda x: x.transpose(0, 1), args={"dims": [0, 1]})
        add("permute", [E(2, 0, 3)], lambda x: x.permute(2, 0, 1), args={"dims": [2, 0, 1]})
        for red in ("none", "sum", "mean"):
            for ls in (0.0, 0.2):
                t = torch.zeros(0, dtype=torch.int64)
                add("cross_entropy", [E(0, 3)],
                    lambda x, t=t, red=red, ls=ls: F.cross_entropy(x, t, reduction=red, label_smoothing=ls),
                    args={"reduction": red, "label_smoothing": ls, "ignore_index": -100},
                    int_inputs={"target": t})
                t2 = torch.zeros(2, 0, dtype=torch.int64)
                add("cross_entropy", [E(2, 3, 0)],
                    lambda x, t=t2, red=red, ls=ls: F.cross_entropy(x, t, reduction=red, label_smoothing=ls),
                    args={"reduction": red, "label_smoothing": ls, "ignore_index": -100},
                    int_inputs={"target": t2})
                add("cross_entropy_prob", [E(0, 3), E(0, 3)],
                    lambda x, p, red=red, ls=ls: F.cross_entropy(x, p, reduction=red, label_smoothing=ls),
                    args={"reduction": red, "label_smoothing": ls}, grad=[True, False])
            t = torch.zeros(0, dtype=torch.int64)
            add("nll_loss", [E(0, 3)], lambda x, t=t, red=red: F.nll_loss(x, t, reduction=red),
                args={"reduction": red, "ignore_index": -100}, int_inputs={"target": t})
        W = E(5, 3)
        for mode in ("sum", "mean", "max"):
            for inp, off in ((torch.zeros(0, dtype=torch.int64), torch.tensor([0])),      # one empty bag
                             (torch.zeros(0, dtype=torch.int64), torch.tensor([0, 0, 0])),
                             # (2, 0) input: torch 1.13 fails (arange step 0); tapegrad gives 2 empty bags
                             (torch.zeros(0, 3, dtype=torch.int64), None)):                 # no bags
                ints = {"input": inp}
                if off is not None:
                    ints["offsets"] = off
                add("embedding_bag", [W], lambda w, inp=inp, off=off, mode=mode: F.embedding_bag(inp, w, off, mode=mode),
                    args={"mode": mode}, int_inputs=ints)
    return cases


def main(argv=None):
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(repo_root, "tests", "fixtures"),
                    help="output directory (default: %(default)s)")
    ap.add_argument("--only", choices=["numerics"],
                    help="write only this fixture (the others draw from the seeded generator in order)")
    args = ap.parse_args(argv)

    torch.manual_seed(SEED)
    random.seed(SEED)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(1)  # keep reductions bit-reproducible
    os.makedirs(args.out, exist_ok=True)

    written = []
    if args.only == "numerics":
        return write_numerics(args.out, written)
    sgd = gen_sgd()
    written.append(write_fixture(args.out, "sgd.json", sgd))
    print("sgd: %d cases" % len(sgd))

    lin, init = gen_linear()
    written.append(write_fixture(args.out, "linear.json", lin, extra={"init": init}))
    print("linear: %d cases, %d init entries" % (len(lin), len(init)))

    ce, ce_tags = gen_cross_entropy()
    written.append(write_fixture(args.out, "cross_entropy.json", ce))
    print_counts("cross_entropy", ce_tags,
                 ["group", "layout", "kind", "weight", "ignore", "reduction", "ls", "scale"])

    nll, nll_tags = gen_nll_loss()
    written.append(write_fixture(args.out, "nll_loss.json", nll))
    print_counts("nll_loss", nll_tags, ["layout", "input", "weight", "ignore", "reduction"])

    sch = gen_lr_scheduler()
    written.append(write_fixture(args.out, "lr_scheduler.json", sch))
    print("lr_scheduler: %d cases" % len(sch))

    eb = gen_embedding_bag()
    written.append(write_fixture(args.out, "embedding_bag.json", eb))
    print("embedding_bag: %d cases" % len(eb))

    errs = gen_errors()
    written.append(write_fixture(args.out, "errors.json", errs))
    print("errors: %d cases" % len(errs))
    for e in errs:
        print("  %s -> %r" % (e["what"], e["message"]))

    return write_numerics(args.out, written)


def write_numerics(out_dir, written):
    # no randomness: these cases do not depend on what the generators above drew
    num = gen_numerics() + gen_empty()
    written.append(write_fixture(out_dir, "numerics.json", num))
    groups = Counter(c["group"] for c in num)
    print("numerics: %d cases (%s), ops: %s" % (len(num), ", ".join("%s %d" % kv for kv in sorted(groups.items())),
                                                ", ".join(sorted(set(c["op"] for c in num)))))
    total = 0
    for path, size in written:
        total += size
        print("wrote %s (%d bytes)" % (path, size))
    print("total %d bytes" % total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
