//===- OnnxImporter.cpp - ONNX to MLIR ------------------------------------===//
//
// Reads an ONNX model (binary or text), runs ONNX shape inference, and builds a
// func.func over tensor/linalg/arith/math/scf. Every op gets the node's name as its
// location. Large initializers stay in the file's (memory-mapped) bytes as resource
// blobs.
//
//===----------------------------------------------------------------------===//
#include "Importer.h"

#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/defs/parser.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <climits>

using namespace mlir;
using namespace mfc;
using namespace mfc::onnx_import;

//===----------------------------------------------------------------------===//
// Node attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *Node::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : proto.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t Node::getInt(StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : defaultValue;
}

float Node::getFloat(StringRef name, float defaultValue) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : defaultValue;
}

std::optional<SmallVector<int64_t>> Node::getInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

bool mfc::onnx_import::isUnsignedOnnxType(int32_t t) {
  return t == onnx::TensorProto::UINT8 || t == onnx::TensorProto::UINT16 ||
         t == onnx::TensorProto::UINT32 || t == onnx::TensorProto::UINT64;
}

bool mfc::onnx_import::isFloatOnnxType(int32_t t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::DOUBLE ||
         t == onnx::TensorProto::FLOAT16 || t == onnx::TensorProto::BFLOAT16;
}

Type GraphImporter::elementType(int32_t t) {
  MLIRContext *ctx = builder.getContext();
  switch (t) {
  case onnx::TensorProto::FLOAT: return Float32Type::get(ctx);
  case onnx::TensorProto::DOUBLE: return Float64Type::get(ctx);
  case onnx::TensorProto::FLOAT16: return Float16Type::get(ctx);
  case onnx::TensorProto::BFLOAT16: return BFloat16Type::get(ctx);
  case onnx::TensorProto::BOOL: return builder.getI1Type();
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8: return builder.getI8Type();
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16: return builder.getI16Type();
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32: return builder.getI32Type();
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64: return builder.getI64Type();
  default: return {};
  }
}

int32_t mfc::onnx_import::onnxElemTypeOf(Type type, bool isUnsigned) {
  if (type.isF32()) return onnx::TensorProto::FLOAT;
  if (type.isF64()) return onnx::TensorProto::DOUBLE;
  if (type.isF16()) return onnx::TensorProto::FLOAT16;
  if (type.isBF16()) return onnx::TensorProto::BFLOAT16;
  if (type.isInteger(1)) return onnx::TensorProto::BOOL;
  if (type.isInteger(8)) return isUnsigned ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8;
  if (type.isInteger(16)) return isUnsigned ? onnx::TensorProto::UINT16 : onnx::TensorProto::INT16;
  if (type.isInteger(32)) return isUnsigned ? onnx::TensorProto::UINT32 : onnx::TensorProto::INT32;
  if (type.isInteger(64)) return isUnsigned ? onnx::TensorProto::UINT64 : onnx::TensorProto::INT64;
  return 0;
}

static std::string onnxTypeName(int32_t t) {
  return onnx::TensorProto_DataType_IsValid(t)
             ? onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(t))
             : "type " + std::to_string(t);
}

Value mfc::onnx_import::maxOf(OpBuilder &b, Location loc, Value x, Value y, int32_t t) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, loc, x, y);
  return isUnsignedOnnxType(t) ? arith::MaxUIOp::create(b, loc, x, y).getResult()
                               : arith::MaxSIOp::create(b, loc, x, y).getResult();
}
Value mfc::onnx_import::minOf(OpBuilder &b, Location loc, Value x, Value y, int32_t t) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, loc, x, y);
  return isUnsignedOnnxType(t) ? arith::MinUIOp::create(b, loc, x, y).getResult()
                               : arith::MinSIOp::create(b, loc, x, y).getResult();
}


/// Largest dimension and element count accepted: beyond this a model is corrupt.
static constexpr int64_t kMaxElements = int64_t(1) << 40;

FailureOr<RankedTensorType> GraphImporter::tensorType(const onnx::TypeProto &type,
                                                      Location loc, StringRef what) {
  if (!type.has_tensor_type())
    return emitError(loc) << what << " is not a tensor (sequences, maps and optionals "
                                     "are not supported)";
  const onnx::TypeProto::Tensor &tensor = type.tensor_type();
  Type elem = elementType(tensor.elem_type());
  if (!elem)
    return emitError(loc) << what << " has unsupported element type "
                          << onnxTypeName(tensor.elem_type());
  if (!tensor.has_shape())
    return emitError(loc) << what << " has unknown rank; mfc needs ranked tensors";
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (const onnx::TensorShapeProto::Dimension &dim : tensor.shape().dim()) {
    if (!dim.has_dim_value()) {
      shape.push_back(ShapedType::kDynamic);
      continue;
    }
    if (dim.dim_value() < 0 || dim.dim_value() > kMaxElements)
      return emitError(loc) << what << " has invalid dimension " << dim.dim_value();
    if (dim.dim_value() && count > kMaxElements / dim.dim_value())
      return emitError(loc) << what << " has more than " << kMaxElements
                            << " elements (over-large shape)";
    count *= dim.dim_value();
    shape.push_back(dim.dim_value());
  }
  return RankedTensorType::get(shape, elem);
}

