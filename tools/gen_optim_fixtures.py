#!/usr/bin/env python3
"""PyTorch reference fixtures for tapegrad's optimizers, schedulers and gradient clipping.

Reference semantics: PyTorch 1.13 (foreach=False, the single-tensor code).  Run with the
interpreter that has torch:

    /usr/bin/python3 tools/gen_optim_fixtures.py [--out DIR]

Writes into DIR (default: <repo>/tests/fixtures):
  optimizers.json     Adam, AdamW, RMSprop (and SGD through SGDOptions) trajectories: several
                      steps on small parameters with fixed gradient sequences, every option
                      combination, two param groups with their own lr / weight_decay, float32 and
                      float64; the parameters after every step and the final state_dict.
  lr_schedulers2.json ExponentialLR, MultiStepLR, LinearLR, OneCycleLR (momentum / beta1 too),
                      ReduceLROnPlateau: every group's lr after construction and after each step.
  clip_grad.json      clip_grad_norm_ (norms 2, 1, inf, 3, 0.5; with and without clipping) and
                      clip_grad_value_, float32 and float64.
Conventions as tools/gen_fixtures.py: tensors are {"shape", "data"}, non-finite numbers are the
strings "nan", "inf", "-inf", float32 values are stored as their exact double values.
"""

import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import jfloat, jtensor, write_fixture  # noqa: E402

GENERATOR = "tools/gen_optim_fixtures.py"
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SHAPES = [(3, 4), (5,), (2, 3)]  # small (torch's scalar loops; its vector loops fuse the same products)
STEPS = 7

# optimizer, options, per-group overrides (None: one group)
OPT_CONFIGS = [
    ("Adam", dict(lr=0.01), None),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6), None),
    ("Adam", dict(lr=0.01, amsgrad=True), None),
    ("Adam", dict(lr=0.01, maximize=True), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), None),
    ("Adam", dict(lr=0.02, weight_decay=0.05, amsgrad=True, maximize=True), None),
    ("Adam", dict(lr=0.01, betas=(0.0, 0.5)), None),
    ("Adam", dict(lr=0.01, weight_decay=0.1), [dict(), dict(lr=0.1, weight_decay=0.0)]),
    ("AdamW", dict(lr=0.01), None),
    ("AdamW", dict(lr=0.01, weight_decay=0.0), None),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True), None),
    ("AdamW", dict(lr=0.01, maximize=True), None),
    ("AdamW", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-4, amsgrad=True, maximize=True), None),
    ("AdamW", dict(lr=0.01), [dict(), dict(lr=0.003, weight_decay=0.0)]),
    ("RMSprop", dict(lr=0.01), None),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9), None),
    ("RMSprop", dict(lr=0.01, centered=True), None),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5), None),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1), None),
    ("RMSprop", dict(lr=0.01, maximize=True, momentum=0.9, weight_decay=0.05), None),
    ("RMSprop", dict(lr=0.01, momentum=0.9), [dict(), dict(lr=0.05, weight_decay=0.2, alpha=0.5)]),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), None),
    ("SGD", dict(lr=0.1, momentum=0.9), [dict(), dict(lr=0.01, weight_decay=0.1, dampening=0.5)]),
]


def opt_options_json(d):
    out = dict(d)
    if "betas" in out:
        out["betas"] = list(out["betas"])
    return out


def gen_optimizers():
    cases = []
    gen = torch.Generator().manual_seed(1234)
    for k, (name, options, groups) in enumerate(OPT_CONFIGS):
        for dname, dtype in DTYPES.items():
            init = [torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]
            grads = [[torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]
                     for _ in range(STEPS)]
            params = [p.clone().requires_grad_(True) for p in init]
            cls = getattr(torch.optim, name)
            kw = dict(options)
            if name != "SGD":
                kw["foreach"] = False
            if groups is None:
                group_params = [list(range(len(params)))]
                opt = cls(params, **kw)
            else:
                group_params = [[0, 2], [1]]
                opt = cls([dict(params=[params[i] for i in idx], **ov) for idx, ov in zip(group_params, groups)], **kw)
            expected = []
            for step in range(STEPS):
                for p, g in zip(params, grads[step]):
                    p.grad = None if (step == 2 and p is params[1]) else g.clone()  # a step without a gradient
                opt.step()
                expected.append([jtensor(p.detach().clone()) for p in params])
            sd = opt.state_dict()
            state = {}
            for idx, st in sd["state"].items():
                state[str(idx)] = {key: (jtensor(v.reshape(())) if key == "step" and torch.is_tensor(v)
                                         else (jtensor(torch.tensor(float(v))) if key == "step" else jtensor(v)))
                                   for key, v in st.items() if v is not None}
            pgroups = []
            for g in sd["param_groups"]:
                pg = {}
                for key, v in g.items():
                    if key in ("foreach", "capturable", "differentiable", "fused"):
                        continue
                    if isinstance(v, (tuple, list)):
                        pg[key] = [jfloat(x) if not isinstance(x, int) or isinstance(x, bool) else x for x in v]
                    elif isinstance(v, bool):
                        pg[key] = v
                    else:
                        pg[key] = jfloat(v)
                pgroups.append(pg)
            cases.append({
                "name": "%d_%s_%s" % (k, name, "_".join("%s=%s" % kv for kv in sorted(options.items()))),
                "optimizer": name, "dtype": dname, "options": opt_options_json(options),
                "groups": None if groups is None else [dict(params=idx, **ov) for idx, ov in zip(group_params, groups)],
                "params": [jtensor(p) for p in init],
                "grads": [[None if (s == 2 and i == 1) else jtensor(g) for i, g in enumerate(gs)]
                          for s, gs in enumerate(grads)],
                "expected": expected,
                "state": state,
                "param_groups": pgroups,
            })
    return cases


