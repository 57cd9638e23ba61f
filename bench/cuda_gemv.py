#!/usr/bin/env python3
"""Ternary GEMV/GEMM of `mfc --target=cuda` against cuBLAS fp16 (torch.matmul) on the same
shapes, side by side in one run: kernel time per product, the fraction of HBM bandwidth
the weights' bytes take at that time, and the speed-up over cuBLAS.

Each shape is one tern.matmul (int8 activations, packed 2-bit codes) compiled here into
a library that takes the codes as an argument, so the libraries stay small enough to
carry to the GPU machine, where the codes are drawn and packed:

    .venv/bin/python bench/cuda_gemv.py prepare         # compiles into bench/cuda-artifacts/
    python bench/cuda_gemv.py run --out DIR              # on the GPU machine (needs torch)
    .venv/bin/python bench/cuda_gemv.py plot DIR/cuda_gemv.json PNG   # needs matplotlib
    ncu python bench/cuda_gemv.py once K N BATCH         # one product, for a profiler

Both sides are timed the same way: the GPU time of their kernels, recorded by the CUDA
profiler (torch.profiler / CUPTI) over `repeats` products, divided by `repeats`; the mfc
library call also reports its host-side time (copies of x, codes and y included). mfc's
int32 result is checked against an exact product (float64 on the GPU).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc.compiled import compile, load  # noqa: E402

import device_bench  # noqa: E402

ARTIFACTS = ROOT / "bench" / "cuda-artifacts"
HIDDEN_GLU = {1024: 2816, 2048: 5632, 2560: 6912}  # 370M / 1.3B / 2.7B configs
VOCAB = 32000
# (K inputs, N outputs): per config the token-mixer projection, GLU up, GLU down and the
# vocabulary head; then the large shape of the issue (28672 x 8192).
SHAPES = [shape for h, f in HIDDEN_GLU.items()
          for shape in ((h, h), (h, f), (f, h), (h, VOCAB))] + [(8192, 28672)]
BATCHES = (1, 8, 64, 2048)  # 64 and 2048 rows: batched decode and prefill (tensor cores)
PLOT_BATCHES = (1, 8)  # the GEMV regime, where the weights' bytes bound the time
HBM_BYTES_PER_S = 4.8e12  # H200


def pack(codes: np.ndarray) -> np.ndarray:
    """{-1, 0, 1} codes [N, K] -> [N, ceil(K/4)] bytes, weight k at bits 2(k%4)."""
    n, k = codes.shape
    padded = np.zeros((n, (k + 3) // 4 * 4), np.uint8)
    padded[:, :k] = codes.view(np.uint8) & 3
    quads = padded.reshape(n, -1, 4)
    return (quads[..., 0] | quads[..., 1] << 2 | quads[..., 2] << 4 | quads[..., 3] << 6).astype(np.int8)


def library(k: int, n: int) -> Path:
    return ARTIFACTS / f"gemv_{k}x{n}.cuda.so"


def prepare() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for k, n in SHAPES:
        kb = (k + 3) // 4
        source = f"""
