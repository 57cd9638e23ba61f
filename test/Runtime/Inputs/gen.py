"""Writes the .npy / .pb fixtures of the test/Runtime lit tests.

usage: gen.py add_one DIR | decode DIR | tds DIR | same A.npy B.npy
"""
import os
import sys

import numpy as np


def save(d, name, a):
    np.save(os.path.join(d, name), a)


def add_one(d):
    x = np.array([[-1.5, 0.0, 2.0, 3.0], [4.0, -5.0, 8.25, 7.0]], np.float32)
    save(d, "x.npy", x)
    save(d, "y.npy", x + 1)
    bad = x + 1
    bad[1, 2] += 0.5
    save(d, "y_bad.npy", bad)
    tiny = x + 1
    tiny[0, 3] += 1e-3  # within rtol 1e-3, outside the default 1e-4
    save(d, "y_tiny.npy", tiny)
    nan_x = x.copy()
    nan_x[0, 1] = np.nan
    save(d, "x_nan.npy", nan_x)
    save(d, "y_nan.npy", nan_x + 1)
    save(d, "argmax.npy", np.argmax(x, axis=1).astype(np.int64))
    save(d, "argmax_bad.npy", np.array([3, 3], np.int64))
    save(d, "positive.npy", x > 0)
    x3 = np.arange(12, dtype=np.float32).reshape(3, 4) - 6
    save(d, "x3.npy", x3)
    save(d, "y3.npy", x3 + 1)
    save(d, "x25.npy", np.zeros((2, 5), np.float32))
    save(d, "x1d.npy", np.zeros((4,), np.float32))
    save(d, "x_f64.npy", x.astype(np.float64))
    save(d, "x_fortran.npy", np.asfortranarray(x3))
    # v2 header.
    with open(os.path.join(d, "x_v2.npy"), "wb") as f:
        np.lib.format.write_array(f, x, version=(2, 0))
    with open(os.path.join(d, "garbage.npy"), "wb") as f:
        f.write(b"this is not numpy data\n")
    with open(os.path.join(d, "x.npy"), "rb") as f:
        data = f.read()
    with open(os.path.join(d, "truncated.npy"), "wb") as f:
        f.write(data[:-5])


def decode(d):
    save(d, "tok.npy", np.array([1], np.int64))
    save(d, "h0.npy", np.array([2.0, 4.0], np.float32))
    h = np.zeros(2, np.float32)
    for _ in range(3):
        h = 0.5 * h + 1
    save(d, "h3.npy", h)
    save(d, "logits3.npy", np.array([h[0], h[1], 3], np.float32))
    save(d, "kv3.npy", np.ones(3, np.float32))


def tds(d):
    from onnx import numpy_helper

    def write(folder, name, a, tensor_name):
        os.makedirs(folder, exist_ok=True)
        t = numpy_helper.from_array(a, tensor_name)
        with open(os.path.join(folder, name), "wb") as f:
            f.write(t.SerializeToString())

    x = np.array([[1.0, -2.0, 3.0, 0.5]], np.float32)
    good = os.path.join(d, "model", "test_data_set_0")
    write(good, "input_0.pb", x, "x")
    write(good, "output_0.pb", x + 1, "y")
    write(good, "output_1.pb", np.array([2], np.int64), "argmax")
    write(good, "output_2.pb", x > 0, "positive")
    x2 = np.arange(8, dtype=np.float32).reshape(2, 4)
    second = os.path.join(d, "model", "test_data_set_1")
    # Unnamed tensors: matched by position.
    write(second, "input_0.pb", x2, "")
    write(second, "output_0.pb", x2 + 1, "")
    bad = os.path.join(d, "bad", "test_data_set_0")
    write(bad, "input_0.pb", x2, "x")
    write(bad, "output_0.pb", x2 + 2, "y")
    # Typed (non-raw) fields, as older ONNX test data has.
    from onnx import TensorProto, helper

    typed = os.path.join(d, "typed")
    os.makedirs(typed, exist_ok=True)
    for name, t in [
        ("input_0.pb", helper.make_tensor("x", TensorProto.FLOAT, [1, 4],
                                          [1.0, 2.0, 3.0, 4.0])),
        ("output_1.pb", helper.make_tensor("argmax", TensorProto.INT64, [1],
                                           [3])),
    ]:
        with open(os.path.join(typed, name), "wb") as f:
            f.write(t.SerializeToString())


def same(a, b):
    x, y = np.load(a), np.load(b)
    ok = x.dtype == y.dtype and x.shape == y.shape and np.array_equal(
        x, y, equal_nan=True)
    print("same" if ok else "differ: %s %s vs %s %s" % (x.dtype, x.shape,
                                                        y.dtype, y.shape))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "same":
        same(sys.argv[2], sys.argv[3])
    else:
        os.makedirs(sys.argv[2], exist_ok=True)
        {"add_one": add_one, "decode": decode, "tds": tds}[cmd](sys.argv[2])
