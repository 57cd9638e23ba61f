//===- Importer.h - ONNX importer internals ---------------------*- C++ -*-===//
//
// Shared by the graph importer and the per-family op converters (ops/*.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef MFC_LIB_IMPORT_IMPORTER_H
#define MFC_LIB_IMPORT_IMPORTER_H

#include "mfc/Import/OnnxImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <onnx/onnx_pb.h>

#include <functional>
#include <optional>

namespace mfc::onnx_import {

class GraphImporter;

/// An imported ONNX value: the MLIR tensor and its ONNX element type (which keeps the
/// signedness that signless MLIR integers drop).
struct OnnxValue {
  mlir::Value value;
  int32_t elemType = 0;
};

/// What a converter sees of one ONNX node.
struct Node {
  const onnx::NodeProto &proto;
  int opset;
  mlir::Location loc;
  llvm::SmallVector<OnnxValue> inputs;     ///< null value for an omitted optional input
  llvm::SmallVector<int32_t> outputTypes;  ///< inferred ONNX element types, 0 if unknown

  const std::string &opType() const { return proto.op_type(); }
  /// The node's name, or `#<index>` for an unnamed node.
  std::string displayName;

  mlir::Value input(size_t i) const {
    return i < inputs.size() ? inputs[i].value : mlir::Value();
  }
  int32_t inputType(size_t i) const { return i < inputs.size() ? inputs[i].elemType : 0; }
  size_t numOutputs() const { return proto.output_size(); }

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t defaultValue) const;
  float getFloat(llvm::StringRef name, float defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>> getInts(llvm::StringRef name) const;
};

/// A converter builds MLIR for one node at the builder's insertion point and returns
/// one value per ONNX output (a null value for an output it does not produce), or
/// failure after emitting a diagnostic.
using ConvertFn = std::function<mlir::FailureOr<llvm::SmallVector<OnnxValue>>(
    GraphImporter &, const Node &)>;

/// The newest default-domain opset the importer accepts (the newest that onnx 1.23
/// defines), and the newest one libonnx 1.12's schemas, used for shape inference, know.
constexpr int kLatestOpset = 28;
constexpr int kInferenceOpset = 17;

/// Rewrites the nodes of a model newer than kInferenceOpset whose signature changed
/// since then into their kInferenceOpset spelling (the same computation), and sets the
/// model's default-domain opset to kInferenceOpset, so that libonnx's shape inference
/// applies. Fails, after a diagnostic naming the node, where no such spelling exists.
mlir::LogicalResult adaptToInferenceOpset(mlir::MLIRContext &ctx, onnx::ModelProto &model);

/// Evaluates `node` at import time when it computes a small integer tensor from
/// constants (shape subgraphs: Shape of static dims, Gather, Slice, Concat, Unsqueeze,
/// Cast, Add, Div, Range, ...); the result is one arith.constant per output.
std::optional<llvm::SmallVector<OnnxValue>> foldIntegerNode(GraphImporter &importer,
                                                            const Node &node);

struct Converter {
  ConvertFn convert;
  int sinceOpset;
  int untilOpset;
};
using ConverterTable = llvm::StringMap<Converter>;

void registerElementwiseOps(ConverterTable &table);
void registerLinalgOps(ConverterTable &table);
void registerReductionOps(ConverterTable &table);
void registerShapeOps(ConverterTable &table);
void registerQuantOps(ConverterTable &table);
void registerControlFlowOps(ConverterTable &table);

/// Body of an element-wise op: scalar block arguments in, one scalar out.
using ScalarBodyFn = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                    mlir::ValueRange)>;

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &context, const ImportOptions &options,
                std::string modelDir);

  mlir::OpBuilder builder;

  /// Error at the node, prefixed with its name, op type and opset.
  mlir::InFlightDiagnostic error(const Node &node, const llvm::Twine &message);

  /// MLIR element type of an ONNX element type; null for unsupported ones.
  mlir::Type elementType(int32_t onnxType);

  /// A tensor type from an ONNX type; dim params and unknown dims become dynamic.
  mlir::FailureOr<mlir::RankedTensorType> tensorType(const onnx::TypeProto &type,
                                                     mlir::Location loc,
                                                     llvm::StringRef what);

  /// Constant ints held by `value` (an arith.constant), if any.
  std::optional<llvm::SmallVector<int64_t>> constantInts(mlir::Value value);

  /// The tensor an ONNX TensorProto holds; large raw data becomes a resource blob.
  mlir::FailureOr<mlir::Value> importTensor(onnx::TensorProto &tensor, mlir::Location loc);
  /// A scalar (not tensor) constant.
  mlir::Value scalar(mlir::Location loc, mlir::Type elemType, double value);

  /// Runtime sizes of `tensor`'s dims (index values).
  llvm::SmallVector<mlir::OpFoldResult> mixedSizes(mlir::Location loc, mlir::Value tensor);
  /// tensor.empty of `shape` with dynamic dims from `dynDims` (in order).
  mlir::Value emptyTensor(mlir::Location loc, llvm::ArrayRef<int64_t> shape,
                          mlir::Type elemType, mlir::ValueRange dynDims);

  /// Element-wise op over `operands` with ONNX (numpy) multidirectional broadcasting.
  mlir::FailureOr<mlir::Value> elementwise(const Node &node, mlir::ValueRange operands,
                                           mlir::Type resultElemType, ScalarBodyFn body);

  using CombineFn = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                                   mlir::Value element, mlir::Value acc)>;
  /// Reduces `x` over `dims` from `init`; reduced dims stay as size 1 if `keepDims`.
  mlir::Value reduce(mlir::Location loc, mlir::Value x, llvm::ArrayRef<int64_t> dims,
                     bool keepDims, double init, CombineFn combine);

  /// The ONNX type (from the model or shape inference) of a named value, if known.
  const onnx::TypeProto *onnxType(llvm::StringRef name) const;

  /// Converts a scalar between element types with ONNX Cast semantics.
  mlir::Value castScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         int32_t fromOnnx, int32_t toOnnx);

  /// Imports the nodes of `graph` at the insertion point, with `bound` values visible
  /// by name on top of the enclosing scopes; returns the graph's outputs.
  mlir::FailureOr<llvm::SmallVector<OnnxValue>>
  importBody(onnx::GraphProto &graph, const llvm::StringMap<OnnxValue> &bound);

  /// Checks, before shape inference, that every op is claimed at the model's opset
  /// and that every node input is defined before the node.
  mlir::LogicalResult checkModel(const onnx::ModelProto &model);

  /// Imports the main graph of a checked model into `module` as a function.
  mlir::LogicalResult importMainGraph(onnx::ModelProto &model, mlir::ModuleOp module);

