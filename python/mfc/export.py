"""Export HGRN-Bit models to ONNX (IR version 8, opset 17) with the onnx helper API.

Forms
  prefill  inputs  input_ids int64 [batch, seq]
           outputs logits float [batch, seq, vocab], h_{l} float [batch, input_dim] per layer
           The recurrence of each layer is a Scan over the seq axis.
  decode   inputs  input_ids int64 [batch, 1], h_prev_{l} float [batch, input_dim] per layer
           outputs logits float [batch, 1, vocab], h_{l} float [batch, input_dim] per layer
           The recurrence is one step: h = f * h_prev + c.

Weight formats (projection weights are stored transposed, [in, out], for MatMul(x, W))
  fakequant  float initializer holding only {-a, 0, +a}, a = 1/s_w
  qdq        int8 initializer in {-1, 0, 1} -> DequantizeLinear(scale a, zero point 0)

One BitLinear with node-name prefix p (e.g. 'layers.0.attn.i_proj') is, in order:
  p.norm.square Mul, p.norm.mean ReduceMean, p.norm.add_eps Add, p.norm.sqrt Sqrt,
  p.norm.div Div, p.norm.scale Mul                             x' = RMSNorm(x) * n
  p.act_quant.abs Abs, p.act_quant.absmax ReduceMax, p.act_quant.floor Max (1e-5),
  p.act_quant.scale Div (127 / absmax)                         s_x
  p.act_quant.mul Mul, p.act_quant.round Round, p.act_quant.clip Clip (-128, 127)   q
  [qdq only: p.weight_dequant DequantizeLinear]
  p.matmul MatMul (q, W)                                       integer-valued q times a*T
  p.act_dequant Div (by s_x)                                   y
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, List, Optional, Union

import numpy as np
import onnx
from onnx import TensorProto, helper

from . import __version__
from .checkpoint import load_checkpoint
from .config import PRESETS, HGRNBitConfig, preset
from .onnx_graph import ExternalDataWriter, GraphBuilder, InlineInitializers
from .weights import ACT_ABSMAX_FLOOR, ModelWeights, bitlinear_names, parameter_shapes

IR_VERSION = 8
OPSET = 17
FORMS = ("prefill", "decode")
WEIGHT_FORMATS = ("fakequant", "qdq")
EXTERNAL_DATA_CHOICES = ("auto", "always", "never")
# "auto" switches to external data well before protobuf's hard 2 GiB limit.
EXTERNAL_DATA_AUTO_BYTES = 1 << 30
PROTOBUF_LIMIT_BYTES = (1 << 31) - 1

FLOAT = TensorProto.FLOAT
Progress = Callable[[int, int], None]


def onnx_name(reference_name: str) -> str:
    """ONNX names drop the reference's 'model.' prefix: 'model.layers.0.attn' -> 'layers.0.attn'."""
    return reference_name[len("model.") :] if reference_name.startswith("model.") else reference_name


class ScanRecurrence:
    """Prefill: h_t = f_t * h_{t-1} + c_t as a Scan over axis 1, starting from zeros."""

    def __init__(self, b: GraphBuilder, input_ids: str, state_dim: int):
        self.b = b
        self.state_dim = state_dim
        batch = b.op("Shape", [input_ids], "state_init.batch", start=0, end=1)
        shape = b.op("Concat", [batch, b.constant([state_dim], np.int64)], "state_init.shape", axis=0)
        zero = helper.make_tensor("value", FLOAT, [1], [0.0])
        self.zero_state = b.op("ConstantOfShape", [shape], "state_init.zeros", value=zero)

    def __call__(self, f: str, c: str, layer: int) -> str:
        name = f"layers.{layer}.attn.scan"
        state = ["batch", self.state_dim]
        body = GraphBuilder()
        h_prev = body.input(f"{name}.h_prev", FLOAT, state)
        f_t = body.input(f"{name}.f_t", FLOAT, state)
        c_t = body.input(f"{name}.c_t", FLOAT, state)
        decayed = body.op("Mul", [f_t, h_prev], f"{name}.mul")
        h_next = body.op("Add", [decayed, c_t], f"{name}.add")
        h_t = body.op("Identity", [h_next], f"{name}.h_t")
        body.output(h_next, FLOAT, state)
        body.output(h_t, FLOAT, state)
        _, h_seq = self.b.op(
            "Scan",
            [self.zero_state, f, c],
            name,
            outputs=[f"h_{layer}", f"{name}.h_seq"],
            body=body.graph(f"{name}.body"),
            num_scan_inputs=2,
            scan_input_axes=[1, 1],
            scan_output_axes=[1],
        )
        return h_seq


