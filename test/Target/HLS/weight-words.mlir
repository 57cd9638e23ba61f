// RUN: mfc-opt %s --split-input-file --mfc-hls-weight-words --verify-diagnostics | FileCheck %s

// A packed int8 weight (3 rows of 40 bytes) becomes ceil(120 / 64) = 2 words of 512 bits;
// its byte reads call mfc_weight_byte with the row length. Float weights and other
// arguments keep their arrays.
// CHECK-LABEL: emitc.func @main_graph
// CHECK-SAME: (%[[W:.+]]: !emitc.array<2x!emitc.opaque<"ap_uint<512>">> {hls.weight = "w"},
// CHECK-SAME: %[[S:.+]]: !emitc.array<8xf32> {hls.weight = "s"}, %[[OUT:.+]]: !emitc.array<1xi8>)
// CHECK: %[[I:.+]] = "emitc.constant"() <{value = 2 : index}>
// CHECK: %[[J:.+]] = "emitc.constant"() <{value = 39 : index}>
// CHECK: %[[BYTE:.+]] = call_opaque "mfc_weight_byte"(%[[W]], %[[I]], %[[J]]) {args = [0 : index, 1 : index, 2 : index, 40]} : (!emitc.array<2x!emitc.opaque<"ap_uint<512>">>, !emitc.size_t, !emitc.size_t) -> i8
// CHECK: %[[TO:.+]] = subscript %[[OUT]]
// CHECK: assign %[[BYTE]] : i8 to %[[TO]]
// CHECK: subscript %[[S]]
emitc.func @main_graph(%w: !emitc.array<3x40xi8> {hls.weight = "w"},
                       %s: !emitc.array<8xf32> {hls.weight = "s"},
                       %out: !emitc.array<1xi8>) {
  %i = "emitc.constant"() <{value = 2 : index}> : () -> !emitc.size_t
  %j = "emitc.constant"() <{value = 39 : index}> : () -> !emitc.size_t
  %element = subscript %w[%i, %j] : (!emitc.array<3x40xi8>, !emitc.size_t, !emitc.size_t) -> !emitc.lvalue<i8>
  %byte = load %element : <i8>
  %to = subscript %out[%i] : (!emitc.array<1xi8>, !emitc.size_t) -> !emitc.lvalue<i8>
  assign %byte : i8 to %to : <i8>
  %scale = subscript %s[%i] : (!emitc.array<8xf32>, !emitc.size_t) -> !emitc.lvalue<f32>
  %unused = load %scale : <f32>
  return
}

// -----

// An argument without hls.weight is not a weight, whatever its type.
// CHECK-LABEL: emitc.func @not_a_weight
// CHECK-SAME: !emitc.array<3x40xi8>
// CHECK-NOT: mfc_weight_byte
emitc.func @not_a_weight(%w: !emitc.array<3x40xi8>) {
  %i = "emitc.constant"() <{value = 2 : index}> : () -> !emitc.size_t
  %element = subscript %w[%i, %i] : (!emitc.array<3x40xi8>, !emitc.size_t, !emitc.size_t) -> !emitc.lvalue<i8>
  %byte = load %element : <i8>
  return
}

// -----

// Weights are only read: a write into one is an error.
emitc.func @written(%w: !emitc.array<3x40xi8> {hls.weight = "w"}) {
  %i = "emitc.constant"() <{value = 2 : index}> : () -> !emitc.size_t
  %zero = "emitc.constant"() <{value = 0 : i8}> : () -> i8
  %element = subscript %w[%i, %i] : (!emitc.array<3x40xi8>, !emitc.size_t, !emitc.size_t) -> !emitc.lvalue<i8>
  // expected-error @+1 {{mfc-hls-weight-words: a weight byte is written or aliased, not only read}}
  assign %zero : i8 to %element : <i8>
  return
}
