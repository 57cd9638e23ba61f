// A ternary product of any number of token rows with its codes as an argument: the
// CUDA target makes both the GEMV kernel and the tensor-core one (chosen per call).
func.func @main_graph(%x: tensor<?x256xi8>, %w: tensor<96x64xi8>) -> tensor<?x96xi32> {
  %c0 = arith.constant 0 : index
  %rows = tensor.dim %x, %c0 : tensor<?x256xi8>
  %init = tensor.empty(%rows) : tensor<?x96xi32>
  %y = tern.matmul ins(%x, %w : tensor<?x256xi8>, tensor<96x64xi8>) outs(%init : tensor<?x96xi32>) -> tensor<?x96xi32>
  return %y : tensor<?x96xi32>
}