//===----------------------------------------------------------------------===//
// Constants and initializers
//===----------------------------------------------------------------------===//

/// The values of an integer dense_resource blob (initializers of 1 KiB and more).
static std::optional<SmallVector<int64_t>> resourceInts(DenseResourceElementsAttr attr) {
  Type elem = attr.getType().getElementType();
  auto widen = [](auto values) -> std::optional<SmallVector<int64_t>> {
    if (!values)
      return std::nullopt;
    return SmallVector<int64_t>(values->begin(), values->end());
  };
  if (elem.isInteger(64))
    return widen(cast<DenseI64ResourceElementsAttr>(attr).tryGetAsArrayRef());
  if (elem.isInteger(32))
    return widen(cast<DenseI32ResourceElementsAttr>(attr).tryGetAsArrayRef());
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> GraphImporter::constantInts(Value value) {
  auto cst = value ? value.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (auto resource = cst ? dyn_cast<DenseResourceElementsAttr>(cst.getValue()) : nullptr)
    return resourceInts(resource);
  auto dense = cst ? dyn_cast<DenseIntElementsAttr>(cst.getValue()) : nullptr;
  if (!dense)
    return std::nullopt;
  SmallVector<int64_t> ints;
  for (const APInt &v : dense.getValues<APInt>())
    ints.push_back(v.getBitWidth() == 1 ? v.getZExtValue() : v.getSExtValue());
  return ints;
}

Value GraphImporter::scalar(Location loc, Type elemType, double value) {
  if (auto floatType = dyn_cast<FloatType>(elemType))
    return arith::ConstantOp::create(builder, loc, builder.getFloatAttr(floatType, value));
  return arith::ConstantOp::create(builder, loc,
                                   builder.getIntegerAttr(elemType, int64_t(value)));
}

/// Bytes per element of an ONNX tensor stored as raw data.
static int64_t rawElementBytes(Type elem) {
  return elem.isInteger(1) ? 1 : elem.getIntOrFloatBitWidth() / 8;
}

Value GraphImporter::rawData(StringRef bytes, RankedTensorType type, StringRef name,
                             std::function<void()> release, Location loc) {
  Type elem = type.getElementType();
  // ONNX stores bools one per byte; MLIR's dense i1 storage is different: convert.
  if (elem.isInteger(1)) {
    SmallVector<bool> bits(bytes.begin(), bytes.end());
    release();
    return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(type, bits));
  }
  if (bytes.size() < options.resourceThresholdBytes) {
    auto attr = DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(bytes.data(), bytes.size()));
    release();
    return arith::ConstantOp::create(builder, loc, attr);
  }
  size_t align = rawElementBytes(elem);
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % align == 0) {
    // Zero copy: the blob keeps the mapped file (or the protobuf's string) alive.
    blob = AsmResourceBlob(ArrayRef<char>(bytes.data(), bytes.size()), align,
                           [release](void *, size_t, size_t) { release(); },
                           /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes.data(), bytes.size()), align);
    release();
  }
  std::string blobName = name.empty() ? "onnx_constant" : name.str();
  return arith::ConstantOp::create(
      builder, loc, DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
}

FailureOr<Value> GraphImporter::externalData(onnx::TensorProto &tensor, RankedTensorType type,
                                             Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if (entry.key() == "offset" && !StringRef(entry.value()).getAsInteger(10, offset)) {
    } else if (entry.key() == "length" && !StringRef(entry.value()).getAsInteger(10, length)) {
    }
  }
  int64_t expected = type.getNumElements() * rawElementBytes(type.getElementType());
  if (location.empty())
    return emitError(loc) << "initializer '" << tensor.name()
                          << "' has external data without a location";
  SmallString<256> path(modelDir);
  llvm::sys::path::append(path, location);
  if (length < 0)
    length = expected;
  if (length != expected)
    return emitError(loc) << "initializer '" << tensor.name() << "' declares " << length
                          << " bytes of external data, its shape needs " << expected;
  // A mapping past the end of the file would fault (SIGBUS) when read: check first.
  uint64_t fileSize = 0;
  if (!llvm::sys::fs::file_size(path, fileSize) &&
      (offset < 0 || uint64_t(offset) + uint64_t(length) > fileSize))
    return emitError(loc) << "initializer '" << tensor.name() << "' needs " << length
                          << " bytes at offset " << offset << " of external data file '"
                          << path << "', which holds only " << fileSize << " bytes";
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, length, offset, /*IsVolatile=*/false);
  if (!buffer)
    return emitError(loc) << "initializer '" << tensor.name() << "': cannot read " << length
                          << " bytes at offset " << offset << " of external data file '"
                          << path << "': " << buffer.getError().message();
  std::shared_ptr<llvm::MemoryBuffer> mapped = std::move(*buffer);
  return rawData(mapped->getBuffer(), type, tensor.name(), [mapped]() mutable { mapped.reset(); },
                 loc);
}

