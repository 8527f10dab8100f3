#!/usr/bin/env python3
"""Runs the MLP and CNN benchmarks (bench/README.md) and prints their tables.

Builds the benchmark programs, then runs them in alternation (floor, tapegrad, libtorch, ...
again and again) so that a slow spell of the machine hits every system alike:

  MLP  threads 1, batch 64:  --rounds rounds  (default 3) × --epochs epochs (default 5)
       threads 2, batch 64:  --rounds rounds
       threads 1 and 2, batch 256: --rounds-256 rounds (default 1)
  wide MLP 784-1024-1024-10 (--hidden 1024,1024), threads 1 and 2, batch 64 and 256: --wide-rounds
       rounds (default 1) × --wide-epochs epochs (default 2) each
  CNN  threads 1 and 2, batch 64: --cnn-rounds rounds (default 1) × --cnn-epochs epochs (default 3)

Each program prints one JSON line; a system's figure is the median over rounds of its per-run
medians of seconds per epoch. All JSON lines are also written to <build>/bench_results.jsonl.
Every program runs under the gemm_time shim (LD_PRELOAD of <build>/bench/libgemm_time.so, which
times each sgemm call; --no-gemm-time turns it off), so each row also says how many of its
seconds per epoch were spent inside GEMM calls and how many outside them.
libtorch rows are skipped when the libtorch peers were not built (libtorch not installed).

Usage: bench/run_bench.py [--build-dir build] [--workloads mlp,cnn] [--rounds 3] [--epochs 5]
                          [--cnn-rounds 1] [--cnn-epochs 3] [--no-build] [--threads 1,2] [--no-256]
                          [--no-diagnostics] [--time-limit 20] [--cnn-time-limit 90]
                          [--rounds-256 1] [--no-wide] [--wide-rounds 1] [--wide-epochs 2]
                          [--wide-time-limit 60] [--no-gemm-time]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Environment variables that would change a program's thread counts behind its flags.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "MKL_NUM_THREADS",
              "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_PROC_BIND", "OMP_DYNAMIC")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def build(build_dir, jobs, workloads):
    subprocess.run(["cmake", "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"], check=True,
                   stdout=subprocess.DEVNULL)
    targets = [f"{p}_{w}" for w in workloads for p in ("floor", "bench")] + ["gemm_time"]
    cache = open(os.path.join(build_dir, "CMakeCache.txt")).read()
    have_torch = "Torch_DIR:PATH=" in cache and "Torch_DIR:PATH=Torch_DIR-NOTFOUND" not in cache
    if have_torch:
        targets += [f"libtorch_{w}" for w in workloads]
    subprocess.run(["cmake", "--build", build_dir, "-j", str(jobs), "--target", *targets], check=True)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


class Runner:
    def __init__(self, build_dir, workload, epochs, time_limit, out, gemm_time=True):
        self.bin = {
            "floor": os.path.join(build_dir, "bench", f"floor_{workload}"),
            "tapegrad": os.path.join(build_dir, "bench", f"bench_{workload}"),
            "libtorch": os.path.join(build_dir, "bench", "peers", f"libtorch_{workload}"),
        }
        self.workload = workload
        self.epochs = epochs
        self.time_limit = time_limit
        self.out = out
        self.env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
        shim = os.path.join(build_dir, "bench", "libgemm_time.so")
        if gemm_time and os.access(shim, os.R_OK):  # time every GEMM call (bench/gemm_time.cpp)
            self.env["LD_PRELOAD"] = " ".join(p for p in (shim, self.env.get("LD_PRELOAD")) if p)
        self.have_torch = os.access(self.bin["libtorch"], os.X_OK)

    def systems(self, threads, diagnostics):
        """(label, argv, extra env) of every system to run at this thread count."""
        s = [("floor", [self.bin["floor"]], {}), ("tapegrad", [self.bin["tapegrad"]], {})]
        if self.workload == "mlp":  # the optimizer in backward, and the gather on a worker thread
            s.append(("tapegrad, step in backward", [self.bin["tapegrad"], "--step-in-backward"], {}))
            s.append(("tapegrad, step in backward + prefetch",
                      [self.bin["tapegrad"], "--step-in-backward", "--prefetch"], {}))
        if self.have_torch:
            torch = [self.bin["libtorch"], "--time-limit", str(self.time_limit)]
            s.append(("libtorch-default", torch + ["--mode", "default"], {}))
            if threads > 1:  # at 1 thread both modes are the same setting
                s.append(("libtorch-1omp", torch + ["--mode", "1omp"], {}))
                if diagnostics:
                    s.append(("libtorch-default, OMP_WAIT_POLICY=passive", torch + ["--mode", "default"],
                              {"OMP_WAIT_POLICY": "passive"}))
        return s

    def run(self, label, argv, extra_env, threads, batch, hidden=None, epochs=None, time_limit=None):
        cmd = argv + ["--threads", str(threads), "--batch-size", str(batch), "--epochs", str(epochs or self.epochs)]
        if hidden:
            cmd += ["--hidden", hidden]
        if time_limit and "--time-limit" in cmd:
            cmd[cmd.index("--time-limit") + 1] = str(time_limit)
        env = dict(self.env, **extra_env)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                               timeout=self.time_limit * 3 + 120)
        except subprocess.TimeoutExpired:
            log(f"  {label}: timed out")
            return None
        wall = time.monotonic() - t0
        if p.returncode != 0:
            log(f"  {label}: exit {p.returncode}: {p.stderr.strip()[-500:]}")
            return None
        line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
        r = json.loads(line)
        r["label"], r["wall_s"], r["env"], r["workload"] = label, round(wall, 2), extra_env, self.workload
        self.out.write(json.dumps(r) + "\n")
        self.out.flush()
        log(f"  {label:44s} {r['median_s_per_epoch']:8.3f} s/epoch  ({wall:5.1f} s wall)")
        return r


def fmt(x, nd=3):
    return "–" if x is None else f"{x:.{nd}f}"


def gemm_split(runs):
    """(seconds per epoch inside GEMM calls, outside them): medians over rounds of each run's
    median epoch, or (None, None) without the shim's figures."""
    inside, outside = [], []
    for r in runs:
        g = r.get("gemm_s_per_epoch")
        if not g or len(g) != len(r["s_per_epoch"]):
            return None, None
        inside.append(statistics.median(g))
        outside.append(statistics.median(s - x for s, x in zip(r["s_per_epoch"], g)))
    return statistics.median(inside), statistics.median(outside)


