#!/usr/bin/env python3
"""The expected speed-up of data-parallel training on N machines, from the ring-allreduce cost model.

Each machine runs one rank with the one-process batch (64), so N machines do N steps' work in the
time of one step plus the gradient exchange (tapegrad averages after backward; no overlap):

  t_ring(N) = 2 (N-1)/N * S / B + 2 (N-1) * a     S gradient bytes, B link bandwidth, a latency per message
  speed-up(N) = N * t_c / (t_c + t_ring(N))        t_c one step's compute on one machine (measured)

Usage: bench/scaling_model.py [--mlp-step-ms 0.74] [--cnn-step-ms 32.4]
"""
import argparse

MODELS = {  # parameters (float32) of train_fashion_mnist's models
    "MLP 784-256-128-10": 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10,
    "CNN (README)": (1 * 32 * 9 + 32) + 64 + (32 * 64 * 9 + 64) + 128 + (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10),
}
LINKS = {"10 GbE": (1.25e9, 25e-6), "1 GbE": (0.125e9, 50e-6)}  # bytes/s, seconds per message


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mlp-step-ms", type=float, default=0.74)
    ap.add_argument("--cnn-step-ms", type=float, default=32.4)
    args = ap.parse_args()
    step = {"MLP 784-256-128-10": args.mlp_step_ms * 1e-3, "CNN (README)": args.cnn_step_ms * 1e-3}
    ns = [2, 4, 8, 16]
    print("| model (gradient bytes, one step's compute) | link | " + " | ".join(f"N = {n}" for n in ns) + " |")
    print("| --- | --- | " + " | ".join("---:" for _ in ns) + " |")
    for name, params in MODELS.items():
        s, tc = 4 * params, step[name]
        for link, (bw, lat) in LINKS.items():
            cells = []
            for n in ns:
                ring = 2 * (n - 1) / n * s / bw + 2 * (n - 1) * lat
                cells.append(f"{n * tc / (tc + ring):.2f}× ({ring * 1e3:.1f} ms)")
            print(f"| {name} ({s:,} B, {tc * 1e3:.2f} ms) | {link} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
