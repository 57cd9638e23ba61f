//===- Passes.h - the CPU target's passes -----------------------*- C++ -*-===//
#ifndef MFC_TARGET_CPU_PASSES_H
#define MFC_TARGET_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"

namespace mfc::cpu {

#define GEN_PASS_DECL
#include "Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Target/CPU/Passes.h.inc"

} // namespace mfc::cpu

#endif // MFC_TARGET_CPU_PASSES_H
