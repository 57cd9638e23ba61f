#!/usr/bin/env python3
"""Peak memory of `mfc --emit=import` on a MatMul-free model with ~1 GB of external-data weights.

What it measures
  The peak resident set size (RSS) and wall time of one process per measurement:

    mfc import             `mfc --emit=import model.onnx -o /dev/null
                            --mlir-elide-resource-strings-if-larger=0`: the importer, plus
                            printing the IR text without the resource blobs (a limit of 0
                            makes MLIR's printer skip the blobs without hex-encoding them).
                            This is the row the issue's claim (and this script's exit status)
                            is about.
    mfc import+print (elide=16)
                            the same with `--mlir-elide-resource-strings-if-larger=16`. The
                            output is byte-identical (every blob is >= 1 KiB, so its hex
                            string is over 16 chars), but MLIR's printer
                            (printResourceFileMetadata in AsmPrinter.cpp) elides a blob only
                            after hex-encoding all of it into a std::string to measure its
                            length: every weight page gets touched, and ~6x the largest blob
                            is allocated at once (measured: ~760 MiB for a 125 MiB blob).
    mfc import+full print  no elision: every blob is hex-dumped (2 chars per byte) to
                            /dev/null; llvm::toHex builds the whole hex string of a blob
                            (twice: SmallString, then std::string), ~4x the largest blob.
                            Skip with --skip-full-print.
    onnx.load              `onnx.load(path, load_external_data=True)` in a fresh Python.
    ort session            `onnxruntime.InferenceSession(path)` (CPU, default options) in
                            a fresh Python.

  plus process floors (mfc on a tiny model, `import onnx`, `import onnxruntime`), so that what
  a tool spends on the weights can be told from what it costs to start.

How
  The model (HGRN-Bit, preset 370M with the layer count - or, below one layer, the vocabulary -
  adjusted so that the external-data tensors total at least --size-gb GiB; fakequant float32
  weights, prefill form) is exported once by `python -m mfc.export` and cached under --workdir.
  Its data file is read once before measuring so that every tool finds it in the page cache.

  Every measurement is a fresh child run under GNU `/usr/bin/time`, whose "maximum resident
  set size" (the kernel's ru_maxrss of that child alone) is the peak RSS reported. While the
  child runs, /proc/<pid>/status is sampled every --interval seconds for RssAnon (heap,
  anonymous memory) and RssFile (file pages mapped into the process: the memory-mapped
  weights, shared libraries). RSS counts mapped file pages once they are touched, but clean
  file pages are page cache that the kernel can drop under pressure; anonymous memory cannot
  be dropped (there is no swap here). The sampled peaks can miss a spike shorter than the
  interval; the ru_maxrss peak cannot. Without /usr/bin/time the last sampled VmHWM is used.

  Exits 1 if the peak RSS of the "mfc import" row exceeds --limit-gib (default 2 GiB; see
  --gate for the other mfc rows), 2 if a tool fails.

Run from the repository root:  .venv/bin/python bench/import_memory.py [--size-gb 1.0]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))

from mfc import __version__ as MFC_VERSION  # noqa: E402
from mfc.config import HGRNBitConfig, preset  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
GNU_TIME = "/usr/bin/time"
BASE_PRESET = "370M"  # hidden 1024, vocab 32000: ~51 MiB of float32 weights per layer
WEIGHT_FORMAT = "fakequant"  # float32 initializers, the largest form of the ternary weights


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def estimated_bytes(config: HGRNBitConfig) -> int:
    from mfc.export import estimated_initializer_bytes

    return estimated_initializer_bytes(config, WEIGHT_FORMAT)


def choose_config(size_gib: float) -> HGRNBitConfig:
    """The 370M preset with the fewest layers whose weights reach size_gib GiB.

    Below one layer's worth the vocabulary shrinks instead (in steps of 256).
    """
    target = size_gib * GiB
    one_layer = preset(BASE_PRESET, num_hidden_layers=1)
    if estimated_bytes(one_layer) >= target:
        vocab = one_layer.vocab_size
        smaller = lambda v: preset(BASE_PRESET, num_hidden_layers=1, vocab_size=v)  # noqa: E731
        while vocab > 256 and estimated_bytes(smaller(vocab - 256)) >= target:
            vocab -= 256
        return preset(BASE_PRESET, num_hidden_layers=1, vocab_size=vocab)
    two = preset(BASE_PRESET, num_hidden_layers=2)
    per_layer = estimated_bytes(two) - estimated_bytes(one_layer)
    layers = 1 + math.ceil((target - estimated_bytes(one_layer)) / per_layer)
    return preset(BASE_PRESET, num_hidden_layers=max(layers, 1))


@dataclass
class Model:
    path: str
    data_path: str
    config: Dict
    external_bytes: int  # sum of the external tensors' lengths
    external_tensors: int
    largest_tensor_bytes: int
    data_file_bytes: int  # including the 4 KiB alignment padding
    export_seconds: Optional[float] = None


def inspect_model(path: str) -> Dict:
    import onnx

    model = onnx.load(path, load_external_data=False)
    lengths = []
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            lengths.append(int(entries["length"]))
    return dict(external_bytes=sum(lengths), external_tensors=len(lengths), largest_tensor_bytes=max(lengths))


def build_model(workdir: str, config: HGRNBitConfig, form: str, rebuild: bool) -> Model:
    """Export (once) the model into workdir/<key>/model.onnx[.data]; later runs reuse it."""
    key = (
        f"hgrnbit-h{config.hidden_size}-l{config.num_hidden_layers}-v{config.vocab_size}"
        f"-{WEIGHT_FORMAT}-{form}-mfc{MFC_VERSION}"
    )
    directory = os.path.join(workdir, key)
    path = os.path.join(directory, "model.onnx")
    data_path = path + ".data"
    marker = os.path.join(directory, "model.json")
    if not rebuild and os.path.exists(marker) and os.path.exists(data_path):
        with open(marker, encoding="utf-8") as f:
            info = json.load(f)
        if info.get("data_file_bytes") == os.path.getsize(data_path):
            log(f"reusing cached model {path}")
            return Model(**info)
        log(f"cached model {path} is incomplete; exporting again")
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    config.to_json(os.path.join(directory, "config.json"))
    free = shutil.disk_usage(directory).free
    needed = estimated_bytes(config)
    if free < needed * 1.1:
        raise SystemExit(
            f"error: {directory} has {free / GiB:.2f} GiB free, the model needs ~{needed / GiB:.2f} GiB"
        )
    log(
        f"exporting {key}: ~{needed / GiB:.3f} GiB of weights to {directory} "
        "(python -m mfc.export; once, cached)"
    )
    command = [
        sys.executable, "-m", "mfc.export",
        "--config", os.path.join(directory, "config.json"),
        "--form", form,
        "--weights", WEIGHT_FORMAT,
        "--external-data", "always",
        "-o", path,
    ]  # fmt: skip
    python_path = [os.path.join(REPO, "python"), os.environ.get("PYTHONPATH")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, python_path)))
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        written = os.path.getsize(data_path) if os.path.exists(data_path) else 0
        log(f"  [{time.monotonic() - start:6.1f} s, {written / MiB:7.0f} MiB written] {line.rstrip()}")
    if process.wait() != 0:
        raise SystemExit(f"error: export failed (exit {process.returncode}): {' '.join(command)}")
    seconds = time.monotonic() - start
    info = dict(
        path=path,
        data_path=data_path,
        config=config.to_dict(),
        data_file_bytes=os.path.getsize(data_path),
        export_seconds=round(seconds, 1),
        **inspect_model(path),
    )
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=2)
    log(f"exported in {seconds:.1f} s")
    return Model(**info)


def build_tiny_model(workdir: str) -> str:
    """A micro model (a few KiB of weights) for the mfc process floor."""
    directory = os.path.join(workdir, "micro")
    path = os.path.join(directory, "model.onnx")
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        from mfc.export import export_onnx
        from mfc.weights import ModelWeights

        export_onnx(ModelWeights.random(preset("micro"), seed=0), path, external_data="always")
    return path


def warm_page_cache(path: str) -> float:
    """Read the file once so that no measured tool pays for the disk."""
    start = time.monotonic()
    buffer = bytearray(16 * MiB)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(buffer):
            pass
    return time.monotonic() - start


# --------------------------------------------------------------------------------------------
# Measuring one child
# --------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    tool: str
    command: List[str]
    peak_rss_kib: int = 0  # ru_maxrss from /usr/bin/time (or the last sampled VmHWM)
    peak_source: str = ""
    wall_s: float = 0.0
    user_s: Optional[float] = None
    sys_s: Optional[float] = None
    exit_code: int = 0
    sampled_hwm_kib: int = 0  # last VmHWM seen in /proc (cross-check of peak_rss_kib)
    sampled_peak_anon_kib: int = 0
    sampled_peak_file_kib: int = 0
    samples: int = 0
    stdout_tail: str = ""
    stderr_tail: str = ""
    floor: bool = False  # a process-floor row, not a measurement of the model
    notes: List[str] = field(default_factory=list)


STATUS_KEYS = {"VmHWM": "hwm", "VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}


def read_status(pid: int) -> Optional[Dict[str, int]]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in STATUS_KEYS:
            values[STATUS_KEYS[name]] = int(rest.split()[0])
    return values or None  # a zombie has no Vm* lines


def child_of(pid: int) -> Optional[int]:
    """The pid of a process whose parent is pid (the tool that /usr/bin/time started)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            return int(entry)
    return None


