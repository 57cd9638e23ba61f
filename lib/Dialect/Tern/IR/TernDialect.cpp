//===- TernDialect.cpp - the tern dialect ---------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mfc::tern;

#include "Tern/TernOpsDialect.cpp.inc"

void TernDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Tern/TernOps.cpp.inc"
      >();
}

Operation *TernDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}
