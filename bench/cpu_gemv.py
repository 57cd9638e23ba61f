#!/usr/bin/env python3
"""The ternary GEMV alone (batch 1, int8 activations, packed 2-bit weights, int32 out) at
the 370M and 1.3B presets' shapes on this CPU, against the bound of reading its packed
weights once at the read bandwidth this script measures itself, on 1 thread and on all
cores, in two regimes:

- in cache: one K x N matrix, multiplied again and again (its weights stay in L2/L3);
- from DRAM: a K x (N * copies) matrix of `--dram-mib` packed MiB (several times the L3),
  one product per call; the time per K x N product is the call's time / copies (the kernel
  treats rows independently, so this is N rows' share of a streamed product).

The bandwidth is that of a plain summing read of a buffer of the same size with the same
thread count (a C loop compiled here with -O3 -march=native). Products run through the
runtime's C API (mfc_session_run), so the figures include a call's overhead (about a
microsecond). Each model is `MatMulInteger(x: int8[1, K], W: int8 ternary)` compiled by
`mfc`, which turns it into the packed micro-kernel call.

    .venv/bin/python bench/cpu_gemv.py [--out bench/results] [--dram-mib 96] [--presets 370M]
    .venv/bin/python bench/cpu_gemv.py plot bench/results/cpu-gemv.json PNG   # needs matplotlib
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc.compiled import build_dir, compile  # noqa: E402

# (K, N): the presets' token-mixer projection, GLU in (gate and up together) and out, and
# the vocabulary projection.
SHAPES = {"370M": [(1024, 1024), (1024, 5632), (2816, 1024), (1024, 32000)],
          "1.3B": [(2048, 2048), (2048, 11264), (5632, 2048), (2048, 32000)]}

HARNESS = r"""
#include "mfc/Runtime/mfc_runtime.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

typedef struct { const uint64_t *p; size_t n; int reps; uint64_t sum; } Slice;

static void *sum_slice(void *arg) {
  Slice *s = arg;
  uint64_t acc = 0;
  for (int r = 0; r < s->reps; ++r)
    for (size_t i = 0; i < s->n; ++i)
      acc += s->p[i];
  s->sum = acc;
  return NULL;
}

/* bandwidth BYTES THREADS: best GB/s of 5 rounds of summing reads. */
static int bandwidth(size_t bytes, int threads) {
  size_t words = bytes / 8;
  uint64_t *buf = malloc(words * 8);
  for (size_t i = 0; i < words; ++i)
    buf[i] = i;
  int reps = bytes < ((size_t)64 << 20) ? (int)(((size_t)256 << 20) / bytes) + 1 : 1;
  double best = 0;
  uint64_t check = 0;
  for (int round = 0; round < 5; ++round) {
    pthread_t tid[64];
    Slice s[64];
    double t0 = now();
    for (int t = 0; t < threads; ++t) {
      s[t].p = buf + words * t / threads;
      s[t].n = words * (t + 1) / threads - words * t / threads;
      s[t].reps = reps;
      pthread_create(&tid[t], NULL, sum_slice, &s[t]);
    }
    for (int t = 0; t < threads; ++t) {
      pthread_join(tid[t], NULL);
      check += s[t].sum;
    }
    double gbs = (double)bytes * reps / (now() - t0) / 1e9;
    if (gbs > best)
      best = gbs;
  }
  printf("%.3f %llu\n", best, (unsigned long long)(check & 1));
  free(buf);
  return 0;
}

/* gemv MODEL K ROWS CALLS: median seconds per call of 5 rounds of CALLS calls. */
static int gemv(const char *path, int64_t k, int64_t rows, int calls) {
  mfc_model *model;
  mfc_session *session;
  if (mfc_model_load(path, &model) != MFC_OK || mfc_session_create(model, &session) != MFC_OK) {
    fprintf(stderr, "%s\n", mfc_model_last_error(model));
    return 1;
  }
  int8_t *x = malloc(k);
  int32_t *y = malloc(rows * 4);
  for (int64_t i = 0; i < k; ++i)
    x[i] = (int8_t)(i * 37 % 255 - 127);
  mfc_tensor in = {x, 2, {1, k}, (size_t)k}, out = {y, 0, {0}, (size_t)rows * 4};
  double times[5];
  for (int round = -1; round < 5; ++round) {
    double t0 = now();
    for (int c = 0; c < calls; ++c)
      if (mfc_session_run(session, &in, 1, &out, 1) != MFC_OK) {
        fprintf(stderr, "%s\n", mfc_session_last_error(session));
        return 1;
      }
    if (round >= 0)
      times[round] = (now() - t0) / calls;
  }
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j)
      if (times[j] < times[i]) { double t = times[i]; times[i] = times[j]; times[j] = t; }
  printf("%.9f\n", times[2]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "bandwidth"))
    return bandwidth(strtoull(argv[2], 0, 10), atoi(argv[3]));
  if (argc == 6 && !strcmp(argv[1], "gemv"))
    return gemv(argv[2], atoll(argv[3]), atoll(argv[4]), atoi(argv[5]));
  fprintf(stderr, "usage: bandwidth BYTES THREADS | gemv MODEL K ROWS CALLS\n");
  return 2;
}
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_harness(workdir: Path) -> Path:
    source, exe = workdir / "harness.c", workdir / "harness"
    source.write_text(HARNESS)
    lib = build_dir() / "lib"
    subprocess.run(["cc", "-std=c11", "-O3", "-march=native", "-pthread",
                    f"-I{ROOT / 'include'}", str(source), f"-L{lib}", f"-Wl,-rpath,{lib}",
                    "-lmfc_runtime", "-o", str(exe)], check=True)
    return exe


