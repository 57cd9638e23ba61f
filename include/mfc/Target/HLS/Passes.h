//===- Passes.h - the HLS target's passes -----------------------*- C++ -*-===//
#ifndef MFC_TARGET_HLS_PASSES_H
#define MFC_TARGET_HLS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mfc::hls {

#define GEN_PASS_DECL
#include "Target/HLS/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Target/HLS/Passes.h.inc"

} // namespace mfc::hls

#endif // MFC_TARGET_HLS_PASSES_H
