//===- Passes.h - passes every target shares --------------------*- C++ -*-===//
#ifndef MFC_TARGET_PASSES_H
#define MFC_TARGET_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mfc {

#define GEN_PASS_DECL
#include "Target/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Target/Passes.h.inc"

} // namespace mfc

#endif // MFC_TARGET_PASSES_H