# ---------------------------------------------------------------------------

SCHED_CONFIGS = [
    # scheduler, kwargs, optimizer, optimizer kwargs, group lrs, steps, metrics (ReduceLROnPlateau)
    ("ExponentialLR", dict(gamma=0.9), "SGD", dict(momentum=0.9), [0.1, 0.02], 25),
    ("ExponentialLR", dict(gamma=1.0), "SGD", dict(), [0.1], 5),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5), "SGD", dict(momentum=0.9), [0.1, 0.3], 14),
    ("MultiStepLR", dict(milestones=[9, 3], gamma=0.1), "Adam", dict(), [0.001], 12),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=4), "SGD", dict(), [0.1, 0.01], 10),
    ("LinearLR", dict(), "AdamW", dict(), [0.001], 8),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=7), "SGD", dict(), [0.5], 12),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=20), "SGD", dict(momentum=0.9), [0.1, 0.1], 20),
    ("OneCycleLR", dict(max_lr=[0.1, 0.01], epochs=3, steps_per_epoch=7, pct_start=0.25,
                        anneal_strategy="linear"), "SGD", dict(momentum=0.9, nesterov=True), [0.1, 0.1], 21),
    ("OneCycleLR", dict(max_lr=0.01, total_steps=30, three_phase=True, div_factor=10.0, final_div_factor=100.0),
     "Adam", dict(), [0.001, 0.001], 30),
    ("OneCycleLR", dict(max_lr=0.003, total_steps=16, cycle_momentum=False), "AdamW", dict(), [0.001], 16),
    ("OneCycleLR", dict(max_lr=0.02, total_steps=17, base_momentum=0.8, max_momentum=0.9, pct_start=0.4),
     "RMSprop", dict(momentum=0.5), [0.01], 17),
    ("ReduceLROnPlateau", dict(patience=2, factor=0.5), "SGD", dict(), [0.1, 0.05], 0),
    ("ReduceLROnPlateau", dict(mode="max", patience=1, threshold=0.1, threshold_mode="abs", cooldown=2,
                               min_lr=[0.02, 0.001]), "Adam", dict(), [0.1, 0.01], 0),
    ("ReduceLROnPlateau", dict(patience=0, factor=0.3, threshold=0.05, cooldown=1, min_lr=0.004, eps=1e-3),
     "SGD", dict(momentum=0.9), [0.1], 0),
]
METRICS = [1.0, 0.9, 0.95, 0.91, 0.92, 0.905, 0.8, 0.85, 0.86, 0.87, 0.79, 0.792, float("nan"), 0.7,
           0.71, 0.72, 0.73, 0.74, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65]
MAX_METRICS = [0.1, 0.3, 0.35, 0.36, 0.5, 0.55, 0.45, 0.62, 0.61, 0.6, 0.59, 0.8, 0.79, 0.78, 0.77, 0.76,
               0.9, 0.89, 0.88, 0.87]


