//===- Runner.cpp - A model library run through libmfc_runtime ------------===//
//
// Feeds host tensors to mfc_session_run as mfc_tensor views, retries a step
// once with larger buffers on MFC_ERR_CAPACITY, and turns the outputs back
// into host tensors for comparison (Compare.cpp) or saving (Npy.cpp).
//
//===----------------------------------------------------------------------===//

#include "Runner.h"
#include "Compare.h"
#include "Npy.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace mfc::run {

bool Runner::load() {
  mfc_model *m = nullptr;
  mfc_status st = mfc_model_load(opt.model.c_str(), &m);
  model.reset(m);
  if (st != MFC_OK)
    return fail("%s", mfc_model_last_error(m));
  for (size_t i = 0; i < mfc_model_num_inputs(m); ++i)
    inNames.push_back(mfc_model_input_name(m, i));
  for (size_t k = 0; k < mfc_model_num_outputs(m); ++k)
    outNames.push_back(mfc_model_output_name(m, k));
  mfc_session *s = nullptr;
  st = mfc_session_create(m, &s);
  session.reset(s);
  if (st != MFC_OK)
    return fail("cannot create a session: %s", mfc_status_message(st));
  for (const std::string &b : opt.states) {
    size_t eq = b.find('=');
    if (eq == std::string::npos)
      return fail("--state %s: expected OUTPUT=INPUT", b.c_str());
    if (mfc_session_bind_state(s, b.substr(0, eq).c_str(),
                               b.substr(eq + 1).c_str()) != MFC_OK)
      return fail("--state %s: %s", b.c_str(), mfc_session_last_error(s));
  }
  return true;
}

void Runner::printSignature() const {
  const mfc_model *m = model.get();
  for (size_t i = 0; i < inNames.size(); ++i)
    std::printf("input %s: %s %s\n", inNames[i].c_str(),
                mfc_elem_type_name(mfc_model_input_type(m, i)),
                formatDims(dimsOf(mfc_model_input_dims(m, i),
                                  mfc_model_input_rank(m, i)))
                    .c_str());
  for (size_t k = 0; k < outNames.size(); ++k)
    std::printf("output %s: %s %s\n", outNames[k].c_str(),
                mfc_elem_type_name(mfc_model_output_type(m, k)),
                formatDims(dimsOf(mfc_model_output_dims(m, k),
                                  mfc_model_output_rank(m, k)))
                    .c_str());
}

