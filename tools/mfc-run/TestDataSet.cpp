//===- TestDataSet.cpp - Running ONNX test_data_set folders ---------------===//
//
// Finds the sets, maps each K-th .pb file to a model input or output (by
// the TensorProto's name, else by position), runs them and prints PASS or
// FAIL over all sets.
//
//===----------------------------------------------------------------------===//

#include "TestDataSet.h"
#include "Runner.h"
#include "TensorProto.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mfc::run {

namespace {

bool isDir(const std::string &p) {
  struct stat sb;
  return stat(p.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> r;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      r.push_back(e->d_name);
    closedir(d);
  }
  std::sort(r.begin(), r.end());
  return r;
}

// input_K.pb / output_K.pb files of one folder, ordered by K.
std::vector<std::pair<long, std::string>> numberedFiles(const std::string &dir,
                                                        const char *prefix) {
  std::vector<std::pair<long, std::string>> r;
  size_t pl = std::strlen(prefix);
  for (const std::string &f : listDir(dir)) {
    if (f.size() <= pl + 3 || f.compare(0, pl, prefix) != 0 ||
        f.compare(f.size() - 3, 3, ".pb") != 0)
      continue;
    std::string num = f.substr(pl, f.size() - pl - 3);
    if (num.empty() ||
        num.find_first_not_of("0123456789") != std::string::npos)
      continue;
    r.emplace_back(std::strtol(num.c_str(), nullptr, 10), dir + "/" + f);
  }
  std::sort(r.begin(), r.end());
  return r;
}

// Maps the K-th .pb to a model port: by the TensorProto's name when it names
// one, else by position K among `names`.
bool loadProtoSet(const std::string &dir, const char *prefix,
                  const std::vector<std::string> &names, const char *kind,
                  std::map<std::string, Tensor> &out) {
  for (const auto &f : numberedFiles(dir, prefix)) {
    Tensor t;
    std::string name;
    if (!readTensorProto(f.second, t, name))
      return false;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      if (f.first < 0 || static_cast<size_t>(f.first) >= names.size())
        return fail("'%s': no model %s named '%s' and no %s number %ld",
                    f.second.c_str(), kind, name.c_str(), kind, f.first);
      name = names[static_cast<size_t>(f.first)];
    }
    if (out.count(name))
      return fail("'%s': %s '%s' given twice", f.second.c_str(), kind,
                  name.c_str());
    out[name] = std::move(t);
  }
  return true;
}

} // namespace

int runTestDataSets(Runner &r, const Options &opt) {
  std::vector<std::string> sets;
  if (!isDir(opt.testDataSet)) {
    fail("--test-data-set %s: not a directory", opt.testDataSet.c_str());
    return 2;
  }
  if (!numberedFiles(opt.testDataSet, "input_").empty() ||
      !numberedFiles(opt.testDataSet, "output_").empty()) {
    sets.push_back(opt.testDataSet);
  } else {
    for (const std::string &f : listDir(opt.testDataSet))
      if (f.compare(0, 14, "test_data_set_") == 0 &&
          isDir(opt.testDataSet + "/" + f))
        sets.push_back(opt.testDataSet + "/" + f);
  }
  if (sets.empty()) {
    fail("--test-data-set %s: no input_K.pb files and no test_data_set_N "
         "folders",
         opt.testDataSet.c_str());
    return 2;
  }
  size_t failedSets = 0;
  for (const std::string &set : sets) {
    std::map<std::string, Tensor> inputs, expects;
    std::printf("%s:\n", set.c_str());
    if (!loadProtoSet(set, "input_", r.inNames, "input", inputs) ||
        !loadProtoSet(set, "output_", r.outNames, "output", expects))
      return 2;
    std::vector<Tensor> results;
    if (!r.run(inputs, results))
      return 2;
    if (!r.check(results, expects))
      ++failedSets;
  }
  if (failedSets) {
    std::printf("FAIL: %zu of %zu test data sets mismatch\n", failedSets,
                sets.size());
    return 1;
  }
  std::printf("PASS (%zu test data sets)\n", sets.size());
  return 0;
}

} // namespace mfc::run
