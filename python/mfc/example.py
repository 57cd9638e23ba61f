"""The bundled example model, and reading a model's weights back out of an mfc ONNX export.

The repository ships `examples/shakespeare/decode.onnx`, a byte-level HGRN-Bit model trained
by `mfc.train` on Shakespeare's plays (examples/README.md). Only the ONNX graph is kept:
`load_onnx_weights` turns any graph written by `mfc.export` (either form, either weight
format) back into `ModelWeights` for the numpy reference, taking the ternary codes and
scales as stored, so both sides run the same quantized model.

    python -m mfc.example --prompt "ROMEO:" --max-new-tokens 200
    python -m mfc.example --backend onnxruntime --top-k 5 --seed 1
    python -m mfc.example --export prefill -o prefill.onnx
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional, Union

import numpy as np
import onnx
from onnx import numpy_helper

from .config import HGRNBitConfig
from .weights import ModelWeights, TernaryWeight, bitlinear_names, parameter_shapes

EXAMPLES_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples"
)
EXAMPLE_MODEL = os.path.join(EXAMPLES_DIR, "shakespeare", "decode.onnx")
EXAMPLE_PROMPT = "ROMEO:\n"


def _onnx_name(reference_name: str) -> str:
    return reference_name[len("model.") :] if reference_name.startswith("model.") else reference_name


class OnnxModelWeights(ModelWeights):
    """ModelWeights whose ternary weights and lower bounds are the exported ones, exactly.

    Float tensors of BitLinear weights are rebuilt as codes * (step / fraction nonzero),
    which `ternarize` maps back to the same codes and step; `model.lower_bounds` is rebuilt
    as the log of the per-layer softmax that the stored bounds came from.
    """

    def __init__(
        self,
        config: HGRNBitConfig,
        tensors: Dict[str, np.ndarray],
        ternaries: Dict[str, TernaryWeight],
        lower_bounds: np.ndarray,
    ):
        super().__init__(config, tensors.__getitem__)
        self._ternaries.update(ternaries)
        self._table = lower_bounds

    def lower_bounds(self) -> np.ndarray:
        return self._table.copy()


def load_onnx_weights(model: Union[str, os.PathLike, onnx.ModelProto]) -> OnnxModelWeights:
    """The weights and config (metadata 'mfc.config') of a graph written by `mfc.export`."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(model))
    props = {p.key: p.value for p in model.metadata_props}
    if "mfc.config" not in props:
        raise ValueError("not an mfc export: the model has no 'mfc.config' metadata")
    config = HGRNBitConfig.from_json(props["mfc.config"])
    stored = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    tensors: Dict[str, np.ndarray] = {}
    ternaries: Dict[str, TernaryWeight] = {}
    for module in bitlinear_names(config):
        name = _onnx_name(module)
        if f"{name}.weight_codes" in stored:  # qdq: int8 codes [in, out] and the step
            codes = np.ascontiguousarray(stored[f"{name}.weight_codes"].T).astype(np.int8)
            step = np.float32(stored[f"{name}.weight_scale"])
        else:  # fakequant: {-step, 0, +step} floats [in, out]
            weight = stored[f"{name}.weight"].T
            step = np.float32(np.abs(weight).max()) if weight.any() else np.float32(1)
            codes = np.rint(weight / step).astype(np.int8)
        ternaries[module] = TernaryWeight(codes=codes, s_w=np.float32(1) / step)
        nonzero = max(np.count_nonzero(codes) / codes.size, 1e-6)
        tensors[f"{module}.weight"] = codes.astype(np.float32) * np.float32(step / nonzero)

    layers, hidden = config.num_hidden_layers, config.hidden_size
    table = np.zeros((layers, hidden), np.float32)
    for layer in range(1, layers):
        table[layer] = stored[f"layers.{layer}.attn.lower_bound"]
    for name, shape in parameter_shapes(config).items():
        if name in tensors:
            continue
        if name == "model.lower_bounds":
            # lb[l] = p_1 + ... + p_l, so p_l = lb[l] - lb[l-1] and p_0 = 1 - lb[-1].
            p = np.diff(table.astype(np.float64), axis=0, prepend=0.0)
            p[0] = 1.0 - table[-1]
            tensors[name] = np.log(np.maximum(p, 1e-30)).astype(np.float32)
        else:
            tensors[name] = stored[_onnx_name(name)].reshape(shape)
    return OnnxModelWeights(config, tensors, ternaries, table)


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mfc.example",
        description="Generate text with the bundled example model (or any mfc ONNX export), "
        "or re-export it in another form.",
    )
    parser.add_argument(
        "--model", default=EXAMPLE_MODEL, help="an ONNX file written by mfc (default: the example)"
    )
    parser.add_argument("--prompt", default=EXAMPLE_PROMPT, help=f"text to continue ({EXAMPLE_PROMPT!r})")
    parser.add_argument("--max-new-tokens", type=int, default=300, help="bytes to generate (300)")
    parser.add_argument("--backend", choices=["reference", "onnxruntime"], default="reference")
    parser.add_argument(
        "--top-k", type=int, default=None, help="sample among the k likeliest (default: greedy)"
    )
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--export", choices=["prefill", "decode"], help="write this form to -o instead")
    parser.add_argument("--weights", dest="weight_format", choices=["qdq", "fakequant"], default="qdq")
    parser.add_argument("-o", "--output", help="output .onnx path for --export")
    args = parser.parse_args(argv)
    if args.export and not args.output:
        parser.error("--export needs -o/--output")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    from .generate import ByteTokenizer, OnnxRuntimeBackend, ReferenceBackend, generate

    args = _parse_args(argv)
    if args.export:
        from .export import export_onnx

        export_onnx(
            load_onnx_weights(args.model), args.output, form=args.export, weight_format=args.weight_format
        )
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    if args.backend == "onnxruntime":
        backend = OnnxRuntimeBackend(args.model)
    else:
        backend = ReferenceBackend(load_onnx_weights(args.model))
    tokenizer = ByteTokenizer()
    tokens = generate(
        backend, tokenizer.encode(args.prompt), args.max_new_tokens, args.top_k, args.temperature, args.seed
    )
    sys.stdout.write(tokenizer.decode(tokens) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
