//===- CUDATarget.cpp - the CUDA back end ------------------------------------===//
//
// Registered so that --target=cuda and --help know it; it offers no stages until its
// back end lands (issue 12).
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/CUDA/CUDATarget.h"

#include "mfc/Target/Target.h"

void mfc::registerCUDATarget() {
  registerTarget(std::make_unique<PlaceholderTarget>(
      "cuda", "NVIDIA GPUs via NVVM and PTX", "the CUDA back end is not implemented yet"));
}