class StepRecurrence:
    """Decode: one step h = f * h_prev + c on [batch, input_dim], h_prev a graph input."""

    def __init__(self, b: GraphBuilder, state_dim: int):
        self.b = b
        self.state_dim = state_dim

    def __call__(self, f: str, c: str, layer: int) -> str:
        b, name = self.b, f"layers.{layer}.attn.recurrence"
        h_prev = b.input(f"h_prev_{layer}", FLOAT, ["batch", self.state_dim])
        axis = b.constant([1], np.int64)
        f_t = b.op("Squeeze", [f, axis], f"{name}.squeeze_f")
        c_t = b.op("Squeeze", [c, axis], f"{name}.squeeze_c")
        decayed = b.op("Mul", [f_t, h_prev], f"{name}.mul")
        h = b.op("Add", [decayed, c_t], f"{name}.add", outputs=[f"h_{layer}"])
        return b.op("Unsqueeze", [h, axis], f"{name}.unsqueeze")


class LayerEmitter:
    """Emits the model's layers into a GraphBuilder, reading parameters by reference name.
    Tests use it to build single blocks (a BitLinear, a token or channel mixer) as well."""

    def __init__(self, b: GraphBuilder, weights: ModelWeights, weight_format: str):
        self.b = b
        self.weights = weights
        self.config = weights.config
        self.weight_format = weight_format
        self.lower_bounds = weights.lower_bounds()

    def param(self, reference_name: str) -> str:
        return self.b.initializer(onnx_name(reference_name), self.weights.tensor(reference_name))

    def rms_norm(self, x: str, module: str) -> str:
        """RMSNorm(x) * weight, the weight being the parameter `{module}.weight`."""
        b, name = self.b, onnx_name(module)
        square = b.op("Mul", [x, x], f"{name}.square")
        mean = b.op("ReduceMean", [square], f"{name}.mean", axes=[-1], keepdims=1)
        shifted = b.op("Add", [mean, b.constant(self.config.rms_norm_eps)], f"{name}.add_eps")
        rms = b.op("Sqrt", [shifted], f"{name}.sqrt")
        normalized = b.op("Div", [x, rms], f"{name}.div")
        return b.op("Mul", [normalized, self.param(f"{module}.weight")], f"{name}.scale")

    def silu(self, x: str, name: str) -> str:
        return self.b.op("Mul", [x, self.b.op("Sigmoid", [x], f"{name}.sigmoid")], f"{name}.mul")

    def ternary_weight(self, module: str) -> str:
        """The [in, out] weight a*T of a BitLinear, as a constant or a DequantizeLinear."""
        b, name = self.b, onnx_name(module)
        weight = self.weights.ternary(module)
        if self.weight_format == "fakequant":
            return b.initializer(f"{name}.weight", weight.dequantize().T)
        codes = b.initializer(f"{name}.weight_codes", weight.codes.T)
        scale = b.initializer(f"{name}.weight_scale", np.asarray(weight.step, np.float32))
        return b.op("DequantizeLinear", [codes, scale, b.constant(0, np.int8)], f"{name}.weight_dequant")

    def bitlinear(self, x: str, module: str, output: Optional[str] = None) -> str:
        b, name = self.b, onnx_name(module)
        normalized = self.rms_norm(x, f"{module}.norm")
        magnitude = b.op("Abs", [normalized], f"{name}.act_quant.abs")
        absmax = b.op("ReduceMax", [magnitude], f"{name}.act_quant.absmax", axes=[-1], keepdims=1)
        absmax = b.op("Max", [absmax, b.constant(ACT_ABSMAX_FLOOR)], f"{name}.act_quant.floor")
        s_x = b.op("Div", [b.constant(127.0), absmax], f"{name}.act_quant.scale")
        scaled = b.op("Mul", [normalized, s_x], f"{name}.act_quant.mul")
        rounded = b.op("Round", [scaled], f"{name}.act_quant.round")
        q = b.op("Clip", [rounded, b.constant(-128.0), b.constant(127.0)], f"{name}.act_quant.clip")
        acc = b.op("MatMul", [q, self.ternary_weight(module)], f"{name}.matmul")
        return b.op("Div", [acc, s_x], f"{name}.act_dequant", outputs=[output] if output else None)

    def token_mixer(self, x: str, layer: int, recurrence: Callable[[str, str, int], str]) -> str:
        b, module = self.b, f"model.layers.{layer}.attn"
        name = onnx_name(module)
        i = self.bitlinear(x, f"{module}.i_proj")
        f = b.op("Sigmoid", [self.bitlinear(x, f"{module}.f_proj")], f"{name}.forget_gate.sigmoid")
        if self.config.use_lower_bound and layer > 0:
            lb = self.lower_bounds[layer]
            f = b.op(
                "Mul",
                [f, b.initializer(f"{name}.one_minus_lower_bound", 1 - lb)],
                f"{name}.forget_gate.lower_bound_mul",
            )
            f = b.op(
                "Add", [f, b.initializer(f"{name}.lower_bound", lb)], f"{name}.forget_gate.lower_bound_add"
            )
        g = self.bitlinear(x, f"{module}.g_proj")
        one_minus_f = b.op("Sub", [b.constant(1.0), f], f"{name}.input_gate.one_minus_f")
        c = b.op("Mul", [self.silu(i, f"{name}.input_gate.silu"), one_minus_f], f"{name}.input_gate.mul")
        h = recurrence(f, c, layer)
        gated = b.op(
            "Mul",
            [self.rms_norm(g, f"{module}.g_norm"), self.silu(h, f"{name}.output_gate.silu")],
            f"{name}.output_gate.mul",
        )
        return self.bitlinear(gated, f"{module}.o_proj")

    def channel_mixer(self, x: str, layer: int) -> str:
        b, module = self.b, f"model.layers.{layer}.mlp"
        name = onnx_name(module)
        half = self.config.mlp_intermediate_size
        projected = self.bitlinear(x, f"{module}.gate_proj")
        gate, value = b.op(
            "Split",
            [projected, b.constant([half, half], np.int64)],
            f"{name}.split",
            outputs=[f"{name}.split.gate", f"{name}.split.value"],
            axis=-1,
        )
        glu = b.op("Mul", [self.silu(gate, f"{name}.glu.silu"), value], f"{name}.glu.mul")
        return self.bitlinear(glu, f"{module}.down_proj")

    def block(self, x: str, layer: int, recurrence: Callable[[str, str, int], str]) -> str:
        p = f"model.layers.{layer}"
        mixed = self.token_mixer(self.rms_norm(x, f"{p}.attn_norm"), layer, recurrence)
        x = self.b.op("Add", [x, mixed], f"layers.{layer}.attn_residual")
        mixed = self.channel_mixer(self.rms_norm(x, f"{p}.mlp_norm"), layer)
        return self.b.op("Add", [x, mixed], f"layers.{layer}.mlp_residual")


