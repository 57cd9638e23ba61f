//===- AllTargets.h - the back ends mfc ships -------------------*- C++ -*-===//
#ifndef MFC_TARGET_ALLTARGETS_H
#define MFC_TARGET_ALLTARGETS_H

namespace mfc {

/// Registers the CPU, CUDA and HLS targets (once; later calls do nothing).
void registerAllTargets();

} // namespace mfc

#endif // MFC_TARGET_ALLTARGETS_H
