//===- mfc-run.cpp - Run an mfc-compiled model library --------------------===//
//
// mfc-run model.so --input [name=]x.npy ... [--expect [name=]y.npy ...]
//                  [--output [name=]out.npy ...] [--rtol R] [--atol A]
//                  [--state out=in ...] [--steps N] [--print]
// mfc-run model.so --test-data-set DIR
// mfc-run model.so --signature
//
// Loads the library through libmfc_runtime, feeds it .npy inputs (or the
// input_K.pb TensorProtos of ONNX test_data_set_N folders), compares the
// outputs with expectations: |actual - expected| <= atol + rtol*|expected|
// per element for floating types (NaN matches NaN), exact equality for
// integers and bools. Prints a summary line per output, then PASS or FAIL.
//
// Exit status: 0 when every expectation matched (or none was given), 1 on a
// mismatch, 2 on any error (bad arguments, files, model, shapes).
//
// The parts: Npy.cpp reads and writes .npy files, TensorProto.cpp reads ONNX
// TensorProto files, TestDataSet.cpp runs --test-data-set folders, Runner.cpp
// drives libmfc_runtime, Compare.cpp checks and prints outputs; Common.h holds
// what they share. This file is the command line: options and main.
//
//===----------------------------------------------------------------------===//

#include "Common.h"
#include "Npy.h"
#include "Runner.h"
#include "TestDataSet.h"

#include "google/protobuf/message_lite.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <string>
#include <vector>

using namespace mfc::run;

namespace {

// "name=path" or "path": a leading name is recognized when the text before
// the first '=' is a name in `names`.
bool splitNamed(const std::string &arg, const std::vector<std::string> &names,
                std::string &name, std::string &path) {
  size_t eq = arg.find('=');
  if (eq != std::string::npos) {
    name = arg.substr(0, eq);
    path = arg.substr(eq + 1);
    return true;
  }
  name.clear();
  path = arg;
  return false;
}

// Resolves [name=]value arguments against `names` (in order); positional
// ones take the names in `positional` order that were not named. kind is
// "input"/"output" for messages.
bool resolveNamed(const std::vector<std::string> &args,
                  const std::vector<std::string> &names,
                  const std::vector<std::string> &positional, const char *flag,
                  const char *kind, std::map<std::string, std::string> &out) {
  std::vector<std::string> pos;
  for (const std::string &a : args) {
    std::string name, path;
    if (splitNamed(a, names, name, path)) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string all;
        for (const std::string &n : names)
          all += (all.empty() ? "" : ", ") + n;
        return fail("%s %s: the model has no %s named '%s' (%ss: %s)", flag,
                    a.c_str(), kind, name.c_str(), kind, all.c_str());
      }
      if (out.count(name))
        return fail("%s given twice for %s '%s'", flag, kind, name.c_str());
      out[name] = path;
    } else {
      pos.push_back(path);
    }
  }
  size_t next = 0;
  for (const std::string &p : pos) {
    while (next < positional.size() && out.count(positional[next]))
      ++next;
    if (next >= positional.size())
      return fail("%s %s: more files than %ss", flag, p.c_str(), kind);
    out[positional[next++]] = p;
  }
  return true;
}

void usage(FILE *f) {
  std::fprintf(
      f,
      "USAGE: mfc-run <model.so> [options]\n"
      "\n"
      "Runs a model library built by `mfc model.onnx -o model.so` and checks\n"
      "its outputs.\n"
      "\n"
      "OPTIONS:\n"
      "  --input [NAME=]FILE.npy    an input (repeatable); without NAME, the\n"
      "                             next input in signature order\n"
      "  --expect [NAME=]FILE.npy   an expected output (repeatable)\n"
      "  --output [NAME=]FILE.npy   save an output (repeatable)\n"
      "  --test-data-set DIR        inputs/expectations from an ONNX\n"
      "                             test_data_set_N folder (input_K.pb,\n"
      "                             output_K.pb), or from every\n"
      "                             test_data_set_* folder in DIR\n"
      "  --rtol R, --atol A         float tolerance: |a-e| <= A + R*|e|\n"
      "                             (default 1e-4, 1e-5); integers and bools\n"
      "                             must match exactly\n"
      "  --state OUTPUT=INPUT       feed OUTPUT into INPUT on the next step\n"
      "                             (repeatable); INPUT then starts at zeros,\n"
      "                             or at --input INPUT=FILE.npy\n"
      "  --steps N                  run N steps (default 1); outputs and\n"
      "                             expectations are those of the last step\n"
      "  --print                    print output values (first 64 of each)\n"
      "  --signature                print the model's inputs and outputs\n"
      "  -h, --help                 this text\n"
      "\n"
      "Exit status: 0 all expectations met, 1 mismatch, 2 error.\n");
}

