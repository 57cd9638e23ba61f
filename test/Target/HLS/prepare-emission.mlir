// RUN: mfc-opt %s --mfc-hls-prepare-emission | FileCheck %s

// Float ops without an EmitC conversion call the project's math header; arrays lose
// their alignment; f64 and integer ops are not touched.
// CHECK-LABEL: func.func @ops
// CHECK: memref.alloca() : memref<4xf32>
// CHECK: emitc.call_opaque "mfc_sqrt"(%{{.+}}) : (f32) -> f32
// CHECK: emitc.call_opaque "mfc_exp"
// CHECK: emitc.call_opaque "mfc_roundeven"
// CHECK: emitc.call_opaque "mfc_maximumf"(%{{.+}}, %{{.+}}) : (f32, f32) -> f32
// CHECK: emitc.call_opaque "mfc_minimumf"
// CHECK: math.sqrt %{{.+}} : f64
// CHECK: arith.maxsi
func.func @ops(%x: f32, %y: f32, %d: f64, %i: i32, %j: i32) -> (f32, f64, i32) {
  %buf = memref.alloca() {alignment = 64 : i64} : memref<4xf32>
  %a = math.sqrt %x : f32
  %b = math.exp %a : f32
  %c = math.roundeven %b : f32
  %m = arith.maximumf %c, %y : f32
  %n = arith.minimumf %m, %x : f32
  %s = math.sqrt %d : f64
  %k = arith.maxsi %i, %j : i32
  return %n, %s, %k : f32, f64, i32
}
