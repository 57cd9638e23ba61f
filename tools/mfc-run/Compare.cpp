//===- Compare.cpp - Checking and printing outputs ------------------------===//
//
// Reads tensor elements of every supported type as doubles (and exactly as
// text) to compare an output with its expectation and to print values.
//
//===----------------------------------------------------------------------===//

#include "Compare.h"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace mfc::run {

namespace {

// IEEE half to float.
double halfToDouble(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(static_cast<double>(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN()
             : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(static_cast<double>(mant | 0x400), exp - 25);
  return sign ? -v : v;
}

double bf16ToDouble(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

bool isFloatType(mfc_elem_type t) {
  return t == MFC_ELEM_FLOAT || t == MFC_ELEM_DOUBLE ||
         t == MFC_ELEM_FLOAT16 || t == MFC_ELEM_BFLOAT16;
}

/// The T stored (unaligned) at p.
template <typename T>
T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Element i as a double (exact for every integer type but the extremes of
// int64/uint64, which compareOutput checks byte for byte).
double elementAsDouble(const Tensor &t, int64_t i) {
  const uint8_t *p = t.data.data() + i * mfc_elem_size(t.type);
  switch (t.type) {
  case MFC_ELEM_FLOAT:
    return load<float>(p);
  case MFC_ELEM_DOUBLE:
    return load<double>(p);
  case MFC_ELEM_FLOAT16:
    return halfToDouble(load<uint16_t>(p));
  case MFC_ELEM_BFLOAT16:
    return bf16ToDouble(load<uint16_t>(p));
  case MFC_ELEM_UINT8:
  case MFC_ELEM_BOOL:
    return *p;
  case MFC_ELEM_INT8:
    return static_cast<int8_t>(*p);
  case MFC_ELEM_INT16:
    return load<int16_t>(p);
  case MFC_ELEM_UINT16:
    return load<uint16_t>(p);
  case MFC_ELEM_INT32:
    return load<int32_t>(p);
  case MFC_ELEM_UINT32:
    return load<uint32_t>(p);
  case MFC_ELEM_INT64:
    return static_cast<double>(load<int64_t>(p));
  case MFC_ELEM_UINT64:
    return static_cast<double>(load<uint64_t>(p));
  case MFC_ELEM_UNDEFINED:
    break;
  }
  return 0;
}

// Element i as text, exactly for integers.
std::string elementAsString(const Tensor &t, int64_t i) {
  const uint8_t *p = t.data.data() + i * mfc_elem_size(t.type);
  char buf[64];
  switch (t.type) {
  case MFC_ELEM_INT64:
    std::snprintf(buf, sizeof(buf), "%" PRId64, load<int64_t>(p));
    return buf;
  case MFC_ELEM_UINT64:
    std::snprintf(buf, sizeof(buf), "%" PRIu64, load<uint64_t>(p));
    return buf;
  case MFC_ELEM_BOOL:
    return *p ? "true" : "false";
  case MFC_ELEM_DOUBLE:
    std::snprintf(buf, sizeof(buf), "%.17g", elementAsDouble(t, i));
    return buf;
  case MFC_ELEM_FLOAT:
    std::snprintf(buf, sizeof(buf), "%.9g", elementAsDouble(t, i));
    return buf;
  default:
    std::snprintf(buf, sizeof(buf), "%.6g", elementAsDouble(t, i));
    return buf;
  }
}

std::string unravel(int64_t flat, const std::vector<int64_t> &dims) {
  std::vector<int64_t> idx(dims.size());
  for (size_t d = dims.size(); d-- > 0;) {
    if (dims[d] > 0) {
      idx[d] = flat % dims[d];
      flat /= dims[d];
    }
  }
  return formatDims(idx);
}

} // namespace

// Compares one output; prints its summary line. Returns true on match.
bool compareOutput(const std::string &name, const Tensor &actual,
                   const Tensor &expected, const Options &opt) {
  std::string head = name + ": " + mfc_elem_type_name(actual.type) + " " +
                     formatDims(actual.dims);
  if (expected.type != actual.type) {
    std::printf("%s: expected element type %s: FAIL\n", head.c_str(),
                mfc_elem_type_name(expected.type));
    return false;
  }
  if (expected.dims != actual.dims) {
    std::printf("%s: expected shape %s: FAIL\n", head.c_str(),
                formatDims(expected.dims).c_str());
    return false;
  }
  int64_t n = actual.numElements();
  bool fp = isFloatType(actual.type);
  double maxAbs = 0, maxRel = 0, worstScore = -1;
  int64_t worst = 0, mismatches = 0;
  size_t esize = mfc_elem_size(actual.type);
  for (int64_t i = 0; i < n; ++i) {
    double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    bool ok;
    double diff, score;
    if (fp) {
      if (std::isnan(a) || std::isnan(e)) {
        ok = std::isnan(a) && std::isnan(e);
        diff = ok ? 0 : std::numeric_limits<double>::infinity();
      } else if (a == e) {
        ok = true;
        diff = 0;
      } else {
        diff = std::fabs(a - e);
        ok = diff <= opt.atol + opt.rtol * std::fabs(e);
      }
      double tol = opt.atol + opt.rtol * (std::isfinite(e) ? std::fabs(e) : 0);
      score = diff == 0 ? 0 : tol > 0 ? diff / tol
                                      : std::numeric_limits<double>::infinity();
    } else {
      ok = std::memcmp(actual.data.data() + i * esize,
                       expected.data.data() + i * esize, esize) == 0;
      diff = ok ? 0 : std::fabs(a - e);
      if (!ok && diff == 0) // int64 values beyond double precision
        diff = 1;
      score = diff;
    }
    if (!ok)
      ++mismatches;
    if (diff > maxAbs || std::isnan(diff))
      maxAbs = diff;
    double rel = diff == 0 ? 0
                 : e != 0 && std::isfinite(e)
                     ? diff / std::fabs(e)
                     : std::numeric_limits<double>::infinity();
    if (rel > maxRel)
      maxRel = rel;
    if (score > worstScore) {
      worstScore = score;
      worst = i;
    }
  }
  bool pass = mismatches == 0;
  std::printf("%s: max_abs_err %.6g max_rel_err %.6g mismatches %" PRId64
              "/%" PRId64,
              head.c_str(), maxAbs, maxRel, mismatches, n);
  if (n > 0)
    std::printf(" worst %s actual %s expected %s",
                unravel(worst, actual.dims).c_str(),
                elementAsString(actual, worst).c_str(),
                elementAsString(expected, worst).c_str());
  std::printf(": %s\n", pass ? "ok" : "FAIL");
  return pass;
}

void printValues(const std::string &name, const Tensor &t) {
  std::printf("%s = [", name.c_str());
  int64_t n = t.numElements();
  const int64_t limit = 64;
  for (int64_t i = 0; i < n && i < limit; ++i)
    std::printf("%s%s", i ? ", " : "", elementAsString(t, i).c_str());
  if (n > limit)
    std::printf(", ... (%" PRId64 " more)", n - limit);
  std::printf("]\n");
}

} // namespace mfc::run