FailureOr<Value> GraphImporter::typedFieldData(const onnx::TensorProto &tensor,
                                               RankedTensorType type, Location loc) {
  Type elem = type.getElementType();
  int64_t n = type.getNumElements();
  auto checkCount = [&](int64_t have) -> LogicalResult {
    if (have == n)
      return success();
    return emitError(loc) << "tensor '" << tensor.name() << "' holds " << have
                          << " values, its shape needs " << n;
  };
  if (isa<FloatType>(elem) && tensor.data_type() != onnx::TensorProto::FLOAT16 &&
      tensor.data_type() != onnx::TensorProto::BFLOAT16) {
    SmallVector<APFloat> values;
    if (elem.isF64()) {
      for (double v : tensor.double_data()) values.push_back(APFloat(v));
    } else {
      for (float v : tensor.float_data()) values.push_back(APFloat(v));
    }
    if (failed(checkCount(values.size())))
      return failure();
    return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(type, values)).getResult();
  }
  // Integers, bools and 16-bit floats (as their bit patterns in int32_data).
  SmallVector<APInt> values;
  unsigned width = elem.getIntOrFloatBitWidth();
  if (tensor.data_type() == onnx::TensorProto::INT64) {
    for (int64_t v : tensor.int64_data()) values.push_back(APInt(64, v, /*isSigned=*/true));
  } else if (tensor.data_type() == onnx::TensorProto::UINT64 ||
             tensor.data_type() == onnx::TensorProto::UINT32) {
    for (uint64_t v : tensor.uint64_data()) values.push_back(APInt(width, v));
  } else {
    for (int32_t v : tensor.int32_data())
      values.push_back(APInt(width, static_cast<uint64_t>(v), /*isSigned=*/false,
                             /*implicitTrunc=*/true));
  }
  if (failed(checkCount(values.size())))
    return failure();
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> floats;
    for (const APInt &bits : values)
      floats.push_back(APFloat(cast<FloatType>(elem).getFloatSemantics(), bits));
    return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(type, floats)).getResult();
  }
  return arith::ConstantOp::create(builder, loc, DenseElementsAttr::get(type, values)).getResult();
}

FailureOr<Value> GraphImporter::importTensor(onnx::TensorProto &tensor, Location loc) {
  Type elem = elementType(tensor.data_type());
  if (!elem)
    return emitError(loc) << "tensor '" << tensor.name() << "' has unsupported element type "
                          << onnxTypeName(tensor.data_type());
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || dim > kMaxElements || (dim && count > kMaxElements / dim))
      return emitError(loc) << "tensor '" << tensor.name() << "' has an invalid or over-large "
                               "dimension "
                            << dim;
    count *= dim;
    shape.push_back(dim);
  }
  auto type = RankedTensorType::get(shape, elem);
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
    return externalData(tensor, type, loc);
  if (tensor.has_raw_data()) {
    int64_t expected = count * rawElementBytes(elem);
    if (int64_t(tensor.raw_data().size()) != expected)
      return emitError(loc) << "tensor '" << tensor.name() << "' has "
                            << tensor.raw_data().size() << " bytes of raw data, its shape needs "
                            << expected;
    // Take the bytes out of the protobuf instead of copying them.
    std::shared_ptr<std::string> bytes(tensor.release_raw_data());
    return rawData(*bytes, type, tensor.name(), [bytes]() mutable { bytes.reset(); }, loc);
  }
  return typedFieldData(tensor, type, loc);
}

//===----------------------------------------------------------------------===//
// Tensor building helpers
//===----------------------------------------------------------------------===//

SmallVector<OpFoldResult> GraphImporter::mixedSizes(Location loc, Value tensor) {
  return tensor::getMixedSizes(builder, loc, tensor);
}

Value GraphImporter::emptyTensor(Location loc, ArrayRef<int64_t> shape, Type elemType,
                                 ValueRange dynDims) {
  return tensor::EmptyOp::create(builder, loc, shape, elemType, dynDims);
}

