//===- CUDATarget.h - the CUDA back end (registered, not implemented) -*- C++ -*-===//
#ifndef MFC_TARGET_CUDA_CUDATARGET_H
#define MFC_TARGET_CUDA_CUDATARGET_H

namespace mfc {

/// Registers the `cuda` target.
void registerCUDATarget();

} // namespace mfc

#endif // MFC_TARGET_CUDA_CUDATARGET_H