def shown(command: List[str]) -> str:
    """The command for the log, with a `python -c` program shortened to its first statement."""
    parts = list(command)
    if "-c" in parts[:-1]:
        i = parts.index("-c") + 1
        program = [line for line in parts[i].strip().splitlines() if not line.startswith("import ")]
        parts[i] = repr((program or parts[i].strip().splitlines())[0] + (" ..." if len(program) > 1 else ""))
    return " ".join(parts)


def measure(tool: str, command: List[str], interval: float, floor: bool = False) -> Measurement:
    log(f"measuring {tool}: {shown(command)}")
    result = Measurement(tool=tool, command=command, floor=floor)
    use_time = os.access(GNU_TIME, os.X_OK)
    with tempfile.TemporaryDirectory(prefix="mfc-bench-") as tmp:
        time_file = os.path.join(tmp, "time.txt")
        out_path, err_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        argv = command
        if use_time:
            fmt = "maxrss_kib=%M\nwall_s=%e\nuser_s=%U\nsys_s=%S\nexit=%x"
            argv = [GNU_TIME, "-o", time_file, "-f", fmt, "--"] + command
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            process = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            target: Optional[int] = None if use_time else process.pid
            while process.poll() is None:
                if target is None:
                    target = child_of(process.pid)
                if target is not None:
                    status = read_status(target)
                    if status:
                        result.samples += 1
                        r = result
                        r.sampled_hwm_kib = max(r.sampled_hwm_kib, status.get("hwm", 0))
                        r.sampled_peak_anon_kib = max(r.sampled_peak_anon_kib, status.get("anon", 0))
                        r.sampled_peak_file_kib = max(r.sampled_peak_file_kib, status.get("file", 0))
                time.sleep(interval)
            result.wall_s = time.perf_counter() - start
        result.exit_code = process.returncode
        with open(out_path, "rb") as f:
            result.stdout_tail = f.read()[-2000:].decode(errors="replace")
        with open(err_path, "rb") as f:
            result.stderr_tail = f.read()[-2000:].decode(errors="replace")
        if use_time:
            fields = {}
            with open(time_file, encoding="utf-8") as f:
                for line in f:
                    key, sep, value = line.strip().partition("=")
                    if sep:
                        fields[key] = value
            result.peak_rss_kib = int(fields["maxrss_kib"])
            result.peak_source = "ru_maxrss (/usr/bin/time)"
            result.user_s, result.sys_s = float(fields["user_s"]), float(fields["sys_s"])
            result.exit_code = int(fields.get("exit", result.exit_code))
        else:
            result.peak_rss_kib = result.sampled_hwm_kib
            result.peak_source = f"last sampled VmHWM (every {interval * 1000:.0f} ms)"
    if result.exit_code != 0:
        log(f"  FAILED (exit {result.exit_code}): {result.stderr_tail.strip()[-800:]}")
    else:
        log(
            f"  peak {result.peak_rss_kib / 1024:.0f} MiB, {result.wall_s:.2f} s "
            f"(sampled: anon {result.sampled_peak_anon_kib / 1024:.0f} MiB, file "
            f"{result.sampled_peak_file_kib / 1024:.0f} MiB, {result.samples} samples)"
        )
    return result


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def format_table(rows: List[List[str]], header: List[str]) -> str:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]

    def line(cells: List[str]) -> str:
        # The tool column is left-aligned, the numbers right-aligned.
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def mib(kib: int) -> str:
    return f"{kib / 1024:.0f}" if kib else "n/a"


