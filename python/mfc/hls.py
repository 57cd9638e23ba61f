"""The C simulation of an HLS project written by `mfc --target=hls`: inputs for its
fixed-size (batch 1) ports, the data files and arguments of its testbench, and the run
(the project Makefile's csim target: g++ with the ap_types headers)."""
import subprocess
import sys
from pathlib import Path
from typing import List, Sequence

import numpy as np


def random_inputs(model, seed: int = 0) -> List[np.ndarray]:
    """Inputs for `model`'s ports (a CompiledModel) at batch 1, the HLS design's fixed
    size: token ids below 256, floats N(0, 1)."""
    rng = np.random.default_rng(seed)
    inputs = []
    for port in model.inputs:
        shape = [1 if d < 0 else d for d in port.dims]
        if port.dtype.kind == "i":
            inputs.append(rng.integers(0, 256, shape).astype(port.dtype))
        else:
            inputs.append(rng.standard_normal(shape).astype(port.dtype))
    return inputs


def csim_arguments(project: Path, model, inputs: Sequence[np.ndarray],
                   expected: Sequence[np.ndarray]) -> List[str]:
    """Writes `inputs` and the `expected` outputs of `model`'s ports into the project's
    data/ and returns the testbench's --input/--expect arguments for them."""
    args = []
    for port, value in zip(model.inputs, inputs):
        np.save(project / "data" / f"{port.name}.npy", value)
        args += ["--input", f"{port.name}=data/{port.name}.npy"]
    for port, value in zip(model.outputs, expected):
        np.save(project / "data" / f"{port.name}_expected.npy", value)
        args += ["--expect", f"{port.name}=data/{port.name}_expected.npy"]
    return args


def run_csim(project: Path, args: Sequence[str]) -> subprocess.CompletedProcess:
    """Builds and runs the project's ./csim with `args` (make csim)."""
    # PYTHON: the ap_types headers come from this interpreter's hls4ml package.
    return subprocess.run(["make", "-s", "-C", str(project), "csim", "ARGS=" + " ".join(args),
                           "PYTHON=" + sys.executable], capture_output=True, text=True)
