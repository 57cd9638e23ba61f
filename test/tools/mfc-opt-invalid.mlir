// A malformed op: the verifier message reaches the user and mfc-opt fails.
// RUN: not mfc-opt %s 2>&1 | FileCheck %s
// CHECK: error: 'tern.matmul' op packed weights in rows have 4 bytes per output, but 32 input features need 8
func.func @f(%x: tensor<2x32xi8>, %w: tensor<64x4xi8>) -> tensor<2x64xi32> {
  %init_0 = tensor.empty() : tensor<2x64xi32>
  %0 = tern.matmul ins(%x, %w : tensor<2x32xi8>, tensor<64x4xi8>) outs(%init_0 : tensor<2x64xi32>) -> tensor<2x64xi32>
  return %0 : tensor<2x64xi32>
}
