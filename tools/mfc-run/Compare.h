//===- Compare.h - Checking and printing outputs ----------------*- C++ -*-===//
//
// An output matches its expectation when type and shape agree and, per
// element, |actual - expected| <= atol + rtol*|expected| for floating types
// (NaN matches NaN) or the values are equal for integers and bools.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_COMPARE_H
#define MFC_RUN_COMPARE_H

#include "Common.h"

#include <string>

namespace mfc::run {

// Compares one output; prints its summary line. Returns true on match.
bool compareOutput(const std::string &name, const Tensor &actual,
                   const Tensor &expected, const Options &opt);

// Prints `name = [v0, v1, ...]`: the first 64 elements of t.
void printValues(const std::string &name, const Tensor &t);

} // namespace mfc::run

#endif // MFC_RUN_COMPARE_H
