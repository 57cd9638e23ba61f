//===- Passes.h - the CUDA target's passes ----------------------*- C++ -*-===//
#ifndef MFC_TARGET_CUDA_PASSES_H
#define MFC_TARGET_CUDA_PASSES_H

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mfc::cuda {

#define GEN_PASS_DECL
#include "Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Target/CUDA/Passes.h.inc"

} // namespace mfc::cuda

#endif // MFC_TARGET_CUDA_PASSES_H