def report(model: Model, results: List[Measurement], reference: Optional[Measurement]) -> str:
    header = [
        "tool", "peak RSS MiB", "wall s", "peak/weights", "mfc/peer",
        "anon MiB*", "file MiB*",
    ]  # fmt: skip
    rows, floors = [], []
    for m in results:
        if m.exit_code != 0:
            row = [m.tool, "FAILED", f"{m.wall_s:.2f}", "", "", "", ""]
        elif m.floor:
            row = [
                m.tool, mib(m.peak_rss_kib), f"{m.wall_s:.2f}", "", "",
                mib(m.sampled_peak_anon_kib), mib(m.sampled_peak_file_kib),
            ]  # fmt: skip
        else:
            ratio_weights = m.peak_rss_kib * 1024 / model.external_bytes
            ratio_peer = (
                f"{reference.peak_rss_kib / m.peak_rss_kib:.2f}"
                if reference is not None and reference.exit_code == 0 and m is not reference
                else ("1.00" if m is reference else "")
            )
            row = [
                m.tool, mib(m.peak_rss_kib), f"{m.wall_s:.2f}", f"{ratio_weights:.3f}", ratio_peer,
                mib(m.sampled_peak_anon_kib), mib(m.sampled_peak_file_kib),
            ]  # fmt: skip
        (floors if m.floor else rows).append(row)
    text = [format_table(rows, header)]
    if floors:
        text += ["", "process floors (no model weights):", format_table(floors, header)]
    text += [
        "",
        f"weights: {model.external_bytes:,} bytes ({model.external_bytes / GiB:.3f} GiB, "
        f"{model.external_bytes / 1e9:.3f} GB) in {model.external_tensors} external tensors, largest "
        f"{model.largest_tensor_bytes / MiB:.0f} MiB; data file {model.data_file_bytes:,} bytes",
        "peak RSS: ru_maxrss of the child (GNU time); peak/weights = peak RSS / weight bytes;",
        "mfc/peer = peak RSS of 'mfc import' / peak RSS of the row;",
        "* peaks of RssAnon (anonymous: heap) and RssFile (mapped file pages: weights, libraries)",
        "  sampled from /proc/<pid>/status; they need not peak together, and short spikes can be missed.",
    ]
    return "\n".join(text)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0],
        epilog="See the module docstring (head -60 bench/import_memory.py) for what each row measures.",
    )
    add = parser.add_argument
    add("--size-gb", type=float, default=1.0, help="external-data weights to reach, in GiB (default: 1.0)")
    add("--workdir", default="/tmp/mfc-bench", help="where the model is cached (default: /tmp/mfc-bench)")
    add("--mfc", default=os.path.join(REPO, "build", "bin", "mfc"), help="default: build/bin/mfc")
    add("--python", default=sys.executable, help="interpreter of the Python peers (default: this one)")
    add("--form", choices=("prefill", "decode"), default="prefill", help="graph form (default: prefill)")
    parser.add_argument("--rebuild", action="store_true", help="export the model again even if cached")
    add("--limit-gib", type=float, default=2.0, help="fail if mfc's peak RSS exceeds this (default: 2)")
    parser.add_argument(
        "--gate",
        choices=("import", "all"),
        default="import",
        help="which mfc rows the limit applies to: the import (default) or every mfc row, the printer's too",
    )
    add("--skip-full-print", action="store_true", help="skip the run that hex-dumps every blob")
    parser.add_argument("--skip-peers", action="store_true", help="measure mfc only")
    parser.add_argument("--skip-floors", action="store_true", help="skip the process-floor rows")
    add("--interval", type=float, default=0.005, help="/proc sampling period in seconds (default: 0.005)")
    parser.add_argument("--json", help="also write the measurements to this JSON file")
    return parser.parse_args(argv)


