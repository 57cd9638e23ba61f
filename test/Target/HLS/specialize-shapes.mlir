// RUN: mfc-opt %s --split-input-file --mfc-hls-specialize-shapes --verify-diagnostics | FileCheck %s
// RUN: mfc-opt %s --split-input-file --mfc-hls-specialize-shapes=dim-size=4 --verify-diagnostics | FileCheck %s --check-prefix=FOUR

// The batch dim becomes 1; the ops take the static shapes, and so do the results.
// CHECK-LABEL: func.func @main_graph
// CHECK-SAME: (%[[X:.+]]: tensor<1x8xf32>) -> tensor<1x8xf32>
// CHECK: %[[E:.+]] = tensor.empty() : tensor<1x8xf32>
// CHECK: %[[Y:.+]] = linalg.generic {{.+}} ins(%[[X]] : tensor<1x8xf32>) outs(%[[E]] : tensor<1x8xf32>)
// CHECK: return %[[Y]] : tensor<1x8xf32>
// FOUR-LABEL: func.func @main_graph
// FOUR-SAME: (%{{.+}}: tensor<4x8xf32>) -> tensor<4x8xf32>
func.func @main_graph(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.mulf %a, %a : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// A result whose size does not follow from the inputs' is an error.
func.func @main_graph(%x: tensor<?x8xf32>, %n: index) -> tensor<?x8xf32> {
  %e = tensor.empty(%n) : tensor<?x8xf32>
  // expected-error @below {{result 0 keeps a dynamic shape ('tensor<?x8xf32>') after fixing the inputs' dims}}
  return %e : tensor<?x8xf32>
}

// -----

// expected-error @below {{no entry function @main_graph}}
module {
  func.func @other() {
    return
  }
}
