"""Robustness of the compiler and of compiled models: hostile or broken model files, out
of range indices at run time, non-finite weights, determinism and concurrent sessions.
Every compiled result is compared with onnxruntime; every rejected input must give a
diagnostic and exit status 1, never a signal."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mfc.compiled import MfcError, _tool, compile, load
from mfc.export import export_onnx
from mfc.generate import onnxruntime_session

BUNDLED = Path(__file__).resolve().parents[2] / "examples" / "shakespeare" / "decode.onnx"


def save(graph, path, opset=17):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def run_mfc(*args, timeout=120):
    # errors="replace": a corrupt model's names, quoted in diagnostics, need not be UTF-8.
    return subprocess.run([str(_tool("mfc")), *map(str, args)], capture_output=True, text=True,
                          errors="replace", timeout=timeout)


def matmul_model(path, weight):
    k, n = weight.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, n])],
        [numpy_helper.from_array(weight, "w")])
    return save(graph, path)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    return compile(BUNDLED, tmp_path_factory.mktemp("bundled") / "decode.so")


def bundled_feeds(token):
    session = onnxruntime_session(str(BUNDLED))
    feeds = {i.name: np.zeros((1, 256), np.float32) for i in session.get_inputs()[1:]}
    feeds["input_ids"] = np.array([[token]], np.int64)
    return session, feeds


# --- Index safety -------------------------------------------------------------------------

def test_out_of_range_token_is_an_error_as_in_onnxruntime(bundled):
    session, feeds = bundled_feeds(1_000_000_000)
    with pytest.raises(Exception):
        session.run(None, feeds)
    model = load(bundled)
    with pytest.raises(MfcError, match=r"Gather node '.+' \(input 'input_ids'\): index 1000000000 "
                                       r"is out of range for a dim of size 256"):
        model(**feeds)
    # The session is still usable, and the error does not stick to the next run.
    for token in (65, -1, 255):
        session, feeds = bundled_feeds(token)
        expected = session.run(None, feeds)
        for got, want in zip(model(**feeds), expected):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_session_buffers_reused_across_good_and_abandoned_runs(tmp_path):
    """A session keeps its runs' large buffers for its next runs (runtime/kernels/
    run_errors.c): runs that reuse them, interleaved with runs a failed index check
    abandons and with a second session of the library, give onnxruntime's outputs, and
    the same bytes for the same input."""
    table = np.random.default_rng(7).standard_normal((16, 8192)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["rows"], name="embed"),
         helper.make_node("Softmax", ["rows"], ["probs"], axis=-1, name="softmax"),
         helper.make_node("Mul", ["probs", "rows"], ["y"], name="weigh")], "pooled",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 8192])],
        [numpy_helper.from_array(table, "table")])
    path = save(graph, tmp_path / "pooled.onnx")
    library = compile(path)
    reference = onnxruntime_session(str(path))
    first, second = load(library), load(library)
    seen = {}
    for token in (3, 99, 3, 15, -200, 15, 0, 3):
        ids = np.array([[token]], np.int64)
        if not -16 <= token < 16:
            with pytest.raises(MfcError, match="Gather node 'embed'"):
                first(ids)
            continue
        for model in (first, second):
            (y,) = model(ids)
            np.testing.assert_allclose(y, reference.run(None, {"ids": ids})[0], rtol=1e-5,
                                       atol=1e-7)
            assert seen.setdefault(token, y.tobytes()) == y.tobytes()


# --- Malformed models ---------------------------------------------------------------------

def malformed_models(directory):
    """name -> (path, a fragment of the expected diagnostic)."""
    f32 = TensorProto.FLOAT
    vi = helper.make_tensor_value_info
    models = {}

    def add(name, nodes, inputs, outputs, initializers=(), expect=""):
        graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
        models[name] = (save(graph, directory / f"{name}.onnx"), expect)

    add("cycle", [helper.make_node("Relu", ["b"], ["a"], name="first"),
                  helper.make_node("Relu", ["a"], ["b"], name="second"),
                  helper.make_node("Add", ["x", "b"], ["y"], name="out")],
        [vi("x", f32, [2])], [vi("y", f32, [2])],
        expect="node 'first' (Relu, opset 17): input 'b' is neither a graph input, an "
               "initializer nor an earlier node's output")
    add("self_loop", [helper.make_node("Add", ["x", "y"], ["y"], name="self")],
        [vi("x", f32, [2])], [vi("y", f32, [2])],
        expect="node 'self' (Add, opset 17): input 'y' is neither")
    add("missing_initializer", [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")],
        [vi("x", f32, [2, 4])], [vi("y", f32, [2, 3])],
        expect="node 'proj' (MatMul, opset 17): input 'w' is neither")
    add("negative_dim", [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [vi("x", f32, [-3, 4])], [vi("y", f32, [-3, 4])],
        expect="graph input 'x' has invalid dimension -3")
    add("wrong_dtype", [helper.make_node("Add", ["x", "z"], ["y"], name="mixed")],
        [vi("x", f32, [2]), vi("z", TensorProto.INT64, [2])], [vi("y", f32, [2])],
        expect="node name: mixed): B has inconsistent type tensor(int64)")
    short = TensorProto(name="w", data_type=f32, dims=[4, 3], raw_data=b"\0" * 20)
    add("short_raw_data", [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")],
        [vi("x", f32, [2, 4])], [vi("y", f32, [2, 3])], [short],
        expect="tensor 'w' has 20 bytes of raw data, its shape needs 48")
    add("huge_dim", [helper.make_node("Relu", ["x"], ["y"], name="r")],
        [vi("x", f32, [1 << 40, 1 << 40])], [vi("y", f32, [1 << 40, 1 << 40])],
        expect="error:")
    return models


@pytest.fixture(scope="module")
def malformed(tmp_path_factory):
    return malformed_models(tmp_path_factory.mktemp("malformed"))


@pytest.mark.parametrize("name", ["cycle", "self_loop", "missing_initializer", "negative_dim",
                                  "wrong_dtype", "short_raw_data", "huge_dim"])
def test_malformed_model_is_a_diagnostic(malformed, name, tmp_path):
    path, expect = malformed[name]
    proc = run_mfc(path, "-o", tmp_path / "m.so")
    assert proc.returncode == 1, proc.stderr
    assert "error:" in proc.stderr and expect in proc.stderr, proc.stderr
    assert not (tmp_path / "m.so").exists()


def test_bit_flipped_models_never_crash(tiny_weights, tmp_path):
    """Random bit flips in a small exported model: each import either succeeds or ends in a
    diagnostic with exit status 1 (a signal would be a negative status), within a time limit."""
    original = tmp_path / "tiny.onnx"
    export_onnx(tiny_weights, str(original), form="decode", weight_format="qdq")
    data = bytearray(original.read_bytes())
    rng = np.random.default_rng(14)
    outcomes = {0: 0, 1: 0}
    for trial in range(40):
        mutant = bytearray(data)
        for position in rng.integers(0, len(mutant), size=int(rng.integers(1, 8))):
            mutant[position] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / f"mutant{trial}.onnx"
        path.write_bytes(mutant)
        proc = run_mfc(path, "--emit=tern", "-o", tmp_path / "out.mlir", timeout=60)
        assert proc.returncode in (0, 1), (trial, proc.returncode, proc.stderr[-2000:])
        if proc.returncode == 1:
            assert "error" in proc.stderr, proc.stderr
        outcomes[proc.returncode] += 1
    assert outcomes[1] > 0  # the flips did reach the parser


# --- Weights that are not (quite) ternary -------------------------------------------------

TERNARY = (np.random.default_rng(3).integers(-1, 2, (64, 32)) * 0.05).astype(np.float32)


def almost_ternary():
    w = TERNARY.copy()
    w[tuple(np.argwhere(w != 0)[0])] *= 1.001
    return w


def with_value(value):
    w = TERNARY.copy()
    w[3, 4] = value
    return w


@pytest.mark.parametrize("name,weight,reason", [
    ("nan", with_value(np.nan), "weight column 4 holds NaN (row 3)"),
    ("inf", with_value(np.inf), "weight column 4 holds inf (row 3)"),
    ("almost_ternary", almost_ternary(), "takes magnitudes"),
])
def test_non_ternary_weights_stay_float_and_match_onnxruntime(name, weight, reason, tmp_path):
    path = matmul_model(tmp_path / f"{name}.onnx", weight)
    proc = run_mfc(path, "--report")
    assert proc.returncode == 0, proc.stderr
    assert "not converted (1)" in proc.stdout and reason in proc.stdout, proc.stdout
    x = np.random.default_rng(0).standard_normal((2, 64)).astype(np.float32)
    (got,) = load(compile(path))(x)
    (want,) = onnxruntime_session(str(path)).run(None, {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)  # NaN where onnxruntime has NaN


def test_zero_sized_tensors(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="proj")], "zero",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 32])],
        [numpy_helper.from_array(TERNARY, "w")])
    model = load(compile(save(graph, tmp_path / "zero.onnx")))
    (y,) = model(np.zeros((0, 64), np.float32))
    assert y.shape == (0, 32)


# --- Determinism --------------------------------------------------------------------------

def large_int8_layer(path):
    """A 4096 x 2048 int8 ternary MatMulInteger: large enough for the kernel to split its
    rows across threads."""
    rng = np.random.default_rng(5)
    w = rng.integers(-1, 2, (2048, 4096)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w"], ["acc"], name="proj"),
         helper.make_node("Cast", ["acc"], ["y"], to=TensorProto.FLOAT, name="to_float"),
         helper.make_node("Tanh", ["y"], ["z"], name="squash")], "large",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [4, 2048])],
        [helper.make_tensor_value_info("acc", TensorProto.INT32, [4, 4096]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [4, 4096])],
        [numpy_helper.from_array(w, "w")])
    return save(graph, path)


def test_outputs_are_bit_identical_across_runs_and_thread_counts(tmp_path):
    path = large_int8_layer(tmp_path / "large.onnx")
    library = compile(path)
    x = np.random.default_rng(6).integers(-128, 128, (4, 2048)).astype(np.int8)
    np.save(tmp_path / "x.npy", x)
    outputs = {}
    for threads in ("1", "2", "16", "16"):
        out = tmp_path / f"z{len(outputs)}.npy"
        acc = tmp_path / f"acc{len(outputs)}.npy"
        subprocess.run([str(_tool("mfc-run")), str(library), "--input", f"x={tmp_path / 'x.npy'}",
                        "--output", f"z={out}", "--output", f"acc={acc}"],
                       env={**os.environ, "MFC_NUM_THREADS": threads}, check=True,
                       capture_output=True)
        outputs[len(outputs)] = (acc.read_bytes(), out.read_bytes())
    assert len(set(outputs.values())) == 1
    want = onnxruntime_session(str(path)).run(None, {"x": x})
    np.testing.assert_array_equal(np.load(tmp_path / "acc0.npy"), want[0])
    np.testing.assert_allclose(np.load(tmp_path / "z0.npy"), want[1], rtol=1e-6)


def test_compiling_twice_gives_identical_files(tmp_path):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        compile(BUNDLED, tmp_path / run / "decode.so")
    for name in ("decode.so", "decode.h"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# --- Concurrency --------------------------------------------------------------------------

def test_sessions_on_threads_match_one_at_a_time(bundled):
    """Four sessions of one library decode different prompts on four threads at once (the
    C calls release the GIL); each must produce what it produces alone, while a fifth
    thread's runs fail on an out-of-range token (errors stay with their session)."""
    prompts = [np.random.default_rng(seed).integers(0, 256, 24) for seed in range(4)]

    def decode(prompt):
        model = load(bundled)
        states = [np.zeros((1, 256), np.float32) for _ in range(4)]
        logits = []
        for token in prompt:
            out = model(np.array([[token]], np.int64), *states)
            logits.append(out[0])
            states = out[1:]
        return np.stack(logits)

    alone = [decode(p) for p in prompts]
    together = [None] * len(prompts)

    def worker(i):
        together[i] = decode(prompts[i])

    errors = []

    def failing():
        model = load(bundled)
        states = [np.zeros((1, 256), np.float32) for _ in range(4)]
        for _ in range(24):
            try:
                model(np.array([[4096]], np.int64), *states)
            except MfcError as error:
                errors.append(str(error))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
    threads.append(threading.Thread(target=failing))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(alone, together):
        np.testing.assert_array_equal(a, b)
    assert len(errors) == 24 and all("index 4096 is out of range" in e for e in errors)