def build_model(
    weights: ModelWeights,
    form: str = "prefill",
    weight_format: str = "fakequant",
    initializers: Optional[Union[InlineInitializers, ExternalDataWriter]] = None,
    progress: Optional[Progress] = None,
) -> onnx.ModelProto:
    """Build the ONNX model of `weights` in one of FORMS and WEIGHT_FORMATS."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if weight_format not in WEIGHT_FORMATS:
        raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
    config = weights.config
    b = GraphBuilder(initializers)
    seq = "seq" if form == "prefill" else 1
    input_ids = b.input("input_ids", TensorProto.INT64, ["batch", seq])
    recurrence = (
        ScanRecurrence(b, input_ids, config.input_dim)
        if form == "prefill"
        else StepRecurrence(b, config.input_dim)
    )
    emit = LayerEmitter(b, weights, weight_format)

    x = b.op("Gather", [emit.param("model.embeddings.weight"), input_ids], "embeddings.gather", axis=0)
    for layer in range(config.num_hidden_layers):
        x = emit.block(x, layer, recurrence)
        if progress:
            progress(layer + 1, config.num_hidden_layers)
    emit.bitlinear(emit.rms_norm(x, "model.norm"), "lm_head", output="logits")

    b.output("logits", FLOAT, ["batch", seq, config.vocab_size])
    for layer in range(config.num_hidden_layers):
        b.output(f"h_{layer}", FLOAT, ["batch", config.input_dim])
    graph = b.graph(f"hgrn_bit_{form}", doc=f"HGRN-Bit {form} graph, {weight_format} ternary weights")
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="mfc",
        producer_version=__version__,
    )
    helper.set_model_props(
        model,
        {
            "mfc.form": form,
            "mfc.weight_format": weight_format,
            "mfc.config": config.to_json(),
        },
    )
    return model


def estimated_initializer_bytes(config: HGRNBitConfig, weight_format: str) -> int:
    """Approximate initializer size: ternary weights at 4 (fakequant) or 1 (qdq) bytes, the rest float32."""
    ternary_width = 4 if weight_format == "fakequant" else 1
    linear_weights = {f"{m}.weight" for m in bitlinear_names(config)}
    total = config.vocab_size * config.hidden_size * ternary_width if config.tie_word_embeddings else 0
    for name, shape in parameter_shapes(config).items():
        total += int(np.prod(shape)) * (ternary_width if name in linear_weights else 4)
    return total


def export_onnx(
    weights: ModelWeights,
    path: Union[str, os.PathLike],
    form: str = "prefill",
    weight_format: str = "fakequant",
    external_data: str = "auto",
    size_threshold: int = 1024,
    progress: Optional[Progress] = None,
) -> List[str]:
    """Write the model to `path`; returns the files written (the .onnx and any .data file).

    With external data, tensors of at least `size_threshold` bytes go to '<path>.data' as
    they are produced ("auto": when the initializers would exceed 1 GiB).
    """
    if external_data not in EXTERNAL_DATA_CHOICES:
        raise ValueError(f"external_data must be one of {EXTERNAL_DATA_CHOICES}, got {external_data!r}")
    path = os.fspath(path)
    size = estimated_initializer_bytes(weights.config, weight_format)
    external = external_data == "always" or (external_data == "auto" and size > EXTERNAL_DATA_AUTO_BYTES)
    if not external:
        if size > PROTOBUF_LIMIT_BYTES:
            raise ValueError(f"{size} bytes of initializers exceed protobuf's 2 GiB limit; use external data")
        onnx.save_model(build_model(weights, form, weight_format, progress=progress), path)
        return [path]
    location = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), location)
    with ExternalDataWriter(data_path, location, size_threshold) as writer:
        model = build_model(weights, form, weight_format, initializers=writer, progress=progress)
    onnx.save_model(model, path)
    return [path, data_path]


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mfc.export",
        description="Export an HGRN-Bit (MatMul-free LM) model to ONNX (IR 8, opset 17).",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--preset", choices=list(PRESETS), help="model size with random weights (default: tiny)"
    )
    source.add_argument(
        "--config", help="config.json (reference field names) for a model with random weights"
    )
    source.add_argument(
        "--checkpoint", help="checkpoint directory: config.json + model.safetensors (or sharded)"
    )
    parser.add_argument(
        "--form",
        choices=FORMS,
        default="prefill",
        help="prefill (Scan over tokens) or decode (one step with state inputs)",
    )
    parser.add_argument(
        "--weights",
        dest="weight_format",
        choices=WEIGHT_FORMATS,
        default="fakequant",
        help="fakequant: float weights in {-a,0,a}; qdq: int8 codes -> DequantizeLinear",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default: 0)")
    parser.add_argument(
        "--external-data",
        choices=EXTERNAL_DATA_CHOICES,
        default="auto",
        help="store large tensors in <output>.data (auto: above 1 GiB of weights)",
    )
    parser.add_argument(
        "--size-threshold", type=int, default=1024, help="smallest tensor in bytes moved to external data"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    parser.add_argument("-o", "--output", required=True, help="output .onnx path")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse_args(argv)
    log = (
        (lambda message: None)
        if args.quiet
        else (lambda message: print(message, file=sys.stderr, flush=True))
    )
    if args.checkpoint:
        weights = load_checkpoint(args.checkpoint, cache=False)
    else:
        config = HGRNBitConfig.from_json(args.config) if args.config else preset(args.preset or "tiny")
        weights = ModelWeights.random(config, seed=args.seed, cache=False)
    config = weights.config
    log(
        f"exporting {args.form} graph, {args.weight_format} weights: hidden {config.hidden_size}, "
        f"{config.num_hidden_layers} layers, vocab {config.vocab_size}, "
        f"~{estimated_initializer_bytes(config, args.weight_format) / 2**20:.1f} MiB of weights"
    )
    files = export_onnx(
        weights,
        args.output,
        args.form,
        args.weight_format,
        args.external_data,
        args.size_threshold,
        progress=lambda done, total: log(f"  layer {done}/{total}"),
    )
    log("wrote " + ", ".join(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
