//===- HLSTarget.cpp - the HLS back end ------------------------------------===//
//
// Registered so that --target=hls and --help know it; it offers no stages until its
// back end lands (issue 13).
//
//===----------------------------------------------------------------------===//
#include "mfc/Target/HLS/HLSTarget.h"

#include "mfc/Target/Target.h"

void mfc::registerHLSTarget() {
  registerTarget(std::make_unique<PlaceholderTarget>(
      "hls", "FPGAs via HLS C++", "the HLS back end is not implemented yet"));
}
