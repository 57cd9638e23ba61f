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
//===----------------------------------------------------------------------===//

#include "mfc/Runtime/mfc_runtime.h"

#include "onnx/onnx_pb.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

const char *kTool = "mfc-run";

// Reports an error and records that the run failed. Every error path returns
// false up to main, which exits with status 2.
bool fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
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

//===----------------------------------------------------------------------===//
// Host tensors
//===----------------------------------------------------------------------===//

struct Tensor {
  mfc_elem_type type = MFC_ELEM_UNDEFINED;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
  size_t byteSize() const {
    return static_cast<size_t>(numElements()) * mfc_elem_size(type);
  }
};

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

//===----------------------------------------------------------------------===//
// .npy files
//===----------------------------------------------------------------------===//

struct NpyType {
  const char *descr; // without the byte-order character
  mfc_elem_type type;
};

const NpyType kNpyTypes[] = {
    {"f4", MFC_ELEM_FLOAT},   {"f8", MFC_ELEM_DOUBLE},
    {"f2", MFC_ELEM_FLOAT16}, {"i1", MFC_ELEM_INT8},
    {"u1", MFC_ELEM_UINT8},   {"i2", MFC_ELEM_INT16},
    {"i4", MFC_ELEM_INT32},   {"i8", MFC_ELEM_INT64},
    {"u4", MFC_ELEM_UINT32},  {"u8", MFC_ELEM_UINT64},
    {"b1", MFC_ELEM_BOOL},
};

// The .npy descr written for a type. bfloat16 has no numpy dtype: its raw
// bits go out as '<u2' (and '<u2' / 'V2' files are accepted as bfloat16).
std::string npyDescr(mfc_elem_type t) {
  if (t == MFC_ELEM_BFLOAT16)
    return "<u2";
  for (const NpyType &n : kNpyTypes)
    if (n.type == t)
      return std::string(mfc_elem_size(t) == 1 ? "|" : "<") + n.descr;
  return "?";
}

// Value of `key` in the header dict: the text after "'key':" up to the
// matching end (a quoted string, a parenthesized tuple, or a bare word).
bool npyHeaderField(const std::string &h, const char *key, std::string &out) {
  std::string k1 = std::string("'") + key + "'";
  std::string k2 = std::string("\"") + key + "\"";
  size_t p = h.find(k1);
  size_t klen = k1.size();
  if (p == std::string::npos) {
    p = h.find(k2);
    klen = k2.size();
  }
  if (p == std::string::npos)
    return false;
  p += klen;
  while (p < h.size() && (h[p] == ' ' || h[p] == ':'))
    ++p;
  if (p >= h.size())
    return false;
  size_t e;
  if (h[p] == '\'' || h[p] == '"') {
    e = h.find(h[p], p + 1);
    if (e == std::string::npos)
      return false;
    out = h.substr(p + 1, e - p - 1);
    return true;
  }
  if (h[p] == '(') {
    e = h.find(')', p);
    if (e == std::string::npos)
      return false;
    out = h.substr(p + 1, e - p - 1);
    return true;
  }
  e = p;
  while (e < h.size() && h[e] != ',' && h[e] != '}' && h[e] != ' ')
    ++e;
  out = h.substr(p, e - p);
  return true;
}

bool readFile(const std::string &path, std::vector<uint8_t> &bytes) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  bytes.assign(std::istreambuf_iterator<char>(f),
               std::istreambuf_iterator<char>());
  if (f.bad())
    return fail("cannot read '%s'", path.c_str());
  return true;
}

bool readNpy(const std::string &path, Tensor &t) {
  std::vector<uint8_t> b;
  if (!readFile(path, b))
    return false;
  static const uint8_t magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (b.size() < 10 || std::memcmp(b.data(), magic, 6) != 0)
    return fail("'%s' is not a .npy file (bad magic)", path.c_str());
  unsigned major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = b[8] | (b[9] << 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12)
      return fail("'%s': truncated .npy header", path.c_str());
    hlen = b[8] | (b[9] << 8) | (static_cast<size_t>(b[10]) << 16) |
           (static_cast<size_t>(b[11]) << 24);
    hstart = 12;
  } else {
    return fail("'%s': unsupported .npy format version %u", path.c_str(),
                major);
  }
  if (b.size() < hstart + hlen)
    return fail("'%s': truncated .npy header", path.c_str());
  std::string h(reinterpret_cast<const char *>(b.data() + hstart), hlen);

  std::string descr, fortran, shape;
  if (!npyHeaderField(h, "descr", descr) ||
      !npyHeaderField(h, "fortran_order", fortran) ||
      !npyHeaderField(h, "shape", shape))
    return fail("'%s': malformed .npy header: %s", path.c_str(), h.c_str());
  if (fortran != "False")
    return fail("'%s': Fortran-order arrays are not supported (save with "
                "np.ascontiguousarray)",
                path.c_str());

  // Byte order: '<' little, '|' not applicable, '=' native (little here).
  if (descr.size() < 2)
    return fail("'%s': unsupported dtype '%s'", path.c_str(), descr.c_str());
  char order = descr[0];
  std::string code = descr.substr(1);
  if (order != '<' && order != '|' && order != '=')
    return fail("'%s': dtype '%s' is not little-endian", path.c_str(),
                descr.c_str());
  t.type = MFC_ELEM_UNDEFINED;
  for (const NpyType &n : kNpyTypes)
    if (code == n.descr)
      t.type = n.type;
  if (code == "u2" || code == "V2")
    t.type = MFC_ELEM_BFLOAT16;
  if (t.type == MFC_ELEM_UNDEFINED)
    return fail("'%s': unsupported dtype '%s' (supported: f2 f4 f8 i1 i2 i4 "
                "i8 u1 u4 u8 b1; u2 as raw bfloat16)",
                path.c_str(), descr.c_str());
  if (order == '|' && mfc_elem_size(t.type) != 1 && code != "V2")
    return fail("'%s': dtype '%s' has no byte order", path.c_str(),
                descr.c_str());

  t.dims.clear();
  size_t p = 0;
  while (p < shape.size()) {
    while (p < shape.size() && (shape[p] == ' ' || shape[p] == ','))
      ++p;
    if (p >= shape.size())
      break;
    char *end = nullptr;
    long long v = std::strtoll(shape.c_str() + p, &end, 10);
    if (end == shape.c_str() + p || v < 0)
      return fail("'%s': bad shape (%s)", path.c_str(), shape.c_str());
    t.dims.push_back(v);
    p = static_cast<size_t>(end - shape.c_str());
    if (t.dims.size() > MFC_MAX_RANK)
      return fail("'%s': rank above %d", path.c_str(), MFC_MAX_RANK);
  }
  // Overflow-checked size.
  size_t bytes = mfc_elem_size(t.type);
  for (int64_t d : t.dims) {
    if (d && bytes > SIZE_MAX / static_cast<size_t>(d))
      return fail("'%s': shape too large", path.c_str());
    bytes *= static_cast<size_t>(d);
  }
  size_t dstart = hstart + hlen;
  if (b.size() - dstart < bytes)
    return fail("'%s': truncated data: shape %s of %s needs %zu bytes, the "
                "file has %zu",
                path.c_str(), formatDims(t.dims).c_str(),
                mfc_elem_type_name(t.type), bytes, b.size() - dstart);
  t.data.assign(b.begin() + dstart, b.begin() + dstart + bytes);
  return true;
}