def test_forked_child_runs_a_loaded_model(bundled):
    """The kernels' worker threads do not survive fork(): a child of a process that has
    run a model computes on its own thread what the parent computed (rather than waiting
    for workers it does not have)."""
    model = load(bundled)
    feeds = [np.array([[17]], np.int64)] + [np.zeros((1, 256), np.float32)] * 4
    parent = model(*feeds)[0]
    pid = os.fork()
    if pid == 0:
        os._exit(0 if np.array_equal(model(*feeds)[0], parent) else 3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the forked child hung")


THREAD_COUNT = """
import os, sys, numpy as np
sys.path.insert(0, {python!r})
from mfc.compiled import load
def threads():
    return len(os.listdir("/proc/self/task"))
model = load({library!r})
before = threads()
model.set_num_threads({threads})
feeds = [np.array([[17]], np.int64)] + [np.zeros((1, 256), np.float32)] * 4
out = model(*feeds)[0]
print(threads() - before, float(out.sum()))
"""


WORKER_AFFINITY = """
import os, sys, numpy as np
sys.path.insert(0, {python!r})
from mfc.compiled import load
def cpus(task):
    with open(f"/proc/self/task/{{task}}/status") as status:
        return next(l.split()[1] for l in status if l.startswith("Cpus_allowed_list"))
model = load({library!r})
before = set(os.listdir("/proc/self/task"))
model.set_num_threads(3)
model(*([np.array([[17]], np.int64)] + [np.zeros((1, 256), np.float32)] * 4))
workers = sorted(set(os.listdir("/proc/self/task")) - before)
print(cpus(os.getpid()), *[cpus(task) for task in workers])
"""


@pytest.mark.parametrize("pin", ["0", "1"])
def test_workers_are_pinned_when_asked(bundled, pin):
    """MFC_PIN_THREADS=1 puts each kernel worker on one CPU of the process's, in turn
    from the second; the caller's thread keeps its affinity, as do workers without it."""
    script = WORKER_AFFINITY.format(python=str(Path(__file__).resolve().parents[1]),
                                    library=str(bundled))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "MFC_PIN_THREADS": pin}, check=True)
    caller, *workers = run.stdout.split()
    assert len(workers) == 2
    allowed = [cpu for part in caller.split(",") for cpu in
               (range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1))]
    if pin == "0":
        assert workers == [caller] * 2
    else:
        assert workers == [str(allowed[(i + 1) % len(allowed)]) for i in range(2)]


@pytest.mark.parametrize("threads", [1, 3])
def test_set_num_threads_starts_that_many_and_keeps_outputs(bundled, threads):
    """mfc_model_set_num_threads before the first run starts threads - 1 kernel workers
    (counted in /proc), whatever MFC_NUM_THREADS says, and the logits do not change."""
    script = THREAD_COUNT.format(python=str(Path(__file__).resolve().parents[1]),
                                 library=str(bundled), threads=threads)
    results = []
    for env_threads in ("2", str(threads)):
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env={**os.environ, "MFC_NUM_THREADS": env_threads}, check=True)
        results.append(run.stdout.split())
    assert [r[0] for r in results] == [str(threads - 1)] * 2
    assert results[0][1] == results[1][1]
    with pytest.raises(MfcError):
        load(bundled).set_num_threads(0)