FailureOr<Value> GraphImporter::elementwise(const Node &node, ValueRange operands,
                                            Type resultElemType, ScalarBodyFn body) {
  Location loc = node.loc;
  int64_t rank = 0;
  for (Value v : operands)
    rank = std::max(rank, cast<RankedTensorType>(v.getType()).getRank());
  // Result dims by numpy broadcasting, right-aligned. A dynamic dim is assumed to
  // match the other operands (as ONNX exporters guarantee for sequence/batch dims).
  SmallVector<int64_t> shape(rank, 1);
  SmallVector<Value> dimSource(rank); // operand that provides a dynamic result dim
  SmallVector<int64_t> dimSourceIndex(rank, -1);
  for (Value v : operands) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - type.getRank();
    for (int64_t i = 0; i < type.getRank(); ++i) {
      int64_t d = type.getDimSize(i), &r = shape[offset + i];
      if (d == 1)
        continue;
      if (ShapedType::isDynamic(d)) {
        if (r == 1) {
          r = ShapedType::kDynamic;
          dimSource[offset + i] = v;
          dimSourceIndex[offset + i] = i;
        }
        continue;
      }
      if (r != 1 && !ShapedType::isDynamic(r) && r != d)
        return error(node, "operands cannot be broadcast together: dimension ")
               << r << " vs " << d << " at result axis " << offset + i;
      r = d;
    }
  }
  SmallVector<Value> dynDims;
  for (int64_t i = 0; i < rank; ++i)
    if (ShapedType::isDynamic(shape[i]))
      dynDims.push_back(tensor::DimOp::create(builder, loc, dimSource[i], dimSourceIndex[i]));

  SmallVector<AffineMap> maps;
  for (Value v : operands) {
    auto type = cast<RankedTensorType>(v.getType());
    int64_t offset = rank - type.getRank();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < type.getRank(); ++i)
      exprs.push_back(type.getDimSize(i) == 1 && shape[offset + i] != 1
                          ? builder.getAffineConstantExpr(0)
                          : builder.getAffineDimExpr(offset + i));
    maps.push_back(AffineMap::get(rank, 0, exprs, builder.getContext()));
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Value init = emptyTensor(loc, shape, resultElemType, dynDims);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, init.getType(), operands, init, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        linalg::YieldOp::create(b, l, body(b, l, args.drop_back()));
      });
  return generic.getResult(0);
}

/// Reduces `x` over `dims` starting from `init`, keeping reduced dims as size 1 when
/// `keepDims`.
Value GraphImporter::reduce(Location loc, Value x, ArrayRef<int64_t> dims, bool keepDims,
                            double init, CombineFn combine) {
  OpBuilder &b = builder;
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape;
  SmallVector<Value> dynDims;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(dims, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (reduced) {
      if (keepDims) {
        shape.push_back(1);
        outExprs.push_back(b.getAffineConstantExpr(0));
      }
      continue;
    }
    shape.push_back(type.getDimSize(d));
    outExprs.push_back(b.getAffineDimExpr(d));
    if (type.isDynamicDim(d))
      dynDims.push_back(tensor::DimOp::create(b, loc, x, d));
  }
  Type elem = type.getElementType();
  Value empty = emptyTensor(loc, shape, elem, dynDims);
  Value filled = linalg::FillOp::create(b, loc, scalar(loc, elem, init), empty).getResult(0);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              AffineMap::get(rank, 0, outExprs, b.getContext())};
  return linalg::GenericOp::create(b, loc, filled.getType(), x, filled, maps, iterators,
                                   [&](OpBuilder &nb, Location l, ValueRange args) {
                                     linalg::YieldOp::create(nb, l, combine(nb, l, args[0], args[1]));
                                   })
      .getResult(0);
}

Value GraphImporter::castScalar(OpBuilder &b, Location loc, Value v, int32_t from, int32_t to) {
  Type src = v.getType(), dst = elementType(to);
  if (src == dst)
    return v;
  bool srcFloat = isa<FloatType>(src), dstFloat = isa<FloatType>(dst);
  if (srcFloat && dstFloat) {
    if (src.getIntOrFloatBitWidth() == dst.getIntOrFloatBitWidth()) // bf16 <-> f16
      v = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
    return v.getType().getIntOrFloatBitWidth() < dst.getIntOrFloatBitWidth()
               ? arith::ExtFOp::create(b, loc, dst, v).getResult()
               : arith::TruncFOp::create(b, loc, dst, v).getResult();
  }
  if (srcFloat) {
    if (dst.isInteger(1)) // ONNX: any non-zero value is true
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                   arith::ConstantOp::create(b, loc, b.getFloatAttr(src, 0)));
    return isUnsignedOnnxType(to) ? arith::FPToUIOp::create(b, loc, dst, v).getResult()
                                  : arith::FPToSIOp::create(b, loc, dst, v).getResult();
  }
  bool srcUnsigned = isUnsignedOnnxType(from) || src.isInteger(1);
  if (dstFloat)
    return srcUnsigned ? arith::UIToFPOp::create(b, loc, dst, v).getResult()
                       : arith::SIToFPOp::create(b, loc, dst, v).getResult();
  if (dst.isInteger(1))
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                 arith::ConstantOp::create(b, loc, b.getIntegerAttr(src, 0)));
  unsigned sw = src.getIntOrFloatBitWidth(), dw = dst.getIntOrFloatBitWidth();
  if (sw > dw)
    return arith::TruncIOp::create(b, loc, dst, v);
  return srcUnsigned ? arith::ExtUIOp::create(b, loc, dst, v).getResult()
                     : arith::ExtSIOp::create(b, loc, dst, v).getResult();
}