private:
  mlir::LogicalResult importNodes(onnx::GraphProto &graph);
  mlir::LogicalResult importNode(onnx::NodeProto &node, size_t index);
  mlir::LogicalResult checkGraph(const onnx::GraphProto &graph, llvm::StringSet<> defined);
  std::optional<OnnxValue> lookup(llvm::StringRef name) const;
  void bind(llvm::StringRef name, OnnxValue value) { scopes.back()[name] = value; }
  mlir::FailureOr<mlir::Value> externalData(onnx::TensorProto &tensor,
                                            mlir::RankedTensorType type,
                                            mlir::Location loc);
  mlir::FailureOr<mlir::Value> typedFieldData(const onnx::TensorProto &tensor,
                                              mlir::RankedTensorType type,
                                              mlir::Location loc);
  mlir::Value rawData(llvm::StringRef bytes, mlir::RankedTensorType type,
                      llvm::StringRef name, std::function<void()> release,
                      mlir::Location loc);

  const ImportOptions &options;
  std::string modelDir;
  int opset = 0;
  ConverterTable converters;
  std::vector<llvm::StringMap<OnnxValue>> scopes;
  /// Inferred and declared types of the named values of each graph being imported
  /// (innermost last, like `scopes`), from shape inference. They point into the graph
  /// protos, and subgraphs may reuse names: a subgraph's types leave with its scope.
  std::vector<llvm::StringMap<const onnx::TypeProto *>> valueTypes;
};

/// The ONNX element type code of an MLIR element type (for values converters create).
int32_t onnxElemTypeOf(mlir::Type type, bool isUnsigned = false);
bool isUnsignedOnnxType(int32_t onnxType);
bool isFloatOnnxType(int32_t onnxType);

/// max / min of two scalars of ONNX element type `onnxType` (NaN-propagating for floats).
mlir::Value maxOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y,
                  int32_t onnxType);
mlir::Value minOf(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y,
                  int32_t onnxType);

} // namespace mfc::onnx_import

#endif // MFC_LIB_IMPORT_IMPORTER_H