PEER_ONNX = """
import sys, onnx
model = onnx.load(sys.argv[1], load_external_data=True)
print(sum(len(t.raw_data) for t in model.graph.initializer), "bytes of raw_data loaded")
"""

PEER_ORT = """
import sys, onnxruntime as ort
session = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
print("session inputs:", [i.name for i in session.get_inputs()][:3], "ort", ort.__version__)
"""


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not os.access(args.mfc, os.X_OK):
        raise SystemExit(f"error: {args.mfc} is not an executable; build mfc first (cmake --build build)")
    if not os.access(GNU_TIME, os.X_OK):
        log(f"note: {GNU_TIME} not found (apt-get install -y time); peaks come from sampled VmHWM instead")
    config = choose_config(args.size_gb)
    model = build_model(args.workdir, config, args.form, args.rebuild)
    log(
        f"model: {model.path}: hidden {config.hidden_size}, {config.num_hidden_layers} layers, vocab "
        f"{config.vocab_size}; {model.external_bytes:,} bytes ({model.external_bytes / GiB:.3f} GiB) "
        f"of external-data weights in {model.external_tensors} tensors"
    )
    seconds = warm_page_cache(model.data_path)
    log(f"warmed the page cache with {model.data_file_bytes / MiB:.0f} MiB in {seconds:.1f} s")

    mfc = [args.mfc, "--emit=import", model.path, "-o", os.devnull]
    runs = [
        ("mfc import", mfc + ["--mlir-elide-resource-strings-if-larger=0"]),
        ("mfc import+print (elide=16)", mfc + ["--mlir-elide-resource-strings-if-larger=16"]),
    ]
    if not args.skip_full_print:
        runs.append(("mfc import+full print", mfc))
    if not args.skip_peers:
        runs += [
            ("onnx.load (external data)", [args.python, "-c", PEER_ONNX, model.path]),
            ("ort InferenceSession", [args.python, "-c", PEER_ORT, model.path]),
        ]
    results = [measure(tool, command, args.interval) for tool, command in runs]
    if not args.skip_floors:
        tiny = build_tiny_model(args.workdir)
        floors = [("mfc import (micro model)", [args.mfc, "--emit=import", tiny, "-o", os.devnull])]
        if not args.skip_peers:
            floors += [
                ("python: import onnx", [args.python, "-c", "import onnx"]),
                ("python: import onnxruntime", [args.python, "-c", "import onnxruntime"]),
            ]
        results += [measure(tool, command, args.interval, floor=True) for tool, command in floors]

    reference = results[0]
    print()
    print(report(model, results, reference))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(model=asdict(model), results=[asdict(r) for r in results]), f, indent=2)

    failed = [r for r in results if r.exit_code != 0]
    limit_kib = args.limit_gib * GiB / 1024
    mfc_rows = [r for r in results if r.tool.startswith("mfc") and not r.floor]
    gated = [r for r in mfc_rows if args.gate == "all" or r is reference]
    over = [r for r in gated if r.peak_rss_kib > limit_kib]
    print()
    for r in mfc_rows:
        if r.peak_rss_kib > limit_kib and r not in gated:
            peak = r.peak_rss_kib / 1024
            print(f"note: '{r.tool}' peaks at {peak:.0f} MiB, over {args.limit_gib:g} GiB (ungated)")
    if failed:
        print("FAILED: " + ", ".join(f"'{r.tool}' (exit {r.exit_code})" for r in failed))
        return 2
    if over:
        print(
            "FAIL: " + ", ".join(f"'{r.tool}' peaks at {r.peak_rss_kib / 1024:.0f} MiB" for r in over)
            + f", over the {args.limit_gib:g} GiB limit"
        )
        return 1
    print(
        f"OK: mfc import peaks at {reference.peak_rss_kib / 1024:.0f} MiB "
        f"({reference.peak_rss_kib * 1024 / model.external_bytes:.3f} x the weights), "
        f"under {args.limit_gib:g} GiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
