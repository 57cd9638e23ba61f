//===- fuzz-npy.cpp - libFuzzer target: mfc-run's tensor file readers -----===//
//
// Each input is read both as a .npy file and as a serialized onnx.TensorProto.
//
//===----------------------------------------------------------------------===//

#include "InputFile.h"

#include "Npy.h"
#include "TensorProto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = mfc::fuzz::writeInputFile(data, size, "input");
  mfc::run::Tensor t;
  (void)mfc::run::readNpy(path, t);
  mfc::run::Tensor u;
  std::string name;
  (void)mfc::run::readTensorProto(path, u, name);
  return 0;
}