func.func @main_graph(%x: tensor<?x{k}xi8>, %w: tensor<{n}x{kb}xi8>) -> tensor<?x{n}xi32> {{
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x{k}xi8>
  %init = tensor.empty(%rows) : tensor<?x{n}xi32>
  %y = tern.matmul ins(%x, %w : tensor<?x{k}xi8>, tensor<{n}x{kb}xi8>) outs(%init : tensor<?x{n}xi32>) -> tensor<?x{n}xi32>
  return %y : tensor<?x{n}xi32>
}}
"""
        path = ARTIFACTS / f"gemv_{k}x{n}.mlir"
        path.write_text(source)
        start = time.perf_counter()
        compile(path, library(k, n), target="cuda")
        path.unlink()
        print(f"compiled {k}x{n} in {time.perf_counter() - start:.1f} s", flush=True)


def kernel_us(torch, step, repeats: int) -> float:
    """GPU time of the kernels `step` launches (memory copies excluded), per call."""
    kernels = [us for name, us in device_bench.gpu_operations(torch, step, repeats)
               if not name.startswith(("Memcpy", "Memset"))]
    if not kernels:
        raise RuntimeError("the profiler recorded no kernels")
    return sum(kernels) / repeats


def run(out: Path, repeats: int) -> None:
    import torch

    out.mkdir(parents=True, exist_ok=True)
    gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
    rows = []
    print(f"GPU: {gpu}; kernel times are means over {repeats} calls (CUPTI)", flush=True)
    print(f"{'K x N':>13} {'batch':>5} {'mfc us':>8} {'BW frac':>8} {'TOPS':>6} {'cuBLAS us':>9} "
          f"{'BW frac':>8} {'TFLOPS':>6} {'speed-up':>8} {'call us':>8}  exact", flush=True)
    for k, n in SHAPES:
        model = load(library(k, n))
        rng = np.random.default_rng(k * 131 + n)
        codes = rng.integers(-1, 2, (n, k), dtype=np.int8)
        packed = pack(codes)
        codes_gpu = torch.from_numpy(codes).cuda()
        weight16 = codes_gpu.half()
        for batch in BATCHES:
            x = rng.integers(-128, 128, (batch, k), dtype=np.int8)
            (y,) = model(x, packed)
            x_gpu = torch.from_numpy(x).cuda()
            exact_y = (x_gpu.double() @ codes_gpu.double().T).cpu().numpy()
            exact = bool(np.array_equal(y.astype(np.float64), exact_y))
            calls = []
            for _ in range(repeats):
                start = time.perf_counter()
                model(x, packed)
                calls.append(time.perf_counter() - start)
            mfc_us = kernel_us(torch, lambda: model(x, packed), repeats)
            x16 = x_gpu.half()
            cublas_us = kernel_us(torch, lambda: torch.matmul(x16, weight16.T), repeats)
            row = {"k": k, "n": n, "batch": batch, "mfc_us": mfc_us,
                   "mfc_bandwidth_fraction": n * k / 4 / (mfc_us * 1e-6) / HBM_BYTES_PER_S,
                   "mfc_call_us": float(np.median(calls)) * 1e6,
                   "cublas_fp16_us": cublas_us,
                   "cublas_bandwidth_fraction": 2 * n * k / (cublas_us * 1e-6) / HBM_BYTES_PER_S,
                   "mfc_int8_tops": 2 * batch * n * k / (mfc_us * 1e-6) / 1e12,
                   "cublas_fp16_tflops": 2 * batch * n * k / (cublas_us * 1e-6) / 1e12,
                   "speedup_over_cublas": cublas_us / mfc_us, "exact": exact}
            rows.append(row)
            print(f"{k:>5} x {n:<6} {batch:>5} {mfc_us:>8.1f} {row['mfc_bandwidth_fraction']:>8.3f} "
                  f"{row['mfc_int8_tops']:>6.1f} {cublas_us:>9.1f} {row['cublas_bandwidth_fraction']:>8.3f} "
                  f"{row['cublas_fp16_tflops']:>6.1f} "
                  f"{row['speedup_over_cublas']:>7.2f}x {row['mfc_call_us']:>8.0f}  {exact}",
                  flush=True)
        del model
    (out / "cuda_gemv.json").write_text(json.dumps(
        {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "gpu": gpu, "repeats": repeats,
         "command": "python bench/cuda_gemv.py run --out DIR", "rows": rows}, indent=2))


def plot(results: Path, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(results.read_text())
    fig, axes = plt.subplots(1, len(PLOT_BATCHES), figsize=(13, 4.5), sharey=True)
    for ax, batch in zip(axes, PLOT_BATCHES):
        rows = [r for r in data["rows"] if r["batch"] == batch]
        labels = [f"{r['k']}x{r['n']}" for r in rows]
        at = np.arange(len(rows))
        ax.bar(at - 0.2, [r["mfc_bandwidth_fraction"] for r in rows], 0.4, label="mfc ternary (2-bit)")
        ax.bar(at + 0.2, [r["cublas_bandwidth_fraction"] for r in rows], 0.4, label="cuBLAS fp16")
        ax.set_xticks(at, labels, rotation=60, ha="right", fontsize=8)
        ax.set_title(f"batch {batch}")
        ax.axhline(0.75, color="gray", linestyle="--", linewidth=0.8)
    axes[0].set_ylabel("fraction of HBM bandwidth (weight bytes / kernel time)")
    axes[0].legend()
    fig.suptitle(f"GEMV K x N on {data['gpu']} ({data['date']})")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    print(f"wrote {png}")


def once(k: int, n: int, batch: int) -> None:
    model = load(library(k, n))
    rng = np.random.default_rng(0)
    model(rng.integers(-128, 128, (batch, k), dtype=np.int8),
          pack(rng.integers(-1, 2, (n, k), dtype=np.int8)))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "once":
        once(*map(int, sys.argv[2:]))
        sys.exit(0)
    if len(sys.argv) == 4 and sys.argv[1] == "plot":
        plot(Path(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    sys.exit(device_bench.main(__doc__, prepare, run, "repeats", 50))