def gemv_model(path: Path, k: int, rows: int) -> Path:
    w = np.random.default_rng(k * 7 + rows).integers(-1, 2, (k, rows)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w"], ["y"], name="gemv")], "gemv",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [1, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, rows])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path), save_as_external_data=True, location=path.name + ".data")
    return path


def run(args) -> None:
    cores = os.cpu_count()
    thread_counts = sorted({1, cores})
    results = {"date": time.strftime("%Y-%m-%d"), "cpu": platform.processor() or platform.machine(),
               "cores": cores, "dram_mib": args.dram_mib,
               "command": " ".join(["python bench/cpu_gemv.py"] + sys.argv[1:]), "rows": []}
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                results["cpu"] = line.split(":", 1)[1].strip()
                break
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        harness = build_harness(workdir)

        def bandwidth(nbytes: int, threads: int) -> float:
            out = subprocess.run([str(harness), "bandwidth", str(nbytes), str(threads)],
                                 capture_output=True, text=True, check=True)
            return float(out.stdout.split()[0]) * 1e9

        for preset in args.presets:
            for k, n in SHAPES[preset][:args.shapes]:
                packed = k * n // 4
                copies = max(1, -(-args.dram_mib * 2**20 // packed))
                for regime, rows in (("cache", n), ("dram", n * copies)):
                    log(f"{preset} {k} x {n}, {regime}: compiling ({rows} rows)")
                    model = gemv_model(workdir / f"gemv_{k}_{rows}.onnx", k, rows)
                    library = compile(model, workdir / f"gemv_{k}_{rows}.so")
                    for data in workdir.glob(f"gemv_{k}_{rows}.onnx*"):
                        data.unlink()
                    share = 1 if regime == "cache" else copies
                    calls = max(3, int(2e8 // (k * rows)))
                    for threads in thread_counts:
                        out = subprocess.run([str(harness), "gemv", str(library), str(k), str(rows),
                                              str(calls)], capture_output=True, text=True,
                                             check=True, env=dict(os.environ,
                                                                  MFC_NUM_THREADS=str(threads)))
                        seconds = float(out.stdout) / share
                        bw = bandwidth(packed * share, threads)
                        bound = packed / bw
                        row = {"preset": preset, "k": k, "n": n, "regime": regime,
                               "threads": threads, "packed_bytes": packed, "us": seconds * 1e6,
                               "bound_us": bound * 1e6, "read_gbs": bw / 1e9,
                               "fraction": bound / seconds}
                        results["rows"].append(row)
                        log(f"  {threads} thread(s): {seconds * 1e6:9.1f} us, bound "
                            f"{bound * 1e6:9.1f} us at {bw / 1e9:6.1f} GB/s: {bound / seconds:.2f}")
                    library.unlink()
    print(f"CPU: {results['cpu']}, {cores} cores; {results['date']}")
    print("| shape K x N | weights | regime | threads | us | bound us (read GB/s) | fraction of bound |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in results["rows"]:
        print(f"| {r['k']} x {r['n']} ({r['preset']}) | {r['packed_bytes'] / 2**20:.2f} MiB | "
              f"{r['regime']} | {r['threads']} | {r['us']:.1f} | {r['bound_us']:.1f} "
              f"({r['read_gbs']:.1f}) | {r['fraction']:.2f} |")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{results['date']}-cpu-gemv.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        log(f"wrote {path}")


def plot(results_path: Path, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = json.loads(results_path.read_text())
    rows = results["rows"]
    cores = results["cores"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, regime in zip(axes, ("cache", "dram")):
        picked = [r for r in rows if r["regime"] == regime and r["threads"] == cores]
        labels = [f"{r['k']}x{r['n']}" for r in picked]
        xs = np.arange(len(picked))
        ax.bar(xs - 0.2, [r["fraction"] for r in picked], 0.4, label=f"mfc, {cores} threads")
        single = {(r["k"], r["n"]): r["fraction"] for r in rows
                  if r["regime"] == regime and r["threads"] == 1}
        ax.bar(xs + 0.2, [single[(r["k"], r["n"])] for r in picked], 0.4, label="mfc, 1 thread")
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(0.85, color="gray", linestyle="--", linewidth=0.8, label="goal 0.85")
        ax.set_xticks(xs, labels, rotation=30, ha="right")
        ax.set_title(f"weights {'in cache' if regime == 'cache' else 'streamed from DRAM'}")
    axes[0].set_ylabel("fraction of the read-bandwidth bound")
    axes[1].legend()
    fig.suptitle(f"Ternary GEMV vs bound, {results['cpu']} ({cores} cores), {results['date']}")
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "plot":
        return plot(Path(sys.argv[2]), Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="directory for the JSON results (e.g. bench/results)")
    parser.add_argument("--presets", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--shapes", type=int, help="only the first N shapes of each preset")
    parser.add_argument("--dram-mib", type=int, default=96,
                        help="packed MiB of the streamed matrix (several times the L3)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
