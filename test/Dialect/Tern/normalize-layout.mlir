// RUN: mfc-opt %s --split-input-file --tern-normalize-layout | FileCheck %s

// torch's decode step: [B, T, H*D] -> [B, T, H, D] -> [B, H, T, D] -> step 0 as
// [B, H, D]; with one head and one token every op keeps the element order.
// CHECK-LABEL: func.func @decode_gate_view
// CHECK-SAME:    (%[[X:.+]]: tensor<1x1x64xf32>)
// CHECK-NOT:     linalg.transpose
// CHECK-NOT:     tensor.extract_slice
// CHECK:         return %[[X]]
func.func @decode_gate_view(%x: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  %shape = arith.constant dense<[1, 1, 1, 64]> : tensor<4xi64>
  %r = tensor.reshape %x(%shape) : (tensor<1x1x64xf32>, tensor<4xi64>) -> tensor<1x1x1x64xf32>
  %e = tensor.empty() : tensor<1x1x1x64xf32>
  %t = linalg.transpose ins(%r : tensor<1x1x1x64xf32>) outs(%e : tensor<1x1x1x64xf32>) permutation = [0, 2, 1, 3]
  %s = tensor.extract_slice %t[0, 0, 0, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<1x1x1x64xf32> to tensor<1x1x64xf32>
  return %s : tensor<1x1x64xf32>
}

// -----

// Nearest negative: a transpose that moves a non-unit dim reorders elements.
// CHECK-LABEL: func.func @real_transpose
// CHECK:         linalg.transpose
func.func @real_transpose(%x: tensor<1x2x3xf32>) -> tensor<1x3x2xf32> {
  %e = tensor.empty() : tensor<1x3x2xf32>
  %t = linalg.transpose ins(%x : tensor<1x2x3xf32>) outs(%e : tensor<1x3x2xf32>) permutation = [0, 2, 1]
  return %t : tensor<1x3x2xf32>
}

// -----

// A step written into a zero buffer that it covers entirely is the step itself.
// CHECK-LABEL: func.func @covering_insert
// CHECK-SAME:    (%[[H:.+]]: tensor<64xf32>)
// CHECK:         %[[R:.+]] = tensor.expand_shape %[[H]] {{\[\[}}0, 1, 2, 3]] output_shape [1, 1, 1, 64] : tensor<64xf32> into tensor<1x1x1x64xf32>
// CHECK:         return %[[R]]
func.func @covering_insert(%h: tensor<64xf32>) -> tensor<1x1x1x64xf32> {
  %z = arith.constant dense<0.0> : tensor<1x1x1x64xf32>
  %i = tensor.insert_slice %h into %z[0, 0, 0, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<64xf32> into tensor<1x1x1x64xf32>
  return %i : tensor<1x1x1x64xf32>
}

// -----

// Nearest negative: writing one step of three keeps the buffer.
// CHECK-LABEL: func.func @partial_insert
// CHECK:         tensor.insert_slice
func.func @partial_insert(%h: tensor<64xf32>) -> tensor<1x1x3x64xf32> {
  %z = arith.constant dense<0.0> : tensor<1x1x3x64xf32>
  %i = tensor.insert_slice %h into %z[0, 0, 1, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<64xf32> into tensor<1x1x3x64xf32>
  return %i : tensor<1x1x3x64xf32>
}

// -----

// Step t of an unrolled recurrence through the head dim: the slice moves to the gates.
// CHECK-LABEL: func.func @unrolled_step_view
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x64xf32>)
// CHECK:         %[[S:.+]] = tensor.extract_slice %[[X]][0, 3, 0] [1, 1, 64] [1, 1, 1] : tensor<1x8x64xf32> to tensor<1x1x64xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         return %[[S]]
func.func @unrolled_step_view(%x: tensor<1x8x64xf32>) -> tensor<1x1x64xf32> {
  %shape = arith.constant dense<[1, 8, 1, 64]> : tensor<4xi64>
  %r = tensor.reshape %x(%shape) : (tensor<1x8x64xf32>, tensor<4xi64>) -> tensor<1x8x1x64xf32>
  %e = tensor.empty() : tensor<1x1x8x64xf32>
  %t = linalg.transpose ins(%r : tensor<1x8x1x64xf32>) outs(%e : tensor<1x1x8x64xf32>) permutation = [0, 2, 1, 3]
  %s = tensor.extract_slice %t[0, 0, 3, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<1x1x8x64xf32> to tensor<1x1x64xf32>
  return %s : tensor<1x1x64xf32>
}

// -----

// Step t of a two-head recurrence: [B, T, H*D] -> [B, T, H, D] -> [B, H, T, D], slice t.
// The slice moves above the transpose and the expansion (whose split dim it takes whole):
// a reshape of the gates' step t.
// CHECK-LABEL: func.func @two_head_step_view
// CHECK-SAME:    (%[[X:.+]]: tensor<1x8x128xf32>)
// CHECK:         %[[S:.+]] = tensor.extract_slice %[[X]][0, 3, 0] [1, 1, 128] [1, 1, 1] : tensor<1x8x128xf32> to tensor<1x1x128xf32>
// CHECK:         %[[R:.+]] = tensor.expand_shape %[[S]] {{\[\[}}0], [1], [2, 3]] output_shape [1, 1, 2, 64] : tensor<1x1x128xf32> into tensor<1x1x2x64xf32>
// CHECK-NOT:     linalg.transpose
// CHECK:         tensor.collapse_shape
// CHECK:         return
func.func @two_head_step_view(%x: tensor<1x8x128xf32>) -> tensor<1x2x64xf32> {
  %shape = arith.constant dense<[1, 8, 2, 64]> : tensor<4xi64>
  %r = tensor.reshape %x(%shape) : (tensor<1x8x128xf32>, tensor<4xi64>) -> tensor<1x8x2x64xf32>
  %e = tensor.empty() : tensor<1x2x8x64xf32>
  %t = linalg.transpose ins(%r : tensor<1x8x2x64xf32>) outs(%e : tensor<1x2x8x64xf32>) permutation = [0, 2, 1, 3]
  %s = tensor.extract_slice %t[0, 0, 3, 0] [1, 2, 1, 64] [1, 1, 1, 1] : tensor<1x2x8x64xf32> to tensor<1x2x1x64xf32>
  %c = tensor.collapse_shape %s [[0], [1, 2], [3]] : tensor<1x2x1x64xf32> into tensor<1x2x64xf32>
  return %c : tensor<1x2x64xf32>
}

// -----

// Nearest negative: a slice of part of a split dim (one head) does not move past the
// expansion.
// CHECK-LABEL: func.func @one_head_of_two
// CHECK:         tensor.expand_shape
// CHECK:         tensor.extract_slice %{{.+}}[0, 3, 1, 0] [1, 1, 1, 64]
func.func @one_head_of_two(%x: tensor<1x8x128xf32>) -> tensor<1x1x1x64xf32> {
  %r = tensor.expand_shape %x [[0], [1], [2, 3]] output_shape [1, 8, 2, 64] : tensor<1x8x128xf32> into tensor<1x8x2x64xf32>
  %s = tensor.extract_slice %r[0, 3, 1, 0] [1, 1, 1, 64] [1, 1, 1, 1] : tensor<1x8x2x64xf32> to tensor<1x1x1x64xf32>
  return %s : tensor<1x1x1x64xf32>
}
