// A malformed op: the verifier message reaches the user and mfc-opt fails.
// RUN: not mfc-opt %s 2>&1 | FileCheck %s
// CHECK: error: 'tern.matmul' op packed weights have 4 bytes per row, but 32 input features need 8
func.func @f(%x: tensor<2x32xi8>, %w: tensor<64x4xi8>) -> tensor<2x64xi32> {
  %0 = tern.matmul %x, %w : tensor<2x32xi8>, tensor<64x4xi8> -> tensor<2x64xi32>
  return %0 : tensor<2x64xi32>
}