//===----------------------------------------------------------------------===//
// Graphs and nodes
//===----------------------------------------------------------------------===//

static ConverterTable allConverters() {
  ConverterTable table;
  registerElementwiseOps(table);
  registerLinalgOps(table);
  registerReductionOps(table);
  registerShapeOps(table);
  registerQuantOps(table);
  registerControlFlowOps(table);
  return table;
}

GraphImporter::GraphImporter(MLIRContext &context, const ImportOptions &options,
                             std::string modelDir)
    : builder(&context), options(options), modelDir(std::move(modelDir)),
      converters(allConverters()) {}

static std::string nodeDisplayName(const onnx::NodeProto &node, size_t index) {
  return node.name().empty() ? "#" + std::to_string(index) : node.name();
}

InFlightDiagnostic GraphImporter::error(const Node &node, const Twine &message) {
  return emitError(node.loc) << "node '" << node.displayName << "' (" << node.opType()
                             << ", opset " << node.opset << "): " << message;
}

const onnx::TypeProto *GraphImporter::onnxType(StringRef name) const {
  for (auto scope = valueTypes.rbegin(); scope != valueTypes.rend(); ++scope) {
    auto it = scope->find(name);
    if (it != scope->end())
      return it->second;
  }
  return nullptr;
}

std::optional<OnnxValue> GraphImporter::lookup(StringRef name) const {
  for (auto scope = scopes.rbegin(); scope != scopes.rend(); ++scope) {
    auto it = scope->find(name);
    if (it != scope->end())
      return it->second;
  }
  return std::nullopt;
}

static bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

static int defaultOpset(const onnx::ModelProto &model) {
  int opset = 0;
  for (const onnx::OperatorSetIdProto &opsetId : model.opset_import())
    if (isDefaultDomain(opsetId.domain()))
      opset = opsetId.version();
  return opset;
}

/// Nodes against their schemas: the number of inputs, a required attribute missing, an
/// attribute of another type (an INT where the schema has INTS). libonnx's shape
/// inference functions and our converters do not all check these before they read (Scan's
/// dereferenced a missing num_scan_inputs, Pow its missing exponent).
static LogicalResult checkAgainstSchemas(MLIRContext *ctx, const onnx::GraphProto &graph,
                                         int64_t opset) {
  bool ok = true;
  for (const onnx::NodeProto &node : graph.node()) {
    Location loc = NameLoc::get(StringAttr::get(ctx, node.name()));
    auto fail = [&]() -> InFlightDiagnostic {
      ok = false;
      return emitError(loc) << "node '" << node.name() << "' (" << node.op_type() << ", opset "
                            << opset << "): ";
    };
    const onnx::OpSchema *schema =
        isDefaultDomain(node.domain())
            ? onnx::OpSchemaRegistry::Schema(node.op_type(), int(opset), "")
            : nullptr;
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.has_g() && failed(checkAgainstSchemas(ctx, attr.g(), opset)))
        ok = false;
      if (!schema || !attr.ref_attr_name().empty() ||
          attr.type() == onnx::AttributeProto::UNDEFINED)
        continue;
      auto known = schema->attributes().find(attr.name());
      if (known != schema->attributes().end() && known->second.type != attr.type())
        fail() << "attribute '" << attr.name() << "' is "
               << onnx::AttributeProto_AttributeType_Name(attr.type()) << ", the schema says "
               << onnx::AttributeProto_AttributeType_Name(known->second.type);
    }
    if (!schema)
      continue;
    if (node.input_size() < schema->min_input() || node.input_size() > schema->max_input())
      fail() << node.input_size() << " inputs, the schema takes " << schema->min_input()
             << (schema->max_input() == schema->min_input()
                     ? std::string()
                     : " to " + std::to_string(schema->max_input()));
    for (const auto &entry : schema->attributes())
      if (entry.second.required &&
          llvm::none_of(node.attribute(), [&](const onnx::AttributeProto &attr) {
            return attr.name() == entry.first;
          }))
        fail() << "required attribute '" << entry.first << "' is missing";
  }
  return success(ok);
}

