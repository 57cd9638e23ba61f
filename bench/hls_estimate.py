#!/usr/bin/env python3
"""`mfc --target=hls --report` on the 370M and 1.3B presets' decode step (random weights,
exported by mfc's exporter with external data), for a set of parts and lane counts: the
estimate's tokens/s beside the part's memory bound, as the README's FPGA table shows it.

The estimate is a model of the generated design (see its printed assumptions), not a
synthesis result; no FPGA or vendor tool is involved. Published FPGA results are quoted
in the README from their papers, not measured here.

    .venv/bin/python bench/hls_estimate.py [--presets 370M 1.3B] [--lanes 1 256 1024]
"""
import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
from mfc import ModelWeights, preset  # noqa: E402
from mfc.compiled import _tool  # noqa: E402
from mfc.export import export_onnx  # noqa: E402

PARTS = ("u280", "kv260")


def estimate(model: Path, part: str, lanes: int) -> dict:
    report = subprocess.run([str(_tool("mfc")), str(model), "--target=hls", f"-mcpu={part}",
                             f"--hls-lanes={lanes}", "--report"],
                            capture_output=True, text=True, check=True).stdout

    def number(pattern: str) -> float:
        match = re.search(pattern, report)
        if not match:
            raise RuntimeError(f"no '{pattern}' in the report:\n{report}")
        return float(match.group(1))

    return {
        "mib": number(r"per token: ([0-9.]+) MiB of packed weights"),
        "tokens": number(r"generated design \(.*\): .* = ([0-9.]+) tokens/s"),
        "bound": number(r"memory bound \([0-9.]+ GB/s\): ([0-9.]+) tokens/s"),
        "fraction": number(r"reaches ([0-9.e+-]+) of it"),
        "needed": number(r"to reach 0.7 of the bound: ([0-9]+) lanes"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["370M", "1.3B"])
    parser.add_argument("--lanes", nargs="+", type=int, default=[1, 256, 1024])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.presets:
            config = preset(name)
            model = Path(workdir) / f"{name}_decode.onnx"
            print(f"{name}: exporting the decode step (hidden {config.hidden_size}, "
                  f"{config.num_hidden_layers} layers)", flush=True)
            export_onnx(ModelWeights.random(config, seed=0, cache=False), str(model),
                        form="decode", weight_format="fakequant", external_data="always",
                        progress=lambda done, total: print(f"  layer {done}/{total}", flush=True))
            for part in PARTS:
                for lanes in args.lanes:
                    print(f"{name}: estimating {part}, {lanes} lanes", flush=True)
                    rows.append((name, part, lanes, estimate(model, part, lanes)))
    print("\n| model, part | lanes | packed weights per token | estimate | memory bound "
          "| fraction of the bound | lanes for 0.7 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, part, lanes, e in rows:
        print(f"| {name}, {part} | {lanes} | {e['mib']:.1f} MiB | {e['tokens']:,.1f} tokens/s "
              f"| {e['bound']:,.0f} tokens/s | {e['fraction']:.2g} | {e['needed']:,.0f} |")


if __name__ == "__main__":
    main()
