//===- Common.cpp - What every part of mfc-run uses -----------------------===//
//
// Error reporting and shape formatting shared by the mfc-run sources.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <cstdarg>
#include <cstdio>

namespace mfc::run {

namespace {

const char *kTool = "mfc-run";

} // namespace

bool fail(const char *fmt, ...) {
  va_list ap;
  std::fflush(stdout); // keep the order of summary lines and errors
  va_start(ap, fmt);
  std::fprintf(stderr, "%s: error: ", kTool);
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
  return false;
}

std::string formatDims(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i)
      s += ",";
    s += dims[i] < 0 ? std::string("?") : std::to_string(dims[i]);
  }
  return s + "]";
}

std::vector<int64_t> dimsOf(const int64_t *dims, int64_t rank) {
  return std::vector<int64_t>(dims, dims + rank);
}

} // namespace mfc::run