LogicalResult GraphImporter::checkModel(const onnx::ModelProto &model) {
  opset = defaultOpset(model);
  return checkGraph(model.graph(), {});
}

LogicalResult GraphImporter::checkGraph(const onnx::GraphProto &graph,
                                        llvm::StringSet<> defined) {
  bool ok = true;
  MLIRContext *ctx = builder.getContext();
  for (const onnx::ValueInfoProto &input : graph.input())
    defined.insert(input.name());
  for (const onnx::TensorProto &init : graph.initializer())
    defined.insert(init.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto &node = graph.node(i);
    auto it = converters.find(node.op_type());
    std::string name = nodeDisplayName(node, i);
    Location loc = NameLoc::get(StringAttr::get(ctx, name));
    if (!isDefaultDomain(node.domain())) {
      emitError(loc) << "unsupported op " << node.domain() << "." << node.op_type()
                     << " at node '" << name << "' (custom domain)";
      ok = false;
    } else if (it == converters.end()) {
      emitError(loc) << "unsupported op " << node.op_type() << " at node '" << name
                     << "' (opset " << opset << ")";
      ok = false;
    } else if (opset < it->second.sinceOpset || opset > it->second.untilOpset) {
      emitError(loc) << "unsupported op " << node.op_type() << " at node '" << name
                     << "' (opset " << opset << "; supported: opsets "
                     << it->second.sinceOpset << " to " << it->second.untilOpset << ")";
      ok = false;
    }
    // Shape inference would fail on an undefined input without naming it.
    for (const std::string &input : node.input()) {
      if (input.empty() || defined.contains(input))
        continue;
      emitError(loc) << "node '" << name << "' (" << node.op_type() << ", opset " << opset
                     << "): input '" << input
                     << "' is neither a graph input, an initializer nor an earlier node's output";
      ok = false;
    }
    for (const onnx::AttributeProto &attr : node.attribute())
      if (attr.has_g() && failed(checkGraph(attr.g(), defined)))
        ok = false;
    for (const std::string &output : node.output())
      defined.insert(output);
  }
  return success(ok);
}

LogicalResult GraphImporter::importNode(onnx::NodeProto &proto, size_t index) {
  MLIRContext *ctx = builder.getContext();
  std::string name = nodeDisplayName(proto, index);
  Node node{proto, opset, NameLoc::get(StringAttr::get(ctx, name)), {}, {}, name};
  for (const std::string &input : proto.input()) {
    if (input.empty()) {
      node.inputs.push_back({});
      continue;
    }
    std::optional<OnnxValue> value = lookup(input);
    if (!value)
      return error(node, "input '") << input << "' is neither a graph input, an "
                                               "initializer nor an earlier node's output";
    node.inputs.push_back(*value);
  }
  for (const std::string &output : proto.output()) {
    const onnx::TypeProto *type = onnxType(output);
    node.outputTypes.push_back(type && type->has_tensor_type() ? type->tensor_type().elem_type()
                                                               : 0);
  }
  FailureOr<SmallVector<OnnxValue>> results = failure();
  if (std::optional<SmallVector<OnnxValue>> folded = foldIntegerNode(*this, node))
    results = std::move(*folded);
  else
    results = converters.at(proto.op_type()).convert(*this, node);
  if (failed(results))
    return failure();
  for (auto [i, output] : llvm::enumerate(proto.output())) {
    if (output.empty())
      continue;
    if (i >= results->size() || !(*results)[i].value)
      return error(node, "output '") << output << "' (#" << i << ") is not supported";
    OnnxValue result = (*results)[i];
    // Shape inference may know more (static dims) than the converter derived; take it
    // when compatible, reject it when not.
    const onnx::TypeProto *type = onnxType(output);
    if (type && type->has_tensor_type() && type->tensor_type().has_shape()) {
      auto inferred = tensorType(*type, node.loc, "output '" + output + "'");
      if (failed(inferred))
        return failure();
      auto actual = cast<RankedTensorType>(result.value.getType());
      if (failed(verifyCompatibleShape(*inferred, actual)) ||
          inferred->getElementType() != actual.getElementType())
        return error(node, "output '") << output << "' is " << actual
                                       << " but ONNX shape inference says " << *inferred;
      // Keep every dim either side knows statically (inference may know less, e.g.
      // for an Expand whose shape it could not evaluate).
      SmallVector<int64_t> joined(actual.getShape());
      for (auto [d, size] : llvm::enumerate(inferred->getShape()))
        if (ShapedType::isDynamic(joined[d]))
          joined[d] = size;
      auto joinedType = RankedTensorType::get(joined, actual.getElementType());
      if (joinedType != actual)
        result.value = tensor::CastOp::create(builder, node.loc, joinedType, result.value);
    }
    if (!result.elemType)
      result.elemType = node.outputTypes[i] ? node.outputTypes[i]
                                            : onnxElemTypeOf(getElementTypeOrSelf(result.value));
    bind(output, result);
  }
  return success();
}

