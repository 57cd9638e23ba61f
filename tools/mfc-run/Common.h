//===- Common.h - What every part of mfc-run uses ---------------*- C++ -*-===//
//
// The host Tensor that .npy / TensorProto files are read into and outputs
// are returned in, the command-line Options, and error reporting: every
// error path calls fail() and returns false up to main (exit status 2).
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_COMMON_H
#define MFC_RUN_COMMON_H

#include "mfc/Runtime/mfc_runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mfc::run {

// Reports an error and records that the run failed. Every error path returns
// false up to main, which exits with status 2.
bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct Tensor {
  mfc_elem_type type = MFC_ELEM_UNDEFINED;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;

  /// The product of the dims, or -1 when it does not fit in int64_t (a corrupt file).
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      if (__builtin_mul_overflow(n, d, &n))
        return -1;
    return n;
  }
  size_t byteSize() const {
    return static_cast<size_t>(numElements()) * mfc_elem_size(type);
  }
};

// "[2,3]", with "?" for a negative (dynamic) dim.
std::string formatDims(const std::vector<int64_t> &dims);

std::vector<int64_t> dimsOf(const int64_t *dims, int64_t rank);

struct Options {
  std::string model;
  std::vector<std::string> inputs, expects, outputs, states;
  std::string testDataSet;
  double rtol = 1e-4, atol = 1e-5;
  long steps = 1;
  bool print = false;
  bool signature = false;
};

} // namespace mfc::run

#endif // MFC_RUN_COMMON_H