bool Runner::run(const std::map<std::string, Tensor> &inputs,
                 std::vector<Tensor> &results) {
  const mfc_model *m = model.get();
  mfc_session *s = session.get();
  if (mfc_session_reset_state(s, nullptr) != MFC_OK)
    return fail("%s", mfc_session_last_error(s));
  std::vector<mfc_tensor> in;
  for (size_t i = 0; i < inNames.size(); ++i) {
    auto it = inputs.find(inNames[i]);
    bool bound = mfc_session_input_is_bound(s, i);
    if (it == inputs.end()) {
      if (bound)
        continue; // starts from zeros
      return fail("missing input '%s' (%s %s); pass --input %s=FILE.npy",
                  inNames[i].c_str(),
                  mfc_elem_type_name(mfc_model_input_type(m, i)),
                  formatDims(dimsOf(mfc_model_input_dims(m, i),
                                    mfc_model_input_rank(m, i)))
                      .c_str(),
                  inNames[i].c_str());
    }
    const Tensor &t = it->second;
    if (t.type != mfc_model_input_type(m, i))
      return fail("input '%s' is %s in the model but the file holds %s",
                  inNames[i].c_str(),
                  mfc_elem_type_name(mfc_model_input_type(m, i)),
                  mfc_elem_type_name(t.type));
    if (bound) {
      if (mfc_session_set_state_shaped(
              s, inNames[i].c_str(), static_cast<int64_t>(t.dims.size()),
              t.dims.data(), t.data.data(), t.data.size()) != MFC_OK)
        return fail("%s", mfc_session_last_error(s));
      continue;
    }
    mfc_tensor x;
    std::memset(&x, 0, sizeof(x));
    x.data = const_cast<uint8_t *>(t.data.data());
    x.rank = static_cast<int64_t>(t.dims.size());
    for (size_t d = 0; d < t.dims.size(); ++d)
      x.dims[d] = t.dims[d];
    x.capacity_bytes = t.data.size();
    in.push_back(x);
  }
  for (const auto &kv : inputs)
    if (std::find(inNames.begin(), inNames.end(), kv.first) == inNames.end())
      return fail("the model has no input named '%s'", kv.first.c_str());

  // Every output, bound ones included. Buffers start at the static size
  // (dynamic dims as 1) and grow when the runtime reports the real shape.
  size_t nOut = outNames.size();
  results.assign(nOut, Tensor());
  std::vector<mfc_tensor> out(nOut);
  for (size_t k = 0; k < nOut; ++k) {
    results[k].type = mfc_model_output_type(m, k);
    const int64_t *dims = mfc_model_output_dims(m, k);
    size_t bytes = mfc_elem_size(results[k].type);
    for (int64_t d = 0; d < mfc_model_output_rank(m, k); ++d)
      bytes *= static_cast<size_t>(dims[d] < 0 ? 1 : dims[d]);
    results[k].data.resize(bytes);
  }
  for (long step = 0; step < opt.steps; ++step) {
    mfc_status st = MFC_OK;
    for (int attempt = 0; attempt < 2; ++attempt) {
      for (size_t k = 0; k < nOut; ++k) {
        std::memset(&out[k], 0, sizeof(mfc_tensor));
        out[k].data = results[k].data.data();
        out[k].capacity_bytes = results[k].data.size();
      }
      st = mfc_session_run(s, in.data(), in.size(), out.data(), nOut);
      if (st != MFC_ERR_CAPACITY)
        break;
      for (size_t k = 0; k < nOut; ++k) {
        size_t bytes = mfc_elem_size(results[k].type);
        for (int64_t d = 0; d < out[k].rank; ++d)
          bytes *= static_cast<size_t>(out[k].dims[d]);
        if (bytes > results[k].data.size())
          results[k].data.resize(bytes);
      }
    }
    if (st != MFC_OK) {
      if (opt.steps > 1)
        return fail("step %ld: %s", step, mfc_session_last_error(s));
      return fail("%s", mfc_session_last_error(s));
    }
    if (opt.print && opt.steps > 1) {
      std::printf("step %ld:\n", step);
      for (size_t k = 0; k < nOut; ++k) {
        Tensor t = results[k];
        t.dims = dimsOf(out[k].dims, out[k].rank);
        t.data.resize(t.byteSize());
        printValues(outNames[k], t);
      }
    }
  }
  for (size_t k = 0; k < nOut; ++k) {
    results[k].dims = dimsOf(out[k].dims, out[k].rank);
    results[k].data.resize(results[k].byteSize());
  }
  return true;
}

int Runner::check(const std::vector<Tensor> &results,
                  const std::map<std::string, Tensor> &expects) {
  int mismatched = 0;
  size_t checked = 0;
  for (size_t k = 0; k < outNames.size(); ++k) {
    auto it = expects.find(outNames[k]);
    if (opt.print && opt.steps <= 1)
      printValues(outNames[k], results[k]);
    if (it == expects.end()) {
      std::printf("%s: %s %s (no expectation)\n", outNames[k].c_str(),
                  mfc_elem_type_name(results[k].type),
                  formatDims(results[k].dims).c_str());
      continue;
    }
    ++checked;
    if (!compareOutput(outNames[k], results[k], it->second, opt))
      ++mismatched;
  }
  lastChecked = checked;
  lastMismatched = static_cast<size_t>(mismatched);
  return mismatched ? 0 : 1;
}

bool Runner::saveOutputs(const std::vector<Tensor> &results,
                         const std::map<std::string, std::string> &paths) {
  for (size_t k = 0; k < outNames.size(); ++k) {
    auto it = paths.find(outNames[k]);
    if (it != paths.end() && !writeNpy(it->second, results[k]))
      return false;
  }
  return true;
}

std::vector<std::string> Runner::unboundInputs() const {
  std::vector<std::string> r;
  for (size_t i = 0; i < inNames.size(); ++i)
    if (!mfc_session_input_is_bound(session.get(), i))
      r.push_back(inNames[i]);
  return r;
}

} // namespace mfc::run
