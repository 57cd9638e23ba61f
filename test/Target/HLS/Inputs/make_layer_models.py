"""Writes the single-layer models that the HLS C-simulation tests compile: one MLGRU token
mixer decode step (mlgru_decode.onnx) and one GLU channel mixer (glu.onnx), spelled with
onnx.helper the way DESIGN.md states the HGRN-Bit semantics -- independently of mfc's own
exporter. Weights are ternary times a per-tensor scale (random, seeded), so the files are
reproducible: `python make_layer_models.py` rewrites them byte for byte."""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN, INTERMEDIATE = 16, 32
HERE = Path(__file__).resolve().parent


class Graph:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.initializers, self.count = [], [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, value) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def rms_norm(self, x: str, weight=None) -> str:
        mean = self.op("ReduceMean", self.op("Mul", x, x), axes=[-1], keepdims=1)
        rms = self.op("Sqrt", self.op("Add", mean, self.const("eps", 1e-6)))
        normalized = self.op("Div", x, rms)
        return normalized if weight is None else self.op("Mul", normalized, self.const("norm_w", weight))

    def bit_linear(self, x: str, rows: int, cols: int) -> str:
        """RMSNorm, absmax int8 activation quantization, product with ternary * scale weights,
        dequantization (HGRN-Bit's BitLinear with the weights already quantized)."""
        xn = self.rms_norm(x, self.rng.uniform(0.5, 1.5, rows))
        absmax = self.op("ReduceMax", self.op("Abs", xn), axes=[-1], keepdims=1)
        scale = self.op("Div", self.const("c127", 127.0), self.op("Max", absmax, self.const("floor", 1e-5)))
        q = self.op("Clip", self.op("Round", self.op("Mul", xn, scale)),
                    self.const("lo", -128.0), self.const("hi", 127.0))
        ternary = self.rng.integers(-1, 2, (rows, cols)).astype(np.float32)
        weight = self.const("w", ternary * self.rng.uniform(0.02, 0.1))
        return self.op("Div", self.op("MatMul", q, weight), scale)

    def silu(self, x: str) -> str:
        return self.op("Mul", x, self.op("Sigmoid", x))

    def model(self, name: str, inputs, outputs) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                  producer_name="onnx.helper", ir_version=8)
        onnx.checker.check_model(model)
        return model


def value(name: str, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def mlgru_decode() -> onnx.ModelProto:
    """One step of the MLGRU token mixer: x and the state h of shape [batch 1, step 1, HIDDEN]
    (the time dim kept, as PyTorch's exporters leave it) in, the output and new state out."""
    g = Graph(seed=13)
    i = g.bit_linear("x", HIDDEN, HIDDEN)
    f = g.op("Sigmoid", g.bit_linear("x", HIDDEN, HIDDEN))
    gate = g.bit_linear("x", HIDDEN, HIDDEN)
    c = g.op("Mul", g.silu(i), g.op("Sub", g.const("one", 1.0), f))
    h = g.op("Add", g.op("Mul", f, "h"), c)
    o = g.op("Mul", g.rms_norm(gate, g.rng.uniform(0.5, 1.5, HIDDEN)), g.silu(h))
    y = g.bit_linear(o, HIDDEN, HIDDEN)
    g.nodes.append(helper.make_node("Identity", [y], ["y"], name="y"))
    g.nodes.append(helper.make_node("Identity", [h], ["h_new"], name="h_new"))
    step = [1, 1, HIDDEN]
    return g.model("mlgru_decode", [value("x", step), value("h", step)],
                   [value("y", step), value("h_new", step)])


def glu() -> onnx.ModelProto:
    """The GLU channel mixer: one projection to 2 * INTERMEDIATE, split, silu(a) * b, down."""
    g = Graph(seed=14)
    both = g.bit_linear("x", HIDDEN, 2 * INTERMEDIATE)
    a = g.name("a")
    b = g.name("b")
    g.nodes.append(helper.make_node("Split", [both], [a, b], name="split", axis=-1))
    y = g.bit_linear(g.op("Mul", g.silu(a), b), INTERMEDIATE, HIDDEN)
    g.nodes.append(helper.make_node("Identity", [y], ["y"], name="y"))
    return g.model("glu", [value("x", [1, HIDDEN])], [value("y", [1, HIDDEN])])


if __name__ == "__main__":
    for name, build in [("mlgru_decode", mlgru_decode), ("glu", glu)]:
        onnx.save(build(), HERE / f"{name}.onnx")
        print(f"wrote {HERE / name}.onnx")
