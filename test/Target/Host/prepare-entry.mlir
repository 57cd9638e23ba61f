// RUN: mfc-opt %s --split-input-file --mfc-prepare-entry --verify-diagnostics | FileCheck %s

// The signature names each input and output with its ONNX element type and dims (-1:
// dynamic, then the dim names where the importer recorded them), and the entry gets the
// C interface that the host ABI's mfc_entry calls.
// CHECK: module attributes {mfc.signature = "mfc-signature 1\0Ainput\09x\091\092\09-1,8\09batch,\0Aoutput\09output0\097\091\093\0A"}
// CHECK: func.func @main_graph({{.+}}) -> tensor<3xi64> attributes {llvm.emit_c_interface}
// CHECK: func.func @helper
// CHECK-NOT: llvm.emit_c_interface
func.func @main_graph(%x: tensor<?x8xf32> {onnx.name = "x", onnx.elem_type = 1 : i64, onnx.dim_names = ["batch", ""]}) -> tensor<3xi64> {
  %0 = arith.constant dense<[1, 2, 3]> : tensor<3xi64>
  return %0 : tensor<3xi64>
}
func.func @helper() {
  return
}

// -----

// expected-error @+1 {{no entry function @main_graph}}
module {
  func.func @other() {
    return
  }
}

// -----

module {
  // expected-error @+1 {{entry arguments must be ranked tensors}}
  func.func @main_graph(%x: memref<4xf32>) {
    return
  }
}
