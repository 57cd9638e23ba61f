#!/usr/bin/env python3
"""`mfc --target=hls --report` on the 370M and 1.3B presets' decode step (random weights,
exported by mfc's exporter with external data), for a set of parts and design shapes
(lanes per channel, memory channels, element lanes): the estimate's tokens/s beside the
part's memory bound, as the README's FPGA table shows it.

The estimate is a model of the generated design (see its printed assumptions), not a
synthesis result; no FPGA or vendor tool is involved. Published FPGA results are quoted
in the README from their papers, not measured here.

    .venv/bin/python bench/hls_estimate.py [--presets 370M 1.3B]
        [--designs u280:1:1:1 u280:256:16:16 ...]   (part:lanes:channels:element-lanes)
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

# part:lanes:channels:element-lanes. One lane; one 512-bit port per product; 16 or 32
# ports (an HBM card's pseudo-channels) with element-wise maps 16 to 64 wide; the edge
# part's single DDR channel with maps 16 wide.
DESIGNS = ("u280:1:1:1", "u280:256:1:1", "u280:256:16:16", "u280:256:16:32",
           "u280:256:32:32", "u280:256:32:64", "kv260:256:1:1", "kv260:256:1:16")


def estimate(model: Path, design: str) -> dict:
    part, lanes, channels, element_lanes = design.split(":")
    report = subprocess.run([str(_tool("mfc")), str(model), "--target=hls", f"-mcpu={part}",
                             f"--hls-lanes={lanes}", f"--hls-channels={channels}",
                             f"--hls-element-lanes={element_lanes}", "--report"],
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
        "element_cycles": number(r"element-wise loops ([0-9.e+]+) cycles"),
        "cycles": number(r"generated design \(.*\): ([0-9.e+]+) cycles"),
        "dsp": number(r"DSP \(([0-9.]+)% of"),
        "lut": number(r"([0-9.]+)% of the part's LUTs\)"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["370M", "1.3B"])
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS),
                        help="part:lanes:channels:element-lanes")
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
            for design in args.designs:
                print(f"{name}: estimating {design} (part:lanes:channels:element-lanes)",
                      flush=True)
                rows.append((name, design, estimate(model, design)))
    print("\n| model | part: lanes x channels, element lanes | packed weights per token "
          "| estimate | element-wise share | lanes' LUTs | float cores' DSPs | memory bound "
          "| fraction of the bound |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, design, e in rows:
        part, lanes, channels, element_lanes = design.split(":")
        print(f"| {name} | {part}: {lanes} x {channels}, {element_lanes} "
              f"| {e['mib']:.1f} MiB | {e['tokens']:,.1f} tokens/s "
              f"| {e['element_cycles'] / e['cycles']:.0%} | {e['lut']:,.1f}% "
              f"| {e['dsp']:,.0f}% of the part "
              f"| {e['bound']:,.0f} tokens/s | {e['fraction']:.2g} |")


if __name__ == "__main__":
    main()
