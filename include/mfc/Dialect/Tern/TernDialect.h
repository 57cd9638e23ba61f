//===- TernDialect.h - the tern dialect -------------------------*- C++ -*-===//
#ifndef MFC_DIALECT_TERN_TERNDIALECT_H
#define MFC_DIALECT_TERN_TERNDIALECT_H

// The generated op classes need these before the .inc files.
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include "Tern/TernOpsDialect.h.inc"

#include "Tern/TernEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "Tern/TernAttrs.h.inc"

#define GET_OP_CLASSES
#include "Tern/TernOps.h.inc"

namespace mfc::tern {
/// Attaches the BufferizableOpInterface and TilingInterface models of tern.matmul and
/// tern.bitlinear (the dialect does on initialization).
void attachProductInterfaces(mlir::MLIRContext *context);
} // namespace mfc::tern

#endif // MFC_DIALECT_TERN_TERNDIALECT_H
