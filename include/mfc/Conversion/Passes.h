//===- Passes.h - mfc conversion passes -------------------------*- C++ -*-===//
#ifndef MFC_CONVERSION_PASSES_H
#define MFC_CONVERSION_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mfc {

#define GEN_PASS_DECL
#include "Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Conversion/Passes.h.inc"

} // namespace mfc

#endif // MFC_CONVERSION_PASSES_H
