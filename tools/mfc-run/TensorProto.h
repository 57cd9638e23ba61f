//===- TensorProto.h - Reading ONNX TensorProto files -----------*- C++ -*-===//
//
// The input_K.pb / output_K.pb files of ONNX test_data_set_N folders: one
// serialized onnx.TensorProto each.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_TENSORPROTO_H
#define MFC_RUN_TENSORPROTO_H

#include "Common.h"

#include <string>

namespace mfc::run {

// Reads a serialized onnx.TensorProto into t and its name into `name`;
// raw_data and the typed *_data fields are both accepted, external data is
// not.
bool readTensorProto(const std::string &path, Tensor &t, std::string &name);

} // namespace mfc::run

#endif // MFC_RUN_TENSORPROTO_H
