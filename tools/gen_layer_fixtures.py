#!/usr/bin/env python3
"""PyTorch 1.13 reference fixtures for the ops and layers of issue 12 (tests/test_ops2.cpp,
tests/test_layers.cpp).

    /usr/bin/python3 tools/gen_layer_fixtures.py [--out DIR]

Writes ops2.json and layers.json into DIR (default <repo>/tests/fixtures). Conventions as
tools/gen_fixtures.py: a tensor is {"shape", "data"} (row-major), non-finite numbers are the
strings "nan", "inf", "-inf", float32 values are stored as their exact doubles. Every case is
computed in float32 and float64 from the same (float32-representable) inputs. Deterministic.

ops2.json  cases: {"op", "dtype", "inputs": [tensors, each requires grad], "ints": {name: int
           tensor}, "bools": {name: bool tensor}, "args": {...}, "out", "grad_out", "grads": [per
           input, null when torch gives none]}; errors: {"name", "message"} — torch's text for
           a bad call the C++ test repeats.
layers.json "batchnorm": training steps then eval of BatchNorm1d/2d; "layernorm", "embedding";
           "reprs": str(module) for each layer; "gains", "fans" for nn.init; "num_parameters".
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

GENERATOR = "tools/gen_layer_fixtures.py"
torch.manual_seed(1234)
DTYPES = [("float32", torch.float32), ("float64", torch.float64)]


from gen_fixtures import jfloat  # one home for the JSON conventions (non-finite floats as strings)


def jt(t):
    if t is None:
        return None
    t = t.detach().contiguous()
    flat = t.reshape(-1).tolist()
    if t.dtype.is_floating_point:
        data = [jfloat(v) for v in flat]
    elif t.dtype == torch.bool:
        data = [bool(v) for v in flat]
    else:
        data = [int(v) for v in flat]
    return {"shape": list(t.shape), "data": data}


def rnd(*shape, lo=-2.0, hi=2.0):
    # float32-representable values, so float32 and float64 runs start from the same numbers
    return (lo + (hi - lo) * torch.rand(tuple(shape), dtype=torch.float64)).float().double()


def write(path, head, sections):
    dumps = lambda o: json.dumps(o, allow_nan=False, separators=(",", ":"))
    parts = ["{", ' "generator": %s,' % dumps(GENERATOR), ' "torch_version": %s,' % dumps(torch.__version__)]
    for k, v in head.items():
        parts.append(" %s: %s," % (dumps(k), dumps(v)))
    secs = []
    for name, items in sections.items():
        if isinstance(items, list):
            secs.append(" %s: [\n%s\n ]" % (dumps(name), ",\n".join("  " + dumps(c) for c in items)))
        else:
            secs.append(" %s: %s" % (dumps(name), dumps(items)))
    parts.append(",\n".join(secs))
    parts.append("}")
    text = "\n".join(parts) + "\n"
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)
    return len(text)


# ---------------------------------------------------------------------------- ops2.json

def op_case(op, fn, inputs, args=None, ints=None, bools=None, grad_mask=None):
    """fn(list of tensors) -> tensor; run in both dtypes, with a random upstream gradient."""
    out_cases = []
    gout64 = None
    for dname, dt in DTYPES:
        xs = []
        for i, x in enumerate(inputs):
            t = x.to(dt).clone()
            if grad_mask is None or grad_mask[i]:
                t.requires_grad_(True)
            xs.append(t)
        y = fn(xs)
        if gout64 is None:
            gout64 = rnd(*y.shape, lo=-1, hi=1)
        gout = gout64.to(dt)
        grads = [None] * len(xs)
        if y.requires_grad:
            need = [x for x in xs if x.requires_grad]
            gs = torch.autograd.grad(y, need, gout, allow_unused=True)
            k = 0
            for i, x in enumerate(xs):
                if x.requires_grad:
                    grads[i] = gs[k]
                    k += 1
        out_cases.append({
            "op": op, "dtype": dname, "inputs": [jt(x) for x in xs],
            "requires_grad": [bool(x.requires_grad) for x in xs],
            "ints": {k: jt(v) for k, v in (ints or {}).items()},
            "bools": {k: jt(v) for k, v in (bools or {}).items()},
            "args": args or {}, "out": jt(y), "grad_out": jt(gout), "grads": [jt(g) for g in grads],
        })
    return out_cases


def gen_ops():
    cases = []
    add = lambda *a, **k: cases.extend(op_case(*a, **k))
    # joins
    add("cat", lambda x: torch.cat(x, 1), [rnd(2, 3), rnd(2, 1), rnd(2, 2)], {"dim": 1})
    add("cat", lambda x: torch.cat(x, 0), [rnd(1, 2, 3), rnd(2, 2, 3)], {"dim": 0})
    add("cat", lambda x: torch.cat(x, -1), [rnd(2, 2), torch.zeros(0, dtype=torch.float64), rnd(2, 3)], {"dim": -1})
    add("stack", lambda x: torch.stack(x, 0), [rnd(2, 3), rnd(2, 3)], {"dim": 0})
    add("stack", lambda x: torch.stack(x, -1), [rnd(2, 3), rnd(2, 3), rnd(2, 3)], {"dim": -1})
    add("stack", lambda x: torch.stack(x, 1), [rnd(4), rnd(4)], {"dim": 1})
    # slicing
    add("narrow", lambda x: torch.narrow(x[0], 1, -3, 2), [rnd(2, 4, 2)], {"dim": 1, "start": -3, "length": 2})
    add("narrow", lambda x: torch.narrow(x[0], 0, 1, 0), [rnd(3, 2)], {"dim": 0, "start": 1, "length": 0})
    for dim, start, end, step in [(1, 1, None, 2), (0, None, -1, 1), (-1, -10, 10, 3), (1, 3, 1, 1), (0, 2, None, 1)]:
        def sl(x, dim=dim, start=start, end=end, step=step):
            idx = [slice(None)] * x[0].dim()
            idx[dim] = slice(start, end, step)
            return x[0][tuple(idx)]
        add("slice", sl, [rnd(4, 5)], {"dim": dim, "start": start, "end": end, "step": step})
    # indexing
    i1 = torch.tensor([2, 0, 2, 1])
    add("index_select", lambda x: torch.index_select(x[0], 1, i1), [rnd(2, 3, 2)], {"dim": 1}, ints={"index": i1})
    i0 = torch.tensor([1])
    add("index_select", lambda x: torch.index_select(x[0], 0, i0), [rnd(3, 4)], {"dim": 0}, ints={"index": i0})
    g1 = torch.tensor([[0, 2], [1, 1], [2, 0]])
    add("gather", lambda x: torch.gather(x[0], 1, g1), [rnd(3, 3)], {"dim": 1}, ints={"index": g1})
    g2 = torch.tensor([[[1, 0], [0, 0]], [[1, 1], [0, 1]]])
    add("gather", lambda x: torch.gather(x[0], 0, g2), [rnd(2, 3, 2)], {"dim": 0}, ints={"index": g2})
    c1 = torch.tensor([[True, False, True], [False, False, True]])
    add("where", lambda x: torch.where(c1, x[0], x[1]), [rnd(2, 3), rnd(3)], bools={"cond": c1})
    c2 = torch.tensor([True, False, False])
    add("where", lambda x: torch.where(c2, x[0], x[1]), [rnd(2, 1), rnd(1, 3)], bools={"cond": c2})
    # element-wise with ties, NaN and broadcasting
    a = torch.tensor([[1.0, 2.0, 3.0, float("nan")], [0.5, -1.0, 4.0, 2.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 3.0, 2.0, 1.0], [0.5, -2.0, 4.0, float("nan")]], dtype=torch.float64)
    add("maximum", lambda x: torch.maximum(x[0], x[1]), [a, b])
    add("minimum", lambda x: torch.minimum(x[0], x[1]), [a, b])
    add("maximum", lambda x: torch.maximum(x[0], x[1]), [rnd(2, 3), rnd(3)])
    add("minimum", lambda x: torch.minimum(x[0], x[1]), [rnd(3, 1), rnd(1, 2)])
    add("log1p", lambda x: torch.log1p(x[0]), [torch.tensor([-0.5, 0.0, 1e-7, 3.0, -1.0], dtype=torch.float64)])
    add("square", lambda x: torch.square(x[0]), [rnd(2, 3)])
    base = torch.tensor([[0.0, 0.0, 2.0, -2.0], [1.5, 0.0, -1.0, 3.0]], dtype=torch.float64)
    expo = torch.tensor([[2.0, 0.0, -1.5, 3.0], [0.5, -1.0, 2.0, 0.0]], dtype=torch.float64)
    add("pow_tensor", lambda x: torch.pow(x[0], x[1]), [base, expo])
    add("pow_tensor", lambda x: torch.pow(x[0], x[1]), [rnd(2, 3, lo=0.5, hi=2), rnd(3)])
    add("gelu", lambda x: F.gelu(x[0]), [rnd(3, 4, lo=-4, hi=4)], {"approximate": "none"})
    add("gelu", lambda x: F.gelu(x[0], approximate="tanh"), [rnd(3, 4, lo=-4, hi=4)], {"approximate": "tanh"})
    add("leaky_relu", lambda x: F.leaky_relu(x[0], 0.2), [torch.tensor([-2.0, -0.0, 0.0, 1.0, 3.0], dtype=torch.float64)],
        {"negative_slope": 0.2})
    add("leaky_relu", lambda x: F.leaky_relu(x[0]), [rnd(2, 3)], {"negative_slope": 0.01})
    # reductions
    t = torch.tensor([[3.0, 1.0, 1.0], [2.0, 5.0, 1.0]], dtype=torch.float64)
    add("min", lambda x: torch.min(x[0]), [t])
    add("min_dim", lambda x: torch.min(x[0], 1).values, [t], {"dim": 1, "keepdim": False})
    add("min_dim", lambda x: torch.min(x[0], 0, keepdim=True).values, [rnd(3, 2, 2)], {"dim": 0, "keepdim": True})
    for dims, keep in [([0, 2], False), ([-1, 0], True), ([], False), ([1], True)]:
        add("sum_dims", lambda x, d=dims, k=keep: torch.sum(x[0], d, keepdim=k), [rnd(2, 3, 4)], {"dims": dims, "keepdim": keep})
        add("mean_dims", lambda x, d=dims, k=keep: torch.mean(x[0], d, keepdim=k), [rnd(2, 3, 4)], {"dims": dims, "keepdim": keep})
    const_row = torch.tensor([[1.5, 1.5, 1.5], [0.0, 1.0, 3.0]], dtype=torch.float64)
    for opname, f in [("var", torch.var), ("std", torch.std)]:
        add(opname, lambda x, f=f: f(x[0]), [rnd(3, 4)], {"dims": None, "correction": 1, "keepdim": False})
        add(opname, lambda x, f=f: f(x[0], [0, 2], unbiased=False, keepdim=True), [rnd(3, 2, 4)],
            {"dims": [0, 2], "correction": 0, "keepdim": True})
        add(opname, lambda x, f=f: f(x[0], 1), [const_row], {"dims": [1], "correction": 1, "keepdim": False})
        add(opname, lambda x, f=f: f(x[0], 1, correction=2), [rnd(2, 5)], {"dims": [1], "correction": 2, "keepdim": False})
        add(opname, lambda x, f=f: f(x[0], 0), [rnd(1, 3)], {"dims": [0], "correction": 1, "keepdim": False})
    # normalisation
    for shape in [(4, 3), (3, 2, 4), (2, 3, 2, 2)]:
        C = shape[1]
        w, bb = rnd(C, lo=0.5, hi=1.5), rnd(C, lo=-0.5, hi=0.5)
        rm0, rv0 = rnd(C, lo=-0.5, hi=0.5), rnd(C, lo=0.5, hi=2)
        for training in [True, False]:
            for affine in [True, False]:
                res = {}

                def bn(x, training=training, affine=affine, rm0=rm0, rv0=rv0, res=res):
                    rm, rv = rm0.to(x[0].dtype).clone(), rv0.to(x[0].dtype).clone()
                    y = F.batch_norm(x[0], rm, rv, x[1] if affine else None, x[2] if affine else None,
                                     training=training, momentum=0.3, eps=1e-3)
                    res[str(x[0].dtype)] = (rm, rv)
                    return y
                cs = op_case("batch_norm", bn, [rnd(*shape), w, bb],
                             {"training": training, "momentum": 0.3, "eps": 1e-3, "affine": affine},
                             ints={}, grad_mask=[True, affine, affine])
                for c, (dname, dt) in zip(cs, DTYPES):
                    rm, rv = res[str(dt)]
                    c["args"]["running_mean_in"] = jt(rm0.to(dt))
                    c["args"]["running_var_in"] = jt(rv0.to(dt))
                    c["args"]["running_mean_out"] = jt(rm)
                    c["args"]["running_var_out"] = jt(rv)
                cases.extend(cs)
    for shape, ns, affine, eps in [((3, 4), [4], True, 1e-5), ((2, 3, 4), [3, 4], True, 1e-5), ((2, 5), [5], False, 1e-2)]:
        w, bb = rnd(*ns, lo=0.5, hi=1.5), rnd(*ns, lo=-0.5, hi=0.5)
        add("layer_norm", lambda x, ns=ns, affine=affine, eps=eps: F.layer_norm(x[0], ns, x[1] if affine else None,
                                                                              x[2] if affine else None, eps),
            [rnd(*shape), w, bb], {"normalized_shape": ns, "eps": eps, "affine": affine}, grad_mask=[True, affine, affine])
    ei = torch.tensor([[0, 2, 0], [3, 1, 2]])
    for pad in [None, 2, -4]:
        add("embedding", lambda x, pad=pad: F.embedding(ei, x[0], padding_idx=pad), [rnd(4, 3)],
            {"padding_idx": pad}, ints={"index": ei})
    add("dropout", lambda x: F.dropout(x[0], 0.0, True), [rnd(2, 3)], {"p": 0.0, "training": True})
    add("dropout", lambda x: F.dropout(x[0], 0.7, False), [rnd(2, 3)], {"p": 0.7, "training": False})
    add("dropout", lambda x: F.dropout(x[0], 1.0, True), [rnd(2, 3)], {"p": 1.0, "training": True})
    return cases


def capture(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the message is the fixture
        return str(e).split("\n")[0]
    raise AssertionError("no error")


def gen_errors():
    z = torch.zeros
    errs = {
        "cat_sizes": lambda: torch.cat([z(2, 3), z(3, 3)], 1),
        "cat_ndim": lambda: torch.cat([z(2, 3), z(3)], 0),
        "cat_empty_list": lambda: torch.cat([], 0),
        "cat_zero_dim": lambda: torch.cat([z(()), z(())], 0),
        "cat_dim": lambda: torch.cat([z(2, 3), z(2, 3)], 2),
        "stack_sizes": lambda: torch.stack([z(2, 3), z(2, 4)]),
        "stack_empty": lambda: torch.stack([]),
        "narrow_start": lambda: torch.narrow(z(2, 3), 1, 4, 1),
        "narrow_length": lambda: torch.narrow(z(2, 3), 1, 2, 2),
        "narrow_0d": lambda: torch.narrow(z(()), 0, 0, 1),
        "slice_step": lambda: z(4)[::-1],
        "index_select_range": lambda: torch.index_select(z(2, 3), 1, torch.tensor([0, 3])),
        "index_select_vector": lambda: torch.index_select(z(2, 3), 1, torch.tensor([[0]])),
        "gather_ndim": lambda: torch.gather(z(2, 3), 1, torch.tensor([0, 1])),
        "gather_range": lambda: torch.gather(z(2, 3), 1, torch.tensor([[0], [3]])),
        "gather_size": lambda: torch.gather(z(2, 2), 0, torch.tensor([[0, 0, 0]])),
        "where_shape": lambda: torch.where(torch.tensor([True, False]), z(3), z(3)),
        "maximum_shape": lambda: torch.maximum(z(2), z(3)),
        "sum_repeat": lambda: torch.sum(z(2, 3), [0, 0]),
        "var_dim": lambda: torch.var(z(2, 3), 2),
        "min_empty": lambda: torch.min(z(0)),
        "gelu_approximate": lambda: F.gelu(z(2), approximate="fast"),
        "dropout_p": lambda: F.dropout(z(2), 1.5),
        "dropout_module_p": lambda: nn.Dropout(-0.1),
        "batch_norm_one_value": lambda: F.batch_norm(z(1, 3), z(3), torch.ones(3), training=True),
        "batch_norm_running_size": lambda: F.batch_norm(z(2, 3), z(4), torch.ones(4), training=True),
        "batch_norm_eval_no_stats": lambda: F.batch_norm(z(4, 3), None, None, training=False),
        "batch_norm_weight_size": lambda: F.batch_norm(z(2, 3), z(3), torch.ones(3), torch.ones(2), training=False),
        "batchnorm1d_dims": lambda: nn.BatchNorm1d(3)(z(2, 3, 2, 2)),
        "batchnorm2d_dims": lambda: nn.BatchNorm2d(3)(z(2, 3, 2)),
        "layer_norm_shape": lambda: F.layer_norm(z(2, 3), [4]),
        "layer_norm_weight": lambda: F.layer_norm(z(2, 3), [3], torch.ones(2)),
        "embedding_index": lambda: F.embedding(torch.tensor([0, 5]), z(4, 2)),
        "embedding_padding": lambda: nn.Embedding(4, 2, padding_idx=4),
        "kaiming_1d": lambda: nn.init.kaiming_uniform_(z(3)),
        "kaiming_mode": lambda: nn.init.kaiming_normal_(z(2, 3), mode="fan_avg"),
        "xavier_1d": lambda: nn.init.xavier_uniform_(z(3)),
        "gain_unsupported": lambda: nn.init.calculate_gain("softplus"),
        "normal_std": lambda: nn.init.normal_(z(2), 0.0, -1.0),
    }
    return [{"name": k, "message": capture(f)} for k, f in errs.items()]


# ---------------------------------------------------------------------------- layers.json

def gen_batchnorm():
    out = []
    configs = [
        ("BatchNorm1d", (4, 3), dict(momentum=0.1)),
        ("BatchNorm1d", (3, 2, 4), dict(momentum=None)),
        ("BatchNorm1d", (5, 3), dict(momentum=0.3, affine=False, eps=1e-3)),
        ("BatchNorm1d", (4, 2), dict(track_running_stats=False)),
        ("BatchNorm2d", (2, 3, 2, 2), dict(momentum=0.2)),
        ("BatchNorm2d", (3, 2, 2, 3), dict(momentum=None, eps=1e-2)),
    ]
    for kind, shape, kw in configs:
        C = shape[1]
        w, b = rnd(C, lo=0.5, hi=1.5), rnd(C, lo=-0.5, hi=0.5)
        xs = [rnd(*shape, lo=-3, hi=3) + 0.5 * k for k in range(3)] + [rnd(*shape)]
        gs = [rnd(*shape, lo=-1, hi=1) for _ in xs]
        for dname, dt in DTYPES:
            m = getattr(nn, kind)(C, **kw).to(dt)
            if m.affine:
                with torch.no_grad():
                    m.weight.copy_(w.to(dt))
                    m.bias.copy_(b.to(dt))
            steps = []
            for k, (x, g) in enumerate(zip(xs, gs)):
                if k == 3:
                    m.eval()
                xx = x.to(dt).clone().requires_grad_(True)
                m.zero_grad()
                y = m(xx)
                y.backward(g.to(dt))
                st = {"training": k < 3, "x": jt(xx), "grad_out": jt(g.to(dt)), "y": jt(y), "grad_x": jt(xx.grad)}
                if m.affine:
                    st["grad_weight"] = jt(m.weight.grad)
                    st["grad_bias"] = jt(m.bias.grad)
                if m.track_running_stats:
                    st["running_mean"] = jt(m.running_mean)
                    st["running_var"] = jt(m.running_var)
                    st["num_batches_tracked"] = int(m.num_batches_tracked)
                steps.append(st)
            out.append({"kind": kind, "dtype": dname, "num_features": C, "eps": m.eps, "momentum": m.momentum,
                        "affine": m.affine, "track_running_stats": m.track_running_stats,
                        "weight": jt(w.to(dt)), "bias": jt(b.to(dt)), "steps": steps})
    return out


def gen_layernorm():
    out = []
    for shape, ns, kw in [((3, 4), [4], {}), ((2, 3, 4), [3, 4], dict(eps=1e-3)), ((2, 2, 3), [3], dict(elementwise_affine=False))]:
        x, g = rnd(*shape, lo=-3, hi=3), rnd(*shape, lo=-1, hi=1)
        w, b = rnd(*ns, lo=0.5, hi=1.5), rnd(*ns, lo=-0.5, hi=0.5)
        for dname, dt in DTYPES:
            m = nn.LayerNorm(ns, **kw).to(dt)
            if m.elementwise_affine:
                with torch.no_grad():
                    m.weight.copy_(w.to(dt))
                    m.bias.copy_(b.to(dt))
            xx = x.to(dt).clone().requires_grad_(True)
            y = m(xx)
            y.backward(g.to(dt))
            c = {"dtype": dname, "normalized_shape": ns, "eps": m.eps, "elementwise_affine": m.elementwise_affine,
                 "weight": jt(w.to(dt)), "bias": jt(b.to(dt)), "x": jt(xx), "grad_out": jt(g.to(dt)), "y": jt(y),
                 "grad_x": jt(xx.grad)}
            if m.elementwise_affine:
                c["grad_weight"] = jt(m.weight.grad)
                c["grad_bias"] = jt(m.bias.grad)
            out.append(c)
    return out


def gen_embedding():
    out = []
    idx = torch.tensor([[1, 3, 1], [0, 3, 2]])
    for pad in [None, 1, -1]:
        w = rnd(5, 3)
        for dname, dt in DTYPES:
            m = nn.Embedding(5, 3, padding_idx=pad).to(dt)
            with torch.no_grad():
                m.weight.copy_(w.to(dt))
            y = m(idx)
            g = rnd(*y.shape).to(dt)
            y.backward(g)
            out.append({"dtype": dname, "num_embeddings": 5, "embedding_dim": 3, "padding_idx": pad,
                        "padding_idx_stored": m.padding_idx, "weight": jt(w.to(dt)), "index": jt(idx),
                        "y": jt(y), "grad_out": jt(g), "grad_weight": jt(m.weight.grad)})
    return out


def gen_reprs():
    mods = {
        "linear": nn.Linear(784, 256),
        "linear_nobias": nn.Linear(3, 2, bias=False),
        "relu": nn.ReLU(), "identity": nn.Identity(), "tanh": nn.Tanh(), "sigmoid": nn.Sigmoid(),
        "gelu": nn.GELU(), "gelu_tanh": nn.GELU(approximate="tanh"),
        "leaky_relu": nn.LeakyReLU(), "leaky_relu_0.2": nn.LeakyReLU(0.2),
        "softmax": nn.Softmax(dim=1), "log_softmax": nn.LogSoftmax(dim=-1),
        "dropout": nn.Dropout(), "dropout_0.25": nn.Dropout(0.25), "dropout_0": nn.Dropout(0.0),
        "bn1d": nn.BatchNorm1d(4), "bn1d_none": nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False,
                                                               track_running_stats=False),
        "bn2d": nn.BatchNorm2d(16, momentum=0.01), "bn2d_eps": nn.BatchNorm2d(3, eps=1e-10),
        "layernorm": nn.LayerNorm(4), "layernorm2": nn.LayerNorm([3, 4], eps=1e-6, elementwise_affine=False),
        "embedding": nn.Embedding(10, 3), "embedding_pad": nn.Embedding(10, 3, padding_idx=-1),
        "flatten": nn.Flatten(),
        "sequential": nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                                    nn.Linear(256, 128), nn.LayerNorm(128), nn.GELU(), nn.Linear(128, 10),
                                    nn.LogSoftmax(dim=1)),
        "nested": nn.Sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), nn.Identity()),
        "empty": nn.Sequential(),
    }
    return {k: repr(m) for k, m in mods.items()}


def gen_init():
    gains = []
    for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                  ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]:
        gains.append({"nonlinearity": nl, "param": p, "gain": nn.init.calculate_gain(nl, p)})
    fans = []
    for shape in [(3, 5), (8, 4, 3, 3), (2, 6, 5)]:
        fi, fo = nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        fans.append({"shape": list(shape), "fan_in": fi, "fan_out": fo})
    return gains, fans


def gen_num_parameters():
    m = nn.Sequential(nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10, bias=False),
                      nn.LayerNorm(10), nn.Embedding(7, 3))
    m[3].weight.requires_grad_(False)
    return {"total": sum(p.numel() for p in m.parameters()),
            "trainable": sum(p.numel() for p in m.parameters() if p.requires_grad)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    a = ap.parse_args()
    ops = gen_ops()
    errs = gen_errors()
    n1 = write(os.path.join(a.out, "ops2.json"), {}, {"cases": ops, "errors": errs})
    gains, fans = gen_init()
    n2 = write(os.path.join(a.out, "layers.json"), {}, {
        "batchnorm": gen_batchnorm(), "layernorm": gen_layernorm(), "embedding": gen_embedding(),
        "reprs": gen_reprs(), "gains": gains, "fans": fans, "num_parameters": gen_num_parameters()})
    print("ops2.json: %d cases, %d errors, %d bytes" % (len(ops), len(errs), n1))
    print("layers.json: %d bytes" % n2)


if __name__ == "__main__":
    main()
