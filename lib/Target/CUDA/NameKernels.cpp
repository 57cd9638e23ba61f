//===- NameKernels.cpp - names for the kernels of parallel loops ----------===//
//
// gpu.launch without a function name => named for what its threads do; see the pass
// description.
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/Passes.h"

#include "KernelBuilding.h"

namespace mfc::cuda {
#define GEN_PASS_DEF_CUDANAMEKERNELS
#include "Target/CUDA/Passes.h.inc"
} // namespace mfc::cuda

using namespace mlir;

namespace {
struct NameKernels : public mfc::cuda::impl::CUDANameKernelsBase<NameKernels> {
  void runOnOperation() override {
    getOperation().walk([](gpu::LaunchOp launch) {
      if (launch.getFunctionAttr())
        return;
      bool loops = launch.getBody()
                       .walk([](Operation *op) {
                         return isa<LoopLikeOpInterface>(op) ? WalkResult::interrupt()
                                                             : WalkResult::advance();
                       })
                       .wasInterrupted();
      mfc::cuda::nameKernel(launch, loops ? "thread_loop" : "elementwise");
    });
  }
};
} // namespace
