// RUN: mfc-opt %s --tern-expand-ops=keep-bitlinear | FileCheck %s
// RUN: mfc-opt %s --tern-expand-ops | FileCheck %s --check-prefix=ALL

// keep-bitlinear leaves tern.bitlinear to the target and expands the rest.
// CHECK-LABEL: func.func @mixed
// CHECK: tern.bitlinear
// CHECK-NOT: tern.glu
// CHECK: linalg.generic
// ALL-LABEL: func.func @mixed
// ALL-NOT: tern.bitlinear
// ALL: tern.matmul
func.func @mixed(%x: tensor<2x128xf32>, %n: tensor<128xf32>, %w: tensor<16x32xi8>,
                 %a: tensor<16xf32>, %y: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %r = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x128xf32>, tensor<128xf32>, tensor<16x32xi8>, tensor<16xf32>)
                      outs(%y : tensor<2x16xf32>) -> tensor<2x16xf32>
  %g = tern.glu %r, %r : tensor<2x16xf32>
  return %g : tensor<2x16xf32>
}