LogicalResult GraphImporter::importNodes(onnx::GraphProto &graph) {
  for (const onnx::ValueInfoProto &info : graph.value_info())
    valueTypes.back()[info.name()] = &info.type();
  for (const onnx::ValueInfoProto &info : graph.output())
    valueTypes.back().try_emplace(info.name(), &info.type());
  for (onnx::TensorProto &init : *graph.mutable_initializer()) {
    Location loc = NameLoc::get(builder.getStringAttr(init.name()));
    FailureOr<Value> value = importTensor(init, loc);
    if (failed(value))
      return failure();
    bind(init.name(), {*value, init.data_type()});
  }
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(*graph.mutable_node(i), i)))
      return failure();
  return success();
}

FailureOr<SmallVector<OnnxValue>>
GraphImporter::importBody(onnx::GraphProto &graph, const llvm::StringMap<OnnxValue> &bound) {
  scopes.emplace_back(bound);
  valueTypes.emplace_back();
  llvm::scope_exit popScope([&] {
    scopes.pop_back();
    valueTypes.pop_back();
  });
  if (failed(importNodes(graph)))
    return failure();
  SmallVector<OnnxValue> outputs;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    std::optional<OnnxValue> value = lookup(output.name());
    if (!value)
      return emitError(NameLoc::get(builder.getStringAttr(output.name())))
             << "graph '" << graph.name() << "' output '" << output.name()
             << "' is never computed";
    outputs.push_back(*value);
  }
  return outputs;
}

LogicalResult GraphImporter::importMainGraph(onnx::ModelProto &model, ModuleOp module) {
  onnx::GraphProto &graph = *model.mutable_graph();

  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes, resultTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializerNames.contains(input.name()))
      continue; // IR < 4 style: initializers listed as inputs
    auto type = tensorType(input.type(), NameLoc::get(builder.getStringAttr(input.name())),
                           "graph input '" + input.name() + "'");
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    args.push_back(&input);
  }
  for (const onnx::ValueInfoProto &output : graph.output()) {
    auto type = tensorType(output.type(), NameLoc::get(builder.getStringAttr(output.name())),
                           "graph output '" + output.name() + "'");
    if (failed(type))
      return failure();
    resultTypes.push_back(*type);
  }

  builder.setInsertionPointToEnd(module.getBody());
  Location funcLoc = NameLoc::get(builder.getStringAttr(graph.name().empty() ? "main_graph"
                                                                             : graph.name()));
  auto func = func::FuncOp::create(builder, funcLoc, options.entryName,
                                   builder.getFunctionType(argTypes, resultTypes));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  llvm::StringMap<OnnxValue> bound;
  for (auto [arg, info] : llvm::zip_equal(entry->getArguments(), args)) {
    bound[info->name()] = {arg, info->type().tensor_type().elem_type()};
    arg.setLoc(NameLoc::get(builder.getStringAttr(info->name())));
  }
  // Names and ONNX element types (signedness included) for the C API and the runtime.
  // Symbolic dim names (dim_params), so the runtime can check that inputs agree on them.
  auto dimNames = [&](const onnx::TypeProto &type) {
    SmallVector<Attribute> names;
    for (const auto &dim : type.tensor_type().shape().dim())
      names.push_back(builder.getStringAttr(dim.has_dim_param() ? dim.dim_param() : ""));
    return builder.getArrayAttr(names);
  };
  for (auto [i, info] : llvm::enumerate(args)) {
    func.setArgAttr(i, "onnx.dim_names", dimNames(info->type()));
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(info->name()));
    func.setArgAttr(i, "onnx.elem_type",
                    builder.getI32IntegerAttr(info->type().tensor_type().elem_type()));
  }
  for (auto [i, info] : llvm::enumerate(graph.output())) {
    func.setResultAttr(i, "onnx.name", builder.getStringAttr(info.name()));
    func.setResultAttr(i, "onnx.elem_type",
                       builder.getI32IntegerAttr(info.type().tensor_type().elem_type()));
  }

  FailureOr<SmallVector<OnnxValue>> outputs = importBody(graph, bound);
  if (failed(outputs))
    return failure();
  SmallVector<Value> results;
  for (auto [value, type, info] : llvm::zip_equal(*outputs, resultTypes, graph.output())) {
    Value result = value.value;
    auto declared = cast<RankedTensorType>(type);
    auto actual = cast<RankedTensorType>(result.getType());
    Location loc = NameLoc::get(builder.getStringAttr(info.name()));
    if (declared.getElementType() != actual.getElementType() ||
        failed(verifyCompatibleShape(declared, actual)))
      return emitError(loc) << "graph output '" << info.name() << "' is declared " << declared
                            << " but computes " << actual;
    if (declared != actual)
      result = tensor::CastOp::create(builder, loc, declared, result);
    results.push_back(result);
  }
  func::ReturnOp::create(builder, funcLoc, results);
  return success();
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

