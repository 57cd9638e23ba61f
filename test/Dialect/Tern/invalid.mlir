// RUN: mfc-opt %s --split-input-file --verify-diagnostics

func.func @matmul_scalar_input(%x: tensor<i8>, %w: tensor<4x1xi8>) -> tensor<4xi32> {
  %init_0 = tensor.empty() : tensor<4xi32>
  // expected-error @+1 {{input must have at least one dimension (the features)}}
  %0 = tern.matmul ins(%x, %w : tensor<i8>, tensor<4x1xi8>) outs(%init_0 : tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @matmul_dynamic_features(%x: tensor<2x?xi8>, %w: tensor<4x1xi8>) -> tensor<2x4xi32> {
  %init_0 = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{the reduction (last) dimension of the input must be static to match packed weights}}
  %0 = tern.matmul ins(%x, %w : tensor<2x?xi8>, tensor<4x1xi8>) outs(%init_0 : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_row_bytes(%x: tensor<2x40xi8>, %w: tensor<4x8xi8>) -> tensor<2x4xi32> {
  %init_0 = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{packed weights in rows have 8 bytes per output, but 40 input features need 10 (4 ternary weights per byte)}}
  %0 = tern.matmul ins(%x, %w : tensor<2x40xi8>, tensor<4x8xi8>) outs(%init_0 : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_result_channels(%x: tensor<2x32xi8>, %w: tensor<64x8xi8>) -> tensor<2x32xi32> {
  %init_0 = tensor.empty() : tensor<2x32xi32>
  // expected-error @+1 {{expected init of shape 2x64, found 'tensor<2x32xi32>'}}
  %0 = tern.matmul ins(%x, %w : tensor<2x32xi8>, tensor<64x8xi8>) outs(%init_0 : tensor<2x32xi32>) -> tensor<2x32xi32>
  return %0 : tensor<2x32xi32>
}

// -----

func.func @matmul_result_rank(%x: tensor<2x3x32xi8>, %w: tensor<64x8xi8>) -> tensor<6x64xi32> {
  %init_0 = tensor.empty() : tensor<6x64xi32>
  // expected-error @+1 {{expected init of shape 2x3x64, found 'tensor<6x64xi32>'}}
  %0 = tern.matmul ins(%x, %w : tensor<2x3x32xi8>, tensor<64x8xi8>) outs(%init_0 : tensor<6x64xi32>) -> tensor<6x64xi32>
  return %0 : tensor<6x64xi32>
}

// -----

func.func @matmul_unpacked_weights(%x: tensor<2x4xi8>, %w: tensor<4x4xf32>) -> tensor<2x4xi32> {
  %init_0 = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{operand #1 must be packed ternary weights: a 2-D i8 tensor or memref of 2-bit codes}}
  %0 = tern.matmul ins(%x, %w : tensor<2x4xi8>, tensor<4x4xf32>) outs(%init_0 : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_dynamic_row_bytes(%x: tensor<2x4xi8>, %w: tensor<4x?xi8>) -> tensor<2x4xi32> {
  %init = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{packed weights in rows have ? bytes per output, but 4 input features need 1}}
  %0 = tern.matmul ins(%x, %w : tensor<2x4xi8>, tensor<4x?xi8>) outs(%init : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_mixed_tensor_and_memref(%x: tensor<2x4xi8>, %w: memref<4x1xi8>) -> tensor<2x4xi32> {
  %init = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{operands must be all tensors or all memrefs}}
  %0 = tern.matmul ins(%x, %w : tensor<2x4xi8>, memref<4x1xi8>) outs(%init : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_result_on_memrefs(%x: memref<2x4xi8>, %w: memref<4x1xi8>, %y: memref<2x4xi32>) {
  // expected-error @+1 {{returns no result on memrefs}}
  %0 = tern.matmul ins(%x, %w : memref<2x4xi8>, memref<4x1xi8>) outs(%y : memref<2x4xi32>) -> tensor<2x4xi32>
  return
}

// -----

func.func @matmul_columns_layout(%x: tensor<2x8xi8>, %w: tensor<4x2xi8>) -> tensor<2x4xi32> {
  %init = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{packed weights in columns have 4 bytes per output, but 8 input features need 2}}
  %0 = tern.matmul ins(%x, %w : tensor<2x8xi8>, tensor<4x2xi8>) outs(%init : tensor<2x4xi32>) {layout = #tern.packed<bits = 2, order = columns>} -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @packed_bits(%x: tensor<2x8xi8>, %w: tensor<4x2xi8>) -> tensor<2x4xi32> {
  %init = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{ternary codes take 2 bits, found bits = 4}}
  %0 = tern.matmul ins(%x, %w : tensor<2x8xi8>, tensor<4x2xi8>) outs(%init : tensor<2x4xi32>) {layout = #tern.packed<bits = 4, order = rows>} -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_wide_int_input(%x: tensor<2x4xi32>, %w: tensor<4x1xi8>) -> tensor<2x4xi32> {
  %init_0 = tensor.empty() : tensor<2x4xi32>
  // expected-error @+1 {{operand #0 must be Tensor or MemRef of 8-bit signless integer or 32-bit float or 16-bit float or bfloat16 type values}}
  %0 = tern.matmul ins(%x, %w : tensor<2x4xi32>, tensor<4x1xi8>) outs(%init_0 : tensor<2x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @quantize_act_eps(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{eps must be positive, found 0}}
  %q, %s = tern.quantize_act %x {eps = 0.0 : f32} : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<2x1xf32>
  return
}

// -----

func.func @quantize_act_quantized_shape(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{expected quantized result of shape 2x4, found 'tensor<2x5xi8>'}}
  %q, %s = tern.quantize_act %x : tensor<2x4xf32> -> tensor<2x5xi8>, tensor<2x1xf32>
  return
}

// -----

func.func @quantize_act_scale_per_tensor(%x: tensor<2x4xf32>) {
  // expected-error @+1 {{expected scale of shape 2x1, found 'tensor<1xf32>'}}
  %q, %s = tern.quantize_act %x : tensor<2x4xf32> -> tensor<2x4xi8>, tensor<1xf32>
  return
}

// -----

func.func @quantize_act_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have at least one dimension (the features)}}
  %q, %s = tern.quantize_act %x : tensor<f32> -> tensor<i8>, tensor<f32>
  return
}

// -----

func.func @bitlinear_norm_size(%x: tensor<2x32xf32>, %n: tensor<16xf32>, %w: tensor<64x8xi8>, %a: tensor<1xf32>) {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{expected norm weight of shape 32, found 'tensor<16xf32>'}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<16xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%init_0 : tensor<2x64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @bitlinear_scale_count(%x: tensor<2x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>, %a: tensor<32xf32>) {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{weight scale must have 1 element (per tensor) or 64 (per output channel), found 'tensor<32xf32>'}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<32xf32>) outs(%init_0 : tensor<2x64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @bitlinear_row_bytes(%x: tensor<2x32xf32>, %n: tensor<32xf32>, %w: tensor<64x32xi8>, %a: tensor<1xf32>) {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{packed weights in rows have 32 bytes per output, but 32 input features need 8 (4 ternary weights per byte)}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<32xf32>, tensor<64x32xi8>, tensor<1xf32>) outs(%init_0 : tensor<2x64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @bitlinear_result(%x: tensor<2x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>, %a: tensor<1xf32>) {
  %init_0 = tensor.empty() : tensor<2x32xf32>
  // expected-error @+1 {{expected init of shape 2x64, found 'tensor<2x32xf32>'}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%init_0 : tensor<2x32xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @bitlinear_eps(%x: tensor<2x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>, %a: tensor<1xf32>) {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{eps must be non-negative, found -1}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%init_0 : tensor<2x64xf32>) {eps = -1.0 : f32} -> tensor<2x64xf32>
  return
}

// -----

func.func @mlgru_rank(%i: tensor<4x16xf32>, %h0: tensor<4x16xf32>) {
  // expected-error @+1 {{candidate must be [batch, seq, hidden], found 'tensor<4x16xf32>'}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 : (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>)
  return
}

// -----

func.func @mlgru_forget_shape(%i: tensor<1x?x16xf32>, %f: tensor<1x?x8xf32>, %h0: tensor<1x16xf32>) {
  // expected-error @+1 {{expected forget gate of shape 1x?x16, found 'tensor<1x?x8xf32>'}}
  %h, %last = tern.mlgru_scan %i, %f, %h0 : (tensor<1x?x16xf32>, tensor<1x?x8xf32>, tensor<1x16xf32>) -> (tensor<1x?x16xf32>, tensor<1x16xf32>)
  return
}

// -----

func.func @mlgru_initial_state(%i: tensor<2x?x16xf32>, %h0: tensor<1x16xf32>) {
  // expected-error @+1 {{expected initial state of shape 2x16, found 'tensor<1x16xf32>'}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 : (tensor<2x?x16xf32>, tensor<2x?x16xf32>, tensor<1x16xf32>) -> (tensor<2x?x16xf32>, tensor<1x16xf32>)
  return
}

// -----

func.func @mlgru_hidden_result(%i: tensor<2x3x16xf32>, %h0: tensor<2x16xf32>) {
  // expected-error @+1 {{expected hidden result of shape 2x3x16, found 'tensor<2x4x16xf32>'}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 : (tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x16xf32>) -> (tensor<2x4x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @mlgru_final_state(%i: tensor<2x3x16xf32>, %h0: tensor<2x16xf32>) {
  // expected-error @+1 {{expected final state of shape 2x16, found 'tensor<2x3x16xf32>'}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 : (tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x16xf32>) -> (tensor<2x3x16xf32>, tensor<2x3x16xf32>)
  return
}

// -----

func.func @mlgru_lower_bound(%i: tensor<2x3x16xf32>, %h0: tensor<2x16xf32>, %lb: tensor<8xf32>) {
  // expected-error @+1 {{expected lower bound of shape 16, found 'tensor<8xf32>'}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 lower_bound %lb : (tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x16xf32>, tensor<8xf32>) -> (tensor<2x3x16xf32>, tensor<2x16xf32>)
  return
}

// -----

func.func @matmul_int_accumulator(%x: tensor<2x32xi8>, %w: tensor<64x8xi8>) -> tensor<2x64xf32> {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{accumulates 'i8' input into i32, found init element type 'f32'}}
  %0 = tern.matmul ins(%x, %w : tensor<2x32xi8>, tensor<64x8xi8>) outs(%init_0 : tensor<2x64xf32>) -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @matmul_float_accumulator(%x: tensor<2x32xf32>, %w: tensor<64x8xi8>) -> tensor<2x64xi32> {
  %init_0 = tensor.empty() : tensor<2x64xi32>
  // expected-error @+1 {{accumulates 'f32' input into the same float type, found init element type 'i32'}}
  %0 = tern.matmul ins(%x, %w : tensor<2x32xf32>, tensor<64x8xi8>) outs(%init_0 : tensor<2x64xi32>) -> tensor<2x64xi32>
  return %0 : tensor<2x64xi32>
}

// -----

func.func @glu_value_shape(%gate: tensor<2x64xf32>, %value: tensor<2x32xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{failed to verify that all of {gate, value, result} have same type}}
  %0 = "tern.glu"(%gate, %value) : (tensor<2x64xf32>, tensor<2x32xf32>) -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @bitlinear_act_eps(%x: tensor<2x32xf32>, %n: tensor<32xf32>, %w: tensor<64x8xi8>, %a: tensor<1xf32>) {
  %init_0 = tensor.empty() : tensor<2x64xf32>
  // expected-error @+1 {{act_eps must be positive, found 0}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x32xf32>, tensor<32xf32>, tensor<64x8xi8>, tensor<1xf32>) outs(%init_0 : tensor<2x64xf32>) {act_eps = 0.0 : f32} -> tensor<2x64xf32>
  return
}

// -----

func.func @mlgru_ungated_lower_bound(%i: tensor<4x3x16xf32>, %h0: tensor<4x16xf32>, %lb: tensor<16xf32>) {
  // expected-error @+1 {{an ungated recurrence takes no lower bound (it bounds the forget gate)}}
  %h, %last = tern.mlgru_scan %i, %i, %h0 lower_bound %lb {ungated} : (tensor<4x3x16xf32>, tensor<4x3x16xf32>, tensor<4x16xf32>, tensor<16xf32>) -> (tensor<4x3x16xf32>, tensor<4x16xf32>)
  return
}

// -----

func.func @bitlinear_mixed_float_types(%x: tensor<2x8xf16>, %n: tensor<8xf32>, %w: tensor<4x2xi8>, %a: tensor<1xf16>) -> tensor<2x4xf16> {
  %init = tensor.empty() : tensor<2x4xf16>
  // expected-error @+1 {{norm weight, weight scale and init must have the input's element type 'f16', found 'tensor<8xf32>'}}
  %0 = tern.bitlinear ins(%x, %n, %w, %a : tensor<2x8xf16>, tensor<8xf32>, tensor<4x2xi8>, tensor<1xf16>) outs(%init : tensor<2x4xf16>) -> tensor<2x4xf16>
  return %0 : tensor<2x4xf16>
}

// -----

func.func @checked_index_of_float(%f: f32, %size: index) -> index {
  // expected-error @+1 {{operand #0 must be signless integer or index, but got 'f32'}}
  %0 = tern.checked_index %f, %size {what = "x"} : f32
  return %0 : index
}
