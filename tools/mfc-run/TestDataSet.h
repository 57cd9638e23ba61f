//===- TestDataSet.h - Running ONNX test_data_set folders -------*- C++ -*-===//
//
// --test-data-set DIR: DIR is one test_data_set_N folder (input_K.pb,
// output_K.pb) or holds several; each set is run and checked in turn.
//
//===----------------------------------------------------------------------===//

#ifndef MFC_RUN_TESTDATASET_H
#define MFC_RUN_TESTDATASET_H

#include "Common.h"

namespace mfc::run {

class Runner;

// Runs and checks every test data set of opt.testDataSet; returns the exit
// status (0 all matched, 1 a mismatch, 2 an error).
int runTestDataSets(Runner &r, const Options &opt);

} // namespace mfc::run

#endif // MFC_RUN_TESTDATASET_H