def gen_schedulers():
    cases = []
    for (name, kw, oname, okw, lrs, steps) in SCHED_CONFIGS:
        params = [torch.nn.Parameter(torch.zeros(2)) for _ in lrs]
        ocls = getattr(torch.optim, oname)
        opt = ocls([dict(params=[p], lr=lr) for p, lr in zip(params, lrs)], lr=lrs[0], **okw)
        sched = getattr(torch.optim.lr_scheduler, name)(opt, **kw)

        def snapshot():
            row = {"lr": [g["lr"] for g in opt.param_groups]}
            if "betas" in opt.defaults:
                row["beta1"] = [g["betas"][0] for g in opt.param_groups]
            if "momentum" in opt.defaults:
                row["momentum"] = [g["momentum"] for g in opt.param_groups]
            return row

        rows = [snapshot()]
        metrics = None
        if name == "ReduceLROnPlateau":
            metrics = MAX_METRICS if kw.get("mode") == "max" else METRICS
            for m in metrics:
                opt.step()
                sched.step(m)
                rows.append(snapshot())
        else:
            for _ in range(steps):
                opt.step()
                sched.step()
                rows.append(snapshot())
        final = {}
        for key, v in sched.state_dict().items():
            if isinstance(v, bool):
                final[key] = v
            elif isinstance(v, (int, float)):
                final[key] = jfloat(v)
            elif isinstance(v, list) and all(isinstance(x, (int, float)) for x in v):
                final[key] = [jfloat(x) for x in v]
        if name == "OneCycleLR":  # one step too many: torch's error
            try:
                sched.step()
                too_many = None
            except ValueError as e:
                too_many = str(e)
        else:
            too_many = None
        cases.append({"scheduler": name, "kwargs": kw, "optimizer": oname, "optimizer_kwargs": okw, "lrs": lrs,
                      "steps": steps, "metrics": None if metrics is None else [jfloat(m) for m in metrics],
                      "rows": rows, "state_dict": final, "too_many_steps_error": too_many})
    return cases


# ---------------------------------------------------------------------------

CLIP_NORM_CONFIGS = [
    # max_norm, norm_type, gradient scale
    (1.0, 2.0, 1.0),
    (100.0, 2.0, 1.0),   # no clipping (coefficient clamped to 1)
    (0.5, 1.0, 1.0),
    (0.3, float("inf"), 1.0),
    (2.0, 3.0, 1.0),
    (0.1, 0.5, 0.1),
    (1.0, 2.0, 1e-8),    # a tiny norm: the 1e-6 matters
    (5.0, float("inf"), 3.0),
]


def gen_clip():
    cases = []
    gen = torch.Generator().manual_seed(99)
    for dname, dtype in DTYPES.items():
        for (max_norm, norm_type, scale) in CLIP_NORM_CONFIGS:
            grads = [(torch.randn(*s, generator=gen, dtype=torch.float64) * scale).to(dtype) for s in SHAPES]
            params = [torch.zeros(*s, dtype=dtype, requires_grad=True) for s in SHAPES]
            for p, g in zip(params, grads):
                p.grad = g.clone()
            total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
            cases.append({"fn": "clip_grad_norm_", "dtype": dname, "max_norm": max_norm, "norm_type": jfloat(norm_type),
                          "grads": [jtensor(g) for g in grads], "total_norm": jfloat(total.item()),
                          "expected": [jtensor(p.grad) for p in params]})
        for clip_value in [0.5, 0.0, 10.0]:
            grads = [torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]
            grads[0][0, 0] = float("nan")
            params = [torch.zeros(*s, dtype=dtype, requires_grad=True) for s in SHAPES]
            for p, g in zip(params, grads):
                p.grad = g.clone()
            torch.nn.utils.clip_grad_value_(params, clip_value)
            cases.append({"fn": "clip_grad_value_", "dtype": dname, "clip_value": clip_value,
                          "grads": [jtensor(g) for g in grads], "expected": [jtensor(p.grad) for p in params]})
        # a NaN gradient: the total norm is NaN and, without error_if_nonfinite, every gradient becomes NaN
        grads = [torch.randn(*s, generator=gen, dtype=torch.float64).to(dtype) for s in SHAPES]
        grads[1][2] = float("nan")
        params = [torch.zeros(*s, dtype=dtype, requires_grad=True) for s in SHAPES]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, 1.0)
        cases.append({"fn": "clip_grad_norm_", "dtype": dname, "max_norm": 1.0, "norm_type": 2.0,
                      "grads": [jtensor(g) for g in grads], "total_norm": jfloat(total.item()),
                      "expected": [jtensor(p.grad) for p in params]})
    try:
        p = torch.zeros(2, requires_grad=True)
        p.grad = torch.tensor([float("inf"), 1.0])
        torch.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        err = None
    except RuntimeError as e:
        err = str(e)
    return cases, err


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
    args = ap.parse_args(argv)
    torch.manual_seed(1234)
    extra = {"generator": GENERATOR}
    opt = gen_optimizers()
    write_fixture(args.out, "optimizers.json", opt, extra)
    print("optimizers: %d cases" % len(opt))
    sch = gen_schedulers()
    write_fixture(args.out, "lr_schedulers2.json", sch, extra)
    print("lr_schedulers2: %d cases" % len(sch))
    clip, err = gen_clip()
    write_fixture(args.out, "clip_grad.json", clip, dict(extra, nonfinite_error=err))
    print("clip_grad: %d cases" % len(clip))


if __name__ == "__main__":
    main()
