//===- CUDATarget.h - the CUDA back end -------------------------*- C++ -*-===//
//
// tern IR to GPU kernels through MLIR's gpu and NVVM dialects (PTX, JIT-compiled by the
// CUDA driver when the model loads) and host code in the LLVM dialect, linked into a
// shared library with the host model ABI (mfc/Target/HostABI.h) and libmfc_cuda_runtime.a,
// which reaches the GPU through the CUDA driver API (libcuda.so.1, opened at run time).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_TARGET_CUDA_CUDATARGET_H
#define MFC_TARGET_CUDA_CUDATARGET_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mfc {

struct CUDAPipelineOptions : public mlir::PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> entry{*this, "entry", llvm::cl::desc("The model's entry function"),
                            llvm::cl::init("main_graph")};
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture of the PTX"),
                           llvm::cl::init("sm_90")};
  Option<int> optLevel{*this, "opt-level", llvm::cl::desc("Optimization level of the PTX"),
                       llvm::cl::init(3)};
  Option<int64_t> threads{*this, "threads", llvm::cl::desc("Threads per block"),
                          llvm::cl::init(256)};
  Option<int64_t> kChunk{*this, "k-chunk",
                         llvm::cl::desc("Inputs per partial sum of a ternary product (0: one sum)"),
                         llvm::cl::init(128)};
};

/// tern IR (tensors) to host code in the LLVM dialect and gpu.binary objects holding PTX.
void buildCUDALoweringPipeline(mlir::OpPassManager &pm, const CUDAPipelineOptions &options);

/// Registers the `cuda` target.
void registerCUDATarget();

} // namespace mfc

#endif // MFC_TARGET_CUDA_CUDATARGET_H
