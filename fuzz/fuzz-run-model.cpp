//===- fuzz-run-model.cpp - a compiled model's C API on adversarial input -===//
//
// Drives the runtime's C API (mfc_runtime.h) on model libraries compiled with
// `mfc --sanitize=address`: state bindings, state set with arbitrary shapes, and
// runs whose inputs have arbitrary ranks, dims (negative, 2^40, overflowing),
// capacities and values (indices far out of range, NaN). Whatever the input, a
// call either succeeds with results inside the caller's buffers or fails with a
// status and a message; runs on the same inputs give the same bytes. A crash,
// an ASan report or a broken invariant is a finding.
//
// The libraries come from $MFC_FUZZ_MODELS (a directory of *.so; scripts/fuzz.sh
// compiles them).
//
//===----------------------------------------------------------------------===//
#include "mfc/Runtime/mfc_runtime.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <memory>
#include <string>
#include <vector>

namespace {

std::vector<mfc_model *> models;

/// Ends the process as a finding: libFuzzer keeps the input that got here.
[[noreturn]] void finding(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz-run-model: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// Every failed call must say why.
void expectMessage(mfc_status status, const char *message, const char *call) {
  if (status == MFC_OK)
    return;
  if (status < MFC_OK || status > MFC_ERR_MODEL)
    finding(call, "status " + std::to_string(status) + " outside mfc_status");
  if (!message || !*message)
    finding(call, "failed without a message");
}

// The choices below are written so that an exhausted provider (which answers 0 and
// false) picks the well-formed alternative: hostile values need bytes of their own.

/// A dim as the fuzzer chooses it: mostly small, sometimes hostile.
int64_t chooseDim(FuzzedDataProvider &fdp, int64_t signatureDim) {
  switch (fdp.ConsumeIntegralInRange<int>(0, 9)) {
  case 9:
    return fdp.ConsumeIntegral<int64_t>(); // anything, negative included
  case 8:
    return int64_t(1) << fdp.ConsumeIntegralInRange<int>(20, 62);
  default:
    return signatureDim >= 0 ? signatureDim : fdp.ConsumeIntegralInRange<int64_t>(0, 6);
  }
}

/// Input `index`'s signature dim `d`, -1 (dynamic) past its rank.
int64_t signatureDim(const mfc_model *model, size_t index, int64_t d) {
  return d < mfc_model_input_rank(model, index) ? mfc_model_input_dims(model, index)[d] : -1;
}

/// Caller-owned bytes with a capacity: at most 1 MiB, at least one byte (a capacity of
/// zero would tell the runtime to skip its size check, which the caller then owes).
struct Buffer {
  std::unique_ptr<unsigned char[]> bytes;
  size_t size = 0;
};

Buffer makeBuffer(size_t wanted) {
  Buffer buffer;
  buffer.size = std::max<size_t>(1, std::min<size_t>(wanted, size_t(1) << 20));
  buffer.bytes.reset(new unsigned char[buffer.size]());
  return buffer;
}

/// Bytes the dims imply, or SIZE_MAX when they are negative or overflow.
size_t impliedBytes(const int64_t *dims, int64_t rank, size_t elemSize) {
  if (rank < 0 || rank > MFC_MAX_RANK)
    return SIZE_MAX;
  size_t bytes = elemSize;
  for (int64_t d = 0; d < rank; ++d) {
    if (dims[d] < 0 || __builtin_mul_overflow(bytes, size_t(dims[d]), &bytes))
      return SIZE_MAX;
  }
  return bytes;
}

/// Fills a tensor's elements: raw fuzz bytes, or small integers of the element type
/// (indices near a dim's range, where the interesting boundaries are).
void fill(FuzzedDataProvider &fdp, Buffer &buffer, mfc_elem_type type) {
  size_t elemSize = mfc_elem_size(type);
  if (fdp.ConsumeBool() || elemSize == 0) {
    std::vector<unsigned char> raw = fdp.ConsumeBytes<unsigned char>(buffer.size);
    if (!raw.empty())
      std::memcpy(buffer.bytes.get(), raw.data(), raw.size());
    return;
  }
  for (size_t at = 0; at + elemSize <= buffer.size && fdp.remaining_bytes(); at += elemSize) {
    int64_t small = fdp.ConsumeIntegralInRange<int64_t>(-300, 300);
    switch (type) {
    case MFC_ELEM_FLOAT: {
      float value = float(small) / 16;
      std::memcpy(&buffer.bytes[at], &value, sizeof value);
      break;
    }
    case MFC_ELEM_DOUBLE: {
      double value = double(small) / 16;
      std::memcpy(&buffer.bytes[at], &value, sizeof value);
      break;
    }
    default: // integers, little-endian, truncated to the element's width
      std::memcpy(&buffer.bytes[at], &small, std::min(elemSize, sizeof small));
    }
  }
}

struct RunResult {
  mfc_status status;
  std::vector<std::vector<unsigned char>> outputs;
};

/// One mfc_session_run with inputs and output capacities the fuzzer chooses.
RunResult fuzzRun(FuzzedDataProvider &fdp, const mfc_model *model, mfc_session *session,
                  const std::vector<mfc_tensor> &inputs) {
  size_t numOutputs = mfc_model_num_outputs(model);
  size_t numUnboundOutputs = mfc_session_num_unbound_outputs(session);
  size_t nOutputs = fdp.ConsumeBool() ? numOutputs : numUnboundOutputs;
  if (fdp.ConsumeIntegralInRange<int>(0, 15) == 15)
    nOutputs = fdp.ConsumeIntegralInRange<size_t>(0, numOutputs + 1);
  // Output i of the run is model output i when all are passed, else the i-th unbound one.
  std::vector<size_t> outputIndex;
  for (size_t i = 0; i < numOutputs; ++i)
    if (nOutputs == numOutputs || !mfc_session_output_is_bound(session, i))
      outputIndex.push_back(i);
  std::vector<Buffer> outputBuffers;
  std::vector<mfc_tensor> outputs(std::max<size_t>(nOutputs, 1));
  for (size_t i = 0; i < nOutputs; ++i) {
    outputBuffers.push_back(makeBuffer(fdp.ConsumeBool() ? fdp.ConsumeIntegralInRange<size_t>(0, 4096)
                                                         : size_t(1) << 20));
    outputs[i].data = outputBuffers.back().bytes.get();
    outputs[i].capacity_bytes = outputBuffers.back().size;
  }
  RunResult result;
  result.status = mfc_session_run(session, inputs.data(), inputs.size(), outputs.data(), nOutputs);
  expectMessage(result.status, mfc_session_last_error(session), "mfc_session_run");
  if (result.status != MFC_OK)
    return result;
  for (size_t i = 0; i < nOutputs; ++i) {
    if (i >= outputIndex.size())
      finding("mfc_session_run", "succeeded with a wrong number of outputs");
    mfc_elem_type type = mfc_model_output_type(model, outputIndex[i]);
    size_t bytes = impliedBytes(outputs[i].dims, outputs[i].rank, mfc_elem_size(type));
    if (outputs[i].rank != mfc_model_output_rank(model, outputIndex[i]) ||
        bytes > outputs[i].capacity_bytes)
      finding("mfc_session_run", "output " + std::to_string(i) + " does not fit its buffer");
    const unsigned char *data = static_cast<const unsigned char *>(outputs[i].data);
    result.outputs.emplace_back(data, data + bytes);
  }
  return result;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *dir = std::getenv("MFC_FUZZ_MODELS");
  if (!dir) {
    std::fprintf(stderr, "fuzz-run-model: set MFC_FUZZ_MODELS to a directory of model libraries\n");
    std::exit(1);
  }
  std::vector<std::string> paths;
  if (DIR *d = opendir(dir)) {
    while (dirent *entry = readdir(d)) {
      std::string name = entry->d_name;
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0)
        paths.push_back(std::string(dir) + "/" + name);
    }
    closedir(d);
  }
  std::sort(paths.begin(), paths.end()); // a model's number must not depend on readdir
  for (const std::string &path : paths) {
    mfc_model *model = nullptr;
    if (mfc_model_load(path.c_str(), &model) != MFC_OK) {
      std::fprintf(stderr, "fuzz-run-model: %s\n", mfc_model_last_error(model));
      std::exit(1);
    }
    models.push_back(model);
  }
  if (models.empty()) {
    std::fprintf(stderr, "fuzz-run-model: no *.so in %s\n", dir);
    std::exit(1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const mfc_model *model = models[fdp.ConsumeIntegralInRange<size_t>(0, models.size() - 1)];
  size_t numInputs = mfc_model_num_inputs(model), numOutputs = mfc_model_num_outputs(model);
  mfc_session *session = nullptr;
  if (mfc_session_create(model, &session) != MFC_OK)
    finding("mfc_session_create", "failed on a loaded model");

  // State: bindings between any output and input (type, rank or dims may not match),
  // and state values of any shape.
  for (int n = fdp.ConsumeIntegralInRange<int>(0, 2); n > 0; --n) {
    const char *output = mfc_model_output_name(model, fdp.ConsumeIntegralInRange<size_t>(0, numOutputs));
    const char *input = mfc_model_input_name(model, fdp.ConsumeIntegralInRange<size_t>(0, numInputs));
    mfc_status status = mfc_session_bind_state(session, output ? output : "nonexistent",
                                               input ? input : "nonexistent");
    expectMessage(status, mfc_session_last_error(session), "mfc_session_bind_state");
    if (status != MFC_OK || !fdp.ConsumeBool())
      continue;
    int64_t index = mfc_model_input_index(model, input);
    int64_t rank = mfc_model_input_rank(model, index);
    if (fdp.ConsumeIntegralInRange<int>(0, 7) == 7)
      rank = fdp.ConsumeIntegralInRange<int64_t>(-1, MFC_MAX_RANK + 1);
    int64_t dims[MFC_MAX_RANK + 2] = {};
    for (int64_t d = 0; d < std::min<int64_t>(rank, MFC_MAX_RANK + 2); ++d)
      dims[d] = chooseDim(fdp, signatureDim(model, index, d));
    size_t elemSize = mfc_elem_size(mfc_model_input_type(model, index));
    size_t implied = impliedBytes(dims, rank, elemSize);
    Buffer value = makeBuffer(implied);
    fill(fdp, value, mfc_model_input_type(model, index));
    size_t bytes = fdp.ConsumeBool() && implied <= value.size ? implied : value.size;
    status = mfc_session_set_state_shaped(session, input, rank, dims, value.bytes.get(), bytes);
    expectMessage(status, mfc_session_last_error(session), "mfc_session_set_state_shaped");
  }

  // The unbound inputs, shaped and filled as the fuzzer says.
  std::vector<mfc_tensor> inputs;
  std::vector<Buffer> inputBuffers;
  for (size_t i = 0; i < numInputs; ++i) {
    if (mfc_session_input_is_bound(session, i))
      continue;
    mfc_tensor tensor{};
    int64_t rank = mfc_model_input_rank(model, i);
    tensor.rank = fdp.ConsumeIntegralInRange<int>(0, 15) == 15
                      ? fdp.ConsumeIntegralInRange<int64_t>(-2, MFC_MAX_RANK + 2)
                      : rank;
    for (int64_t d = 0; d < std::min<int64_t>(tensor.rank, MFC_MAX_RANK); ++d)
      tensor.dims[d] = chooseDim(fdp, signatureDim(model, i, d));
    mfc_elem_type type = mfc_model_input_type(model, i);
    inputBuffers.push_back(makeBuffer(impliedBytes(tensor.dims, tensor.rank, mfc_elem_size(type))));
    fill(fdp, inputBuffers.back(), type);
    tensor.data = inputBuffers.back().bytes.get();
    tensor.capacity_bytes = inputBuffers.back().size;
    inputs.push_back(tensor);
  }
  if (fdp.ConsumeIntegralInRange<int>(0, 15) == 15 && !inputs.empty())
    inputs.pop_back(); // one input too few

  // A fresh session on the same inputs gives the same bytes (compared for stateless
  // sessions only: with state bound, a run starts from what set_state left).
  RunResult first = fuzzRun(fdp, model, session, inputs);
  bool stateful = mfc_session_num_unbound_inputs(session) != numInputs;
  if (first.status == MFC_OK && !stateful) {
    mfc_session *fresh = nullptr;
    if (mfc_session_create(model, &fresh) != MFC_OK)
      finding("mfc_session_create", "failed on a loaded model");
    std::vector<Buffer> outputBuffers;
    std::vector<mfc_tensor> outputs(std::max<size_t>(first.outputs.size(), 1));
    for (size_t i = 0; i < first.outputs.size(); ++i) {
      outputBuffers.push_back(makeBuffer(first.outputs[i].size()));
      outputs[i].data = outputBuffers.back().bytes.get();
      outputs[i].capacity_bytes = outputBuffers.back().size;
    }
    mfc_status status =
        mfc_session_run(fresh, inputs.data(), inputs.size(), outputs.data(), first.outputs.size());
    if (status != MFC_OK)
      finding("mfc_session_run", std::string("a second run on the same inputs failed: ") +
                                     mfc_session_last_error(fresh));
    for (size_t i = 0; i < first.outputs.size(); ++i)
      if (!first.outputs[i].empty() &&
          std::memcmp(outputs[i].data, first.outputs[i].data(), first.outputs[i].size()) != 0)
        finding("mfc_session_run", "two runs on the same inputs differ in output " +
                                       std::to_string(i));
    mfc_session_free(fresh);
  }
  if (stateful) {
    for (int n = fdp.ConsumeIntegralInRange<int>(0, 2); n > 0; --n)
      fuzzRun(fdp, model, session, inputs);
    mfc_status status = mfc_session_reset_state(session, nullptr);
    expectMessage(status, mfc_session_last_error(session), "mfc_session_reset_state");
  }
  mfc_session_free(session);
  return 0;
}
