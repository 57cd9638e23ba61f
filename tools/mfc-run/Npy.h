//===- Npy.h - Reading and writing .npy files -------------------*- C++ -*-===//
//
// numpy's .npy format, versions 1-3: little-endian, C-order arrays of the
// runtime's element types. bfloat16, which numpy lacks, is read from and
// written as raw '<u2'.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_NPY_H
#define MFC_RUN_NPY_H

#include "Common.h"

#include <string>

namespace mfc::run {

// Reads a .npy file into t; reports the problem and returns false if the
// file is unreadable, malformed or of an unsupported dtype.
bool readNpy(const std::string &path, Tensor &t);

// Writes t as a .npy file (version 1, or 2 for a very long header).
bool writeNpy(const std::string &path, const Tensor &t);

} // namespace mfc::run

#endif // MFC_RUN_NPY_H
