//===- HLSTarget.h - the HLS back end ------------------------*- C++ -*-===//
#ifndef MFC_TARGET_HLS_HLSTARGET_H
#define MFC_TARGET_HLS_HLSTARGET_H

namespace mfc {

/// Registers the `hls` target.
void registerHLSTarget();

} // namespace mfc

#endif // MFC_TARGET_HLS_HLSTARGET_H
