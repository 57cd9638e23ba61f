//===- Npy.cpp - Reading and writing .npy files ---------------------------===//
//
// The .npy inputs and expectations of --input / --expect and the files of
// --output. Parses just the header dict fields it needs (descr,
// fortran_order, shape) and checks the data size against the shape.
//
//===----------------------------------------------------------------------===//

#include "Npy.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace mfc::run {

namespace {

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

} // namespace

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

} // namespace mfc::run