def table(title, results, order, load):
    """results: label -> list of run dicts; load: 1-min load averages at the start and the end.
    Returns markdown."""
    med = {k: statistics.median(r["median_s_per_epoch"] for r in v) for k, v in results.items() if v}
    floor, tg = med.get("floor"), med.get("tapegrad")
    lines = [f"### {title}", "", f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end", "",
             "| system | s/epoch (median) | run medians | epochs min–max | × floor | × tapegrad "
             "| in GEMM s | outside GEMM s | acc. epoch 1 | acc. last | peak RSS MB | load s |",
             "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label in order:
        runs = results.get(label)
        if not runs:
            continue
        m = med[label]
        eps = [s for r in runs for s in r["s_per_epoch"]]
        trunc = any(r.get("epochs_requested", r["epochs"]) != r["epochs"] for r in runs)
        name = label + (" †" if trunc else "")
        accs1 = [r["accuracy_epoch1"] for r in runs if "accuracy_epoch1" in r]
        accsl = [r["accuracy_last"] for r in runs if "accuracy_last" in r]
        loads = [r["load_s"] for r in runs if "load_s" in r]
        rss = max(r["peak_rss_mb"] for r in runs)
        extra = f" ({statistics.median(r['gflops'] for r in runs):.0f} GFLOP/s)" if label == "floor" else ""
        run_meds = " / ".join(f"{r['median_s_per_epoch']:.3f}" for r in runs)
        inside, outside = gemm_split(runs)
        lines.append(
            f"| {name} | {m:.3f}{extra} | {run_meds} "
            f"| {min(eps):.3f}–{max(eps):.3f} | {fmt(m / floor if floor else None, 2)} "
            f"| {fmt(m / tg if tg else None, 2)} | {fmt(inside)} | {fmt(outside)} "
            f"| {fmt(statistics.median(accs1) if accs1 else None, 4)} "
            f"| {fmt(statistics.median(accsl) if accsl else None, 4)} | {rss:.0f} "
            f"| {fmt(statistics.median(loads) if loads else None, 2)} |")
    if any(r.get("epochs_requested", r["epochs"]) != r["epochs"] for v in results.values() for r in v):
        lines.append("")
        lines.append("† stopped early by --time-limit: fewer epochs than asked (see bench_results.jsonl)")
    return "\n".join(lines)


def run_sections(runner, configs, epochs, diagnostics):
    """configs: (threads, batch, rounds[, hidden, epochs, time limit]); returns the markdown tables."""
    sections = []
    for config in configs:
        threads, batch, rounds = config[:3]
        hidden, run_epochs, time_limit = (tuple(config[3:]) + (None, None, None))[:3]
        epochs_here = run_epochs or epochs
        systems = runner.systems(threads, diagnostics)
        results = {label: [] for label, _, _ in systems}
        section_load0 = os.getloadavg()[0]
        for rnd in range(rounds):
            log(f"{runner.workload}: threads {threads}, batch {batch}, round {rnd + 1}/{rounds}")
            for label, argv, env in systems:
                # the passive diagnostic once per section is enough
                if env and rnd > 0:
                    continue
                r = runner.run(label, argv, env, threads, batch, hidden, run_epochs, time_limit)
                if r:
                    results[label].append(r)
        model = f"MLP 784-{hidden.replace(',', '-')}-10, " if hidden else ""
        sections.append(table(f"{model}{threads} thread{'s' if threads > 1 else ''}, batch {batch}, "
                              f"{rounds} round{'s' if rounds > 1 else ''} × {epochs_here} "
                              f"epoch{'s' if epochs_here > 1 else ''}",
                              results, [label for label, _, _ in systems],
                              (section_load0, os.getloadavg()[0])))
    return sections


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workloads", default="mlp,cnn", help="comma-separated: mlp, cnn")
    ap.add_argument("--rounds", type=int, default=3, help="MLP: rounds at batch 64 per thread count")
    ap.add_argument("--epochs", type=int, default=5, help="MLP: epochs per run")
    ap.add_argument("--cnn-rounds", type=int, default=1, help="CNN: rounds per thread count")
    ap.add_argument("--cnn-epochs", type=int, default=3, help="CNN: epochs per run")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    ap.add_argument("--no-256", action="store_true", help="MLP: skip the batch-256 rounds")
    ap.add_argument("--rounds-256", type=int, default=1, help="MLP: rounds at batch 256 per thread count")
    ap.add_argument("--no-diagnostics", action="store_true",
                    help="skip the libtorch OMP_WAIT_POLICY=passive diagnostic run")
    ap.add_argument("--time-limit", type=float, default=20,
                    help="MLP: libtorch runs stop after the epoch in which they pass this many seconds")
    ap.add_argument("--cnn-time-limit", type=float, default=90,
                    help="CNN: libtorch runs stop after the epoch in which they pass this many seconds")
    ap.add_argument("--no-wide", action="store_true", help="MLP: skip the wide MLP (784-1024-1024-10) rows")
    ap.add_argument("--wide-rounds", type=int, default=1, help="wide MLP: rounds per thread count and batch")
    ap.add_argument("--wide-epochs", type=int, default=2, help="wide MLP: epochs per run")
    ap.add_argument("--wide-time-limit", type=float, default=60,
                    help="wide MLP: libtorch runs stop after the epoch in which they pass this many seconds")
    ap.add_argument("--no-gemm-time", action="store_true",
                    help="run the programs without the gemm_time shim (no in/outside GEMM columns)")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    build_dir = os.path.abspath(args.build_dir)
    workloads = [w for w in args.workloads.split(",") if w]
    if any(w not in ("mlp", "cnn") for w in workloads):
        ap.error(f"--workloads: expected mlp and/or cnn, got {args.workloads!r}")
    threads = [int(t) for t in args.threads.split(",")]

    if not args.no_build:
        build(build_dir, args.jobs, workloads)
    os.makedirs(build_dir, exist_ok=True)
    out_path = os.path.join(build_dir, "bench_results.jsonl")
    started = time.monotonic()
    load0 = os.getloadavg()
    reports = []
    with open(out_path, "w") as out:
        for w in workloads:
            if w == "mlp":
                runner = Runner(build_dir, "mlp", args.epochs, args.time_limit, out, not args.no_gemm_time)
                configs = [(t, 64, args.rounds) for t in threads]
                if not args.no_256:
                    configs += [(t, 256, args.rounds_256) for t in threads]
                if not args.no_wide:
                    configs += [(t, b, args.wide_rounds, "1024,1024", args.wide_epochs, args.wide_time_limit)
                                for b in (64, 256) for t in threads]
                epochs = args.epochs
            else:
                runner = Runner(build_dir, "cnn", args.cnn_epochs, args.cnn_time_limit, out, not args.no_gemm_time)
                configs = [(t, 64, args.cnn_rounds) for t in threads]
                epochs = args.cnn_epochs
            if not runner.have_torch:
                log(f"libtorch_{w} not built (libtorch not installed): its rows are skipped")
            reports.append((w, run_sections(runner, configs, epochs, not args.no_diagnostics)))
    load1 = os.getloadavg()
    total = time.monotonic() - started

    for w, sections in reports:
        print(f"## {w.upper()} benchmark — {datetime.date.today().isoformat()}, {os.cpu_count()} CPUs "
              f"({cpu_model()}), {platform.system()} {platform.release()}")
        print()
        print("\n\n".join(sections))
        print()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}; runs took {total:.0f} s; "
          f"JSON lines in {out_path}")
    print()
    print("s/epoch: median over rounds of each run's median epoch; × floor, × tapegrad: that median over the "
          "floor's or tapegrad's at the same threads and batch; acc.: test accuracy (medians over rounds); "
          "in GEMM s / outside GEMM s: of each epoch, the seconds inside sgemm calls (timed by the gemm_time shim) and "
          "the rest (medians); load s: reading and decoding the four .gz files, not part of an epoch.")


if __name__ == "__main__":
    main()