bool writeNpy(const std::string &path, const Tensor &t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.dims.size(); ++i)
    shape += std::to_string(t.dims[i]) + (t.dims.size() == 1 ? "," : i + 1 < t.dims.size() ? ", " : "");
  shape += ")";
  std::string h = "{'descr': '" + npyDescr(t.type) +
                  "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad so that the data starts at a multiple of 64, header ends in '\n'.
  size_t pre = 10;
  size_t total = pre + h.size() + 1;
  bool v2 = false;
  if ((total + 63) / 64 * 64 - pre > 65535) {
    v2 = true;
    pre = 12;
    total = pre + h.size() + 1;
  }
  size_t padded = (total + 63) / 64 * 64;
  h.append(padded - total, ' ');
  h += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f)
    return fail("cannot write '%s': %s", path.c_str(), std::strerror(errno));
  const char magic[] = "\x93NUMPY";
  f.write(magic, 6);
  f.put(static_cast<char>(v2 ? 2 : 1));
  f.put(0);
  size_t hl = h.size();
  f.put(static_cast<char>(hl & 0xff));
  f.put(static_cast<char>((hl >> 8) & 0xff));
  if (v2) {
    f.put(static_cast<char>((hl >> 16) & 0xff));
    f.put(static_cast<char>((hl >> 24) & 0xff));
  }
  f.write(h.data(), static_cast<std::streamsize>(h.size()));
  f.write(reinterpret_cast<const char *>(t.data.data()),
          static_cast<std::streamsize>(t.data.size()));
  if (!f)
    return fail("cannot write '%s'", path.c_str());
  return true;
}

//===----------------------------------------------------------------------===//
// ONNX TensorProto files
//===----------------------------------------------------------------------===//

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

bool readTensorProto(const std::string &path, Tensor &t, std::string &name) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  onnx::TensorProto p;
  if (!p.ParseFromIstream(&f))
    return fail("'%s' is not a serialized onnx.TensorProto", path.c_str());
  name = p.name();
  t.type = static_cast<mfc_elem_type>(p.data_type());
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

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

struct Options {
  std::string model;
  std::vector<std::string> inputs, expects, outputs, states;
  std::string testDataSet;
  double rtol = 1e-4, atol = 1e-5;
  long steps = 1;
  bool print = false;
  bool signature = false;
};

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

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

struct ModelDeleter {
  void operator()(mfc_model *m) const { mfc_model_free(m); }
};
struct SessionDeleter {
  void operator()(mfc_session *s) const { mfc_session_free(s); }
};

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

class Runner {
public:
  explicit Runner(const Options &opt) : opt(opt) {}

  bool load() {
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

  void printSignature() const {
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

  // Runs opt.steps steps on `inputs` (by input name; bound inputs given here
  // set the initial state), leaves all outputs in `results`.
  bool run(const std::map<std::string, Tensor> &inputs,
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
      if (std::find(inNames.begin(), inNames.end(), kv.first) ==
          inNames.end())
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

  // Reports on every output; returns 1 on all-match, 0 on mismatch, -1 on
  // error.
  int check(const std::vector<Tensor> &results,
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

  bool saveOutputs(const std::vector<Tensor> &results,
                   const std::map<std::string, std::string> &paths) {
    for (size_t k = 0; k < outNames.size(); ++k) {
      auto it = paths.find(outNames[k]);
      if (it != paths.end() && !writeNpy(it->second, results[k]))
        return false;
    }
    return true;
  }

  // Inputs still to be supplied by the caller, in signature order.
  std::vector<std::string> unboundInputs() const {
    std::vector<std::string> r;
    for (size_t i = 0; i < inNames.size(); ++i)
      if (!mfc_session_input_is_bound(session.get(), i))
        r.push_back(inNames[i]);
    return r;
  }

  const Options &opt;
  std::unique_ptr<mfc_model, ModelDeleter> model;
  std::unique_ptr<mfc_session, SessionDeleter> session;
  std::vector<std::string> inNames, outNames;
  size_t lastChecked = 0, lastMismatched = 0;
};

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
