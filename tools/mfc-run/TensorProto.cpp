//===- TensorProto.cpp - Reading ONNX TensorProto files -------------------===//
//
// Decodes a TensorProto with libonnx's protobuf classes into a host Tensor:
// raw_data as is, or the typed repeated fields packed to the element width.
//
//===----------------------------------------------------------------------===//

#include "TensorProto.h"

#include "onnx/onnx_pb.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace mfc::run {

namespace {

template <typename Field>
void packInts(const Field &field, size_t esize, std::vector<uint8_t> &out) {
  out.resize(static_cast<size_t>(field.size()) * esize);
  for (int i = 0; i < field.size(); ++i) {
    auto v = field.Get(i);
    // Little-endian truncation to the element width.
    uint64_t u = static_cast<uint64_t>(v);
    std::memcpy(out.data() + static_cast<size_t>(i) * esize, &u, esize);
  }
}

} // namespace

bool readTensorProto(const std::string &path, Tensor &t, std::string &name) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  onnx::TensorProto p;
  if (!p.ParseFromIstream(&f))
    return fail("'%s' is not a serialized onnx.TensorProto", path.c_str());
  name = p.name();
  // Converted to the enum only when it is one of its values (any other is undefined).
  int32_t dataType = p.data_type();
  t.type = dataType >= 0 && dataType <= MFC_ELEM_BFLOAT16 ? static_cast<mfc_elem_type>(dataType)
                                                          : MFC_ELEM_UNDEFINED;
  if (mfc_elem_size(t.type) == 0)
    return fail("'%s': unsupported element type %d", path.c_str(),
                p.data_type());
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return fail("'%s': external tensor data is not supported", path.c_str());
  if (p.dims_size() > MFC_MAX_RANK)
    return fail("'%s': rank above %d", path.c_str(), MFC_MAX_RANK);
  t.dims.assign(p.dims().begin(), p.dims().end());
  for (int64_t d : t.dims)
    if (d < 0)
      return fail("'%s': negative dim", path.c_str());
  if (t.numElements() < 0)
    return fail("'%s': shape %s has more elements than an int64 counts", path.c_str(),
                formatDims(t.dims).c_str());
  size_t esize = mfc_elem_size(t.type);
  if (p.has_raw_data()) {
    t.data.assign(p.raw_data().begin(), p.raw_data().end());
  } else {
    switch (t.type) {
    case MFC_ELEM_FLOAT:
      t.data.resize(static_cast<size_t>(p.float_data_size()) * 4);
      if (!t.data.empty())
        std::memcpy(t.data.data(), p.float_data().data(), t.data.size());
      break;
    case MFC_ELEM_DOUBLE:
      t.data.resize(static_cast<size_t>(p.double_data_size()) * 8);
      if (!t.data.empty())
        std::memcpy(t.data.data(), p.double_data().data(), t.data.size());
      break;
    case MFC_ELEM_INT64:
      packInts(p.int64_data(), 8, t.data);
      break;
    case MFC_ELEM_UINT32:
    case MFC_ELEM_UINT64:
      packInts(p.uint64_data(), esize, t.data);
      break;
    default: // int8 uint8 int16 int32 bool float16 bfloat16: int32_data
      packInts(p.int32_data(), esize, t.data);
      break;
    }
  }
  if (t.data.size() != t.byteSize())
    return fail("'%s': %zu bytes of data for shape %s of %s (%zu expected)",
                path.c_str(), t.data.size(), formatDims(t.dims).c_str(),
                mfc_elem_type_name(t.type), t.byteSize());
  return true;
}

} // namespace mfc::run