bool parseDouble(const char *flag, const std::string &s, double &out) {
  char *end = nullptr;
  out = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !(out >= 0))
    return fail("%s: expected a non-negative number, got '%s'", flag,
                s.c_str());
  return true;
}

// Returns 0 to continue, else an exit status + 1.
int parseArgs(int argc, char **argv, Options &opt) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help" || a == "-help") {
      usage(stdout);
      return 1;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::string flag = a, value;
      bool hasValue = false;
      size_t eq = a.find('=');
      if (a.compare(0, 2, "--") == 0 && eq != std::string::npos) {
        flag = a.substr(0, eq);
        value = a.substr(eq + 1);
        hasValue = true;
      }
      auto take = [&](std::string &v) {
        if (hasValue) {
          v = value;
          return true;
        }
        if (i + 1 >= argc)
          return fail("%s needs a value", flag.c_str());
        v = argv[++i];
        return true;
      };
      std::string v;
      if (flag == "--print" || flag == "--signature") {
        if (hasValue) {
          fail("%s takes no value", flag.c_str());
          return 3;
        }
        (flag == "--print" ? opt.print : opt.signature) = true;
        continue;
      }
      static const char *const valued[] = {
          "--input", "--expect", "--output", "--state", "--test-data-set",
          "--rtol",  "--atol",   "--steps"};
      if (std::find(std::begin(valued), std::end(valued), flag) ==
          std::end(valued)) {
        fail("unknown option '%s'; see `mfc-run --help`", a.c_str());
        return 3;
      }
      if (!take(v))
        return 3;
      if (flag == "--input")
        opt.inputs.push_back(v);
      else if (flag == "--expect")
        opt.expects.push_back(v);
      else if (flag == "--output")
        opt.outputs.push_back(v);
      else if (flag == "--state")
        opt.states.push_back(v);
      else if (flag == "--test-data-set")
        opt.testDataSet = v;
      else if (flag == "--rtol") {
        if (!parseDouble("--rtol", v, opt.rtol))
          return 3;
      } else if (flag == "--atol") {
        if (!parseDouble("--atol", v, opt.atol))
          return 3;
      } else if (flag == "--steps") {
        char *end = nullptr;
        opt.steps = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end || opt.steps < 1) {
          fail("--steps: expected a positive integer, got '%s'", v.c_str());
          return 3;
        }
      } else {
        fail("unknown option '%s'; see `mfc-run --help`", a.c_str());
        return 3;
      }
      continue;
    }
    if (!opt.model.empty()) {
      fail("unexpected argument '%s' (the model is '%s')", a.c_str(),
           opt.model.c_str());
      return 3;
    }
    opt.model = a;
  }
  if (opt.model.empty()) {
    fail("no model library; see `mfc-run --help`");
    return 3;
  }
  if (!opt.testDataSet.empty() && (!opt.inputs.empty() || !opt.expects.empty())) {
    fail("--test-data-set cannot be combined with --input/--expect");
    return 3;
  }
  return 0;
}

int mainImpl(int argc, char **argv) {
  Options opt;
  if (int rc = parseArgs(argc, argv, opt))
    return rc - 1;

  Runner r(opt);
  if (!r.load())
    return 2;
  if (opt.signature) {
    r.printSignature();
    return 0;
  }
  if (!opt.testDataSet.empty())
    return runTestDataSets(r, opt);

  // Inputs.
  std::map<std::string, std::string> inPaths, expPaths, outPaths;
  if (!resolveNamed(opt.inputs, r.inNames, r.unboundInputs(), "--input",
                    "input", inPaths) ||
      !resolveNamed(opt.expects, r.outNames, r.outNames, "--expect", "output",
                    expPaths) ||
      !resolveNamed(opt.outputs, r.outNames, r.outNames, "--output", "output",
                    outPaths))
    return 2;
  std::map<std::string, Tensor> inputs, expects;
  for (const auto &kv : inPaths)
    if (!readNpy(kv.second, inputs[kv.first]))
      return 2;
  for (const auto &kv : expPaths)
    if (!readNpy(kv.second, expects[kv.first]))
      return 2;

  std::vector<Tensor> results;
  if (!r.run(inputs, results))
    return 2;
  if (!r.saveOutputs(results, outPaths))
    return 2;
  int ok = r.check(results, expects);
  if (!ok) {
    std::printf("FAIL: %zu of %zu checked outputs mismatch\n",
                r.lastMismatched, r.lastChecked);
    return 1;
  }
  std::printf("PASS (%zu of %zu outputs checked)\n", r.lastChecked,
              r.outNames.size());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  int rc = mainImpl(argc, argv);
  std::fflush(stdout);
  google::protobuf::ShutdownProtobufLibrary();
  return rc;
}
