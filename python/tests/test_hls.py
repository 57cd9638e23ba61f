"""The HLS back end: `mfc --target=hls` writes a project whose C simulation (the Makefile's
csim target: g++ on the generated C++ and testbench) reproduces the CPU library's outputs
on the same inputs. Models: a BitLinear, an MLGRU token mixer decode step and a GLU channel
mixer (written with onnx.helper by test/Target/HLS/Inputs/make_layer_models.py), a complete
MatMul-free LM decode step (BitLinear, MLGRU, GLU; two layers) exported by PyTorch (not by
mfc), and the bundled model's decode step (four layers, mfc's exporter)."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from mfc.compiled import compile, load
from mfc.hls import csim_arguments, random_inputs, run_csim

ROOT = Path(__file__).resolve().parents[2]
MODELS = {
    "bitlinear": ROOT / "test" / "Dialect" / "Tern" / "pipeline-bitlinear.onnxtxt",
    "mlgru_decode": ROOT / "test" / "Target" / "HLS" / "Inputs" / "mlgru_decode.onnx",
    "glu": ROOT / "test" / "Target" / "HLS" / "Inputs" / "glu.onnx",
    "hgrn_bit_ref_decode": ROOT / "test" / "models" / "hgrn_bit_ref" / "torchscript_decode.onnx",
    "bundled_decode": ROOT / "examples" / "shakespeare" / "decode.onnx",
}


def project_and_goldens(name: str, tmp_path: Path, lanes: int = 1, channels: int = 1,
                        element_lanes: int = 1):
    """The HLS project of MODELS[name] (`--hls-lanes=lanes --hls-channels=channels
    --hls-element-lanes=element_lanes`), with inputs and the CPU library's outputs in
    data/; returns the project and csim's arguments."""
    project = compile(MODELS[name], tmp_path / "prj", target="hls",
                      extra_args=[f"--hls-lanes={lanes}", f"--hls-channels={channels}",
                                  f"--hls-element-lanes={element_lanes}"])
    cpu = load(compile(MODELS[name], tmp_path / "model.so"))
    inputs = random_inputs(cpu)
    return project, csim_arguments(project, cpu, inputs, cpu(*inputs))


def csim(project: Path, args) -> subprocess.CompletedProcess:
    assert shutil.which("g++"), "the csim target needs g++"
    return run_csim(project, args)


@pytest.mark.parametrize("name", MODELS)
def test_csim_matches_cpu_library(tmp_path, name):
    project, args = project_and_goldens(name, tmp_path)
    run = csim(project, args + ["--rtol", "1e-4", "--atol", "1e-5"])
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", ["bitlinear", "hgrn_bit_ref_decode"])
def test_laned_design_csim_matches_cpu_library(tmp_path, name):
    """Lanes are pragmas over the same C: the products' loops pipelined over bytes and
    unrolled, their activation arrays partitioned; csim still gives the CPU's outputs."""
    project, args = project_and_goldens(name, tmp_path, lanes=16)
    kernel = (project / "kernel.cpp").read_text()
    # The BitLinear's 8 activations are split into their elements (a factor of 8, not 16).
    factor = 8 if name == "bitlinear" else 16
    assert "#pragma HLS UNROLL factor=4" in kernel and f"cyclic factor={factor} " in kernel
    run = csim(project, args + ["--rtol", "1e-4", "--atol", "1e-5"])
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", MODELS)
def test_parallel_design_csim_matches_cpu_library(tmp_path, name):
    """Weights spread over 4 memory channels (each product's rows 4 at a time, each
    channel's rows on a port and bundle of its own, a weight file each, mapped to an HBM
    pseudo-channel by link.cfg) and element-wise maps unrolled by 4: csim still gives the
    CPU's outputs."""
    project, args = project_and_goldens(name, tmp_path, lanes=16, channels=4, element_lanes=4)
    kernel = (project / "kernel.cpp").read_text()
    assert "bundle=weights3" in kernel and "bundle=weights4" not in kernel
    assert "sp=mfc_kernel_1.m_axi_weights3:HBM[3]" in (project / "link.cfg").read_text()
    assert list((project / "weights").glob("*_ch3.npy"))
    assert "#pragma HLS UNROLL factor=4" in kernel
    run = csim(project, args + ["--rtol", "1e-4", "--atol", "1e-5"])
    assert run.returncode == 0 and "PASS" in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", ["mlgru_decode", "glu"])
def test_layer_models_compute_what_onnxruntime_computes(tmp_path, name):
    """The layer models are ours to write, so their CPU-library goldens are checked against
    onnxruntime first (up to int8 rounding ties: a tolerance, not bit equality)."""
    cpu = load(compile(MODELS[name], tmp_path / "model.so"))
    inputs = random_inputs(cpu)
    session = ort.InferenceSession(str(MODELS[name]), providers=["CPUExecutionProvider"])
    want = session.run(None, {port.name: value for port, value in zip(cpu.inputs, inputs)})
    for got, expected in zip(cpu(*inputs), want):
        np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-4)


def test_csim_reports_a_mismatch(tmp_path):
    project, args = project_and_goldens("bitlinear", tmp_path)
    expected = project / "data" / "y_expected.npy"
    np.save(expected, np.load(expected) + 0.5)
    run = csim(project, args)
    assert run.returncode != 0 and "FAIL" in run.stdout, run.stdout + run.stderr


def test_csim_rejects_a_wrong_input(tmp_path):
    project, args = project_and_goldens("bitlinear", tmp_path)
    np.save(project / "data" / "x.npy", np.zeros((1, 9), np.float32))
    run = csim(project, args)
    assert run.returncode != 0 and "does not hold exactly 8 elements" in run.stderr, run.stderr


def test_project_files_and_pragmas(tmp_path):
    project = compile(MODELS["hgrn_bit_ref_decode"], tmp_path / "prj", target="hls")
    for name in ("kernel.cpp", "kernel.h", "tb.cpp", "Makefile", "run_hls.tcl",
                 "mfc_npy.h", "mfc_hls_math.h"):
        assert (project / name).is_file(), name
    assert len(list((project / "weights").glob("*.npy"))) > 10
    kernel = (project / "kernel.cpp").read_text()
    assert "#pragma HLS PIPELINE II=1" in kernel
    assert "#pragma HLS INTERFACE m_axi port=v1 offset=slave bundle=io" in kernel
    assert "bundle=weights" in kernel and "#pragma HLS INTERFACE s_axilite port=return" in kernel
    assert "set_top mfc_kernel" in (project / "run_hls.tcl").read_text()
