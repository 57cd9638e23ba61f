//===- CPUTarget.h - the CPU back end ---------------------------*- C++ -*-===//
//
// tern IR to the LLVM dialect (int8 ternary products as calls of libmfc_kernels'
// micro-kernel, everything else as loops), then LLVM IR, an object file and a shared
// library with the host model ABI (mfc/Target/HostABI.h).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_TARGET_CPU_CPUTARGET_H
#define MFC_TARGET_CPU_CPUTARGET_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mfc {

struct CPUPipelineOptions : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<std::string> entry{*this, "entry", llvm::cl::desc("The model's entry function"),
                            llvm::cl::init("main_graph")};
  Option<bool> ukernels{*this, "ukernels",
                        llvm::cl::desc("Call libmfc_kernels' micro-kernel for int8 ternary "
                                       "products (else: loops)"),
                        llvm::cl::init(true)};
  Option<bool> checkIndices{*this, "check-indices",
                            llvm::cl::desc("Report data-dependent indices out of range as "
                                           "errors of the run (else: unchecked)"),
                            llvm::cl::init(true)};
  Option<unsigned> bufferAlignment{
      *this, "buffer-alignment",
      llvm::cl::desc("Alignment of allocated buffers in bytes (0: malloc's, allocating "
                     "exactly the buffer's bytes, so that AddressSanitizer's redzone "
                     "starts right after its last element)"),
      llvm::cl::init(64)};
};

/// tern IR (tensors) to the LLVM dialect.
void buildCPULoweringPipeline(mlir::OpPassManager &pm, const CPUPipelineOptions &options);

/// Registers the `cpu` target.
void registerCPUTarget();

} // namespace mfc

#endif // MFC_TARGET_CPU_CPUTARGET_H