/// Parses a binary ModelProto; on failure reports the byte offset parsing stopped at.
static LogicalResult parseBinaryModel(MLIRContext &ctx, StringRef path, StringRef bytes,
                                      onnx::ModelProto &model) {
  google::protobuf::io::CodedInputStream stream(
      reinterpret_cast<const uint8_t *>(bytes.data()), static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(INT_MAX);
  Location loc = FileLineColLoc::get(&ctx, path, 0, 0);
  if (!model.MergeFromCodedStream(&stream) || !stream.ConsumedEntireMessage())
    return emitError(loc) << "'" << path << "' is not a valid ONNX model: protobuf parsing "
                          << "failed near byte offset " << stream.CurrentPosition() << " of "
                          << bytes.size() << " (truncated or corrupt file?)";
  if (!model.has_graph())
    return emitError(loc) << "'" << path << "' has no graph: not an ONNX model";
  return success();
}

/// Names unnamed nodes as diagnostics do (`#<index>`), so that ONNX shape inference
/// errors name the node too.
static void nameUnnamedNodes(onnx::GraphProto &graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    onnx::NodeProto &node = *graph.mutable_node(i);
    if (node.name().empty())
      node.set_name(nodeDisplayName(node, i));
    for (onnx::AttributeProto &attr : *node.mutable_attribute())
      if (attr.has_g())
        nameUnnamedNodes(*attr.mutable_g());
  }
}

OwningOpRef<ModuleOp> mfc::importOnnxFile(MLIRContext &ctx, StringRef path,
                                          const ImportOptions &options) {
  ctx.loadDialect<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect,
                  tern::TernDialect>();
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  bool isText = path.ends_with(".onnxtxt");
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/false,
                                                   /*RequiresNullTerminator=*/isText);
  if (!buffer) {
    emitError(fileLoc) << "cannot read '" << path << "': " << buffer.getError().message();
    return nullptr;
  }
  onnx::ModelProto model;
  if (isText) {
    onnx::OnnxParser parser((*buffer)->getBufferStart());
    // The parser reports most errors in its status, but a malformed or out-of-range
    // number escapes as the exception of the std::sto* call that read it.
    bool parsed = false;
    std::string error;
    try {
      auto status = parser.Parse(model);
      parsed = status.IsOK();
      error = status.ErrorMessage();
    } catch (const std::exception &e) {
      error = e.what();
    }
    if (!parsed) {
      emitError(fileLoc) << "cannot parse ONNX text '" << path << "': " << error;
      return nullptr;
    }
  } else if (failed(parseBinaryModel(ctx, path, (*buffer)->getBuffer(), model))) {
    return nullptr;
  }
  buffer->reset(); // the model owns copies of what it needs now

  if (defaultOpset(model) == 0) {
    emitError(fileLoc) << "'" << path << "' imports no opset of the default ONNX domain "
                       << "(opset_import missing: truncated or corrupt file?)";
    return nullptr;
  }
  // Unsupported ops and undefined names first: shape inference reports them poorly.
  std::string modelDir = llvm::sys::path::parent_path(path).str();
  GraphImporter importer(ctx, options, modelDir);
  nameUnnamedNodes(*model.mutable_graph());
  if (failed(importer.checkModel(model)) || failed(adaptToInferenceOpset(ctx, model)) ||
      failed(checkAgainstSchemas(&ctx, model.graph(), defaultOpset(model))))
    return nullptr;

  try {
    onnx::ShapeInferenceOptions inference(/*check_type=*/true, /*error_mode=*/1,
                                          /*data_prop=*/true);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(), inference);
  } catch (const std::exception &e) {
    emitError(fileLoc) << "ONNX shape inference failed for '" << path
                       << "': " << StringRef(e.what()).rtrim();
    return nullptr;
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  if (failed(importer.importMainGraph(model, *module)))
    return nullptr;
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

std::vector<SupportedOp> mfc::supportedOnnxOps() {
  std::vector<SupportedOp> ops;
  for (auto &entry : allConverters())
    ops.push_back({entry.getKey().str(), entry.second.sinceOpset, entry.second.untilOpset});
  llvm::sort(ops, [](const SupportedOp &a, const SupportedOp &b) { return a.opType < b.opType; });
  return ops;
}

void mfc::registerImportDialects(DialectRegistry &registry) {
  registry.insert<arith::ArithDialect, func::FuncDialect, linalg::LinalgDialect,
                  math::MathDialect, scf::SCFDialect, tensor::TensorDialect,
                  tern::TernDialect>();
}
