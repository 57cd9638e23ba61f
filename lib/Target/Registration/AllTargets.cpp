//===- AllTargets.cpp - the back ends mfc ships ---------------------------===//
#include "mfc/Target/AllTargets.h"

#include "mfc/Target/CPU/CPUTarget.h"
#include "mfc/Target/CUDA/CUDATarget.h"
#include "mfc/Target/HLS/HLSTarget.h"

void mfc::registerAllTargets() {
  static bool once = [] {
    registerCPUTarget();
    registerCUDATarget();
    registerHLSTarget();
    return true;
  }();
  (void)once;
}
