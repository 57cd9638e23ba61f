//===- Runner.h - A model library run through libmfc_runtime ----*- C++ -*-===//
//
// Runner owns the loaded model and one session: it binds --state pairs,
// runs the requested steps (growing output buffers the runtime reports too
// small), and checks, prints or saves the outputs.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_RUNNER_H
#define MFC_RUN_RUNNER_H

#include "Common.h"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mfc::run {

struct ModelDeleter {
  void operator()(mfc_model *m) const { mfc_model_free(m); }
};
struct SessionDeleter {
  void operator()(mfc_session *s) const { mfc_session_free(s); }
};

class Runner {
public:
  explicit Runner(const Options &opt) : opt(opt) {}

  // Loads opt.model, creates a session and binds the --state pairs.
  bool load();

  // Prints the model's inputs and outputs (--signature).
  void printSignature() const;

  // Runs opt.steps steps on `inputs` (by input name; bound inputs given here
  // set the initial state), leaves all outputs in `results`.
  bool run(const std::map<std::string, Tensor> &inputs,
           std::vector<Tensor> &results);

  // Reports on every output; returns 1 on all-match, 0 on mismatch, -1 on
  // error.
  int check(const std::vector<Tensor> &results,
            const std::map<std::string, Tensor> &expects);

  // Writes the outputs named in `paths` as .npy files (--output).
  bool saveOutputs(const std::vector<Tensor> &results,
                   const std::map<std::string, std::string> &paths);

  // Inputs still to be supplied by the caller, in signature order.
  std::vector<std::string> unboundInputs() const;

  const Options &opt;
  std::unique_ptr<mfc_model, ModelDeleter> model;
  std::unique_ptr<mfc_session, SessionDeleter> session;
  std::vector<std::string> inNames, outNames;
  size_t lastChecked = 0, lastMismatched = 0;
};

} // namespace mfc::run

#endif // MFC_RUN_RUNNER_H
