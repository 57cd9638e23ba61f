//===- TernDialect.cpp - the tern dialect ---------------------------------===//
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mfc::tern;

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "Tern/TernOpsDialect.cpp.inc"

#include "Tern/TernEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "Tern/TernAttrs.cpp.inc"

void TernDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "Tern/TernAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "Tern/TernOps.cpp.inc"
      >();
  attachProductInterfaces(getContext());
}

Operation *TernDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  return arith::ConstantOp::materialize(builder, value, type, loc);
}

//===----------------------------------------------------------------------===//
// PackedAttr
//===----------------------------------------------------------------------===//

PackedAttr PackedAttr::getDefault(MLIRContext *context) {
  return PackedAttr::get(context, 2, PackedOrder::rows);
}

LogicalResult PackedAttr::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                                 int64_t bits, PackedOrder order) {
  if (bits != 2)
    return emitError() << "ternary codes take 2 bits, found bits = " << bits;
  return success();
}

SmallVector<int64_t, 2> PackedAttr::getShape(int64_t outputs, int64_t inputs) const {
  SmallVector<int64_t, 2> shape(2);
  shape[getOutputDim()] = outputs;
  shape[getByteDim()] = ShapedType::isDynamic(inputs) ? inputs : (inputs + 3) / 4;
  return shape;
}
