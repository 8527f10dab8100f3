#!/usr/bin/env python3
"""Data-parallel training on this machine: 2 ranks x 1 thread against 1 process x 2 threads.

Runs the Fashion-MNIST trainer in alternation (A B A B …, --rounds rounds), each run --epochs
epochs, with the same global batch (64: 2 ranks x 32, or 1 process x 64):

  A  mpirun -np 2 train_fashion_mnist --distributed --batch-size 32 --threads 1
  B  train_fashion_mnist --batch-size 64 --threads 2
  C  train_fashion_mnist --batch-size 64 --threads 1          (the compute of one step, for the model)

A run's figure is the median of its epochs' seconds (from --metrics; an epoch includes its test
evaluation); a row's figure is the median over rounds. Also prints the bytes each step sends
(the trainer's "distributed:" line) and the final test accuracies.

Usage: bench/run_distributed.py [--build-dir build] [--model mlp|cnn] [--rounds 3] [--epochs 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, metrics):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.pop(v, None)
    if os.path.exists(metrics):
        os.remove(metrics)
    out = subprocess.run(cmd + ["--metrics", metrics, "--quiet"], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("failed: " + " ".join(cmd) + "\n" + out.stdout[-2000:] + out.stderr[-2000:])
    secs, acc = [], None
    with open(metrics) as f:
        for line in f:
            j = json.loads(line)
            secs.append(j["seconds"])
            acc = j["test_accuracy"]
    sent = re.search(r"each step sends (\d+) bytes through MPI_Allreduce", out.stdout)
    return statistics.median(secs), acc, int(sent.group(1)) if sent else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    trainer = os.path.join(args.build_dir, "examples", "train_fashion_mnist")
    common = [trainer, "--model", args.model, "--epochs", str(args.epochs)]
    rows = {
        "2 ranks x 1 thread, batch 32 per rank": ["mpirun", "-np", "2", "--allow-run-as-root"] + common
        + ["--distributed", "--batch-size", "32", "--threads", "1"],
        "1 process x 2 threads, batch 64": common + ["--batch-size", "64", "--threads", "2"],
        "1 process x 1 thread, batch 64": common + ["--batch-size", "64", "--threads", "1"],
    }
    results = {k: [] for k in rows}
    sent = None
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "m.jsonl")
        for r in range(args.rounds):
            for name, cmd in rows.items():
                s, acc, b = run(cmd, metrics)
                results[name].append((s, acc))
                sent = b or sent
                print(f"round {r + 1} {name}: {s:.3f} s/epoch, test accuracy {acc:.4f}", flush=True)
    print(f"\n{args.model.upper()}, {args.epochs} epochs a run, {args.rounds} rounds in alternation (medians):")
    print("| setting | s/epoch | × 1 process × 2 threads | test accuracy after the run |")
    print("| --- | ---: | ---: | --- |")
    base = statistics.median(s for s, _ in results["1 process x 2 threads, batch 64"])
    for name, rs in results.items():
        med = statistics.median(s for s, _ in rs)
        print(f"| {name} | {med:.3f} | {med / base:.2f} | {', '.join(f'{a:.4f}' for _, a in rs)} |")
    if sent:
        print(f"\nbytes handed to MPI_Allreduce per step and rank: {sent} "
              f"(a ring allreduce sends 2(N-1)/N of it per rank: {sent} at N = 2)")


if __name__ == "__main__":
    main()
