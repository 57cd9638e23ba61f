//===- LowerRunTimeChecks.cpp - Run-time checks to arith and a report ----===//
//
// tern.checked_index(raw, size) {what}
//   => w = raw < 0 ? raw + size : raw;  ok = w ult size
//      [report] scf.if !ok { func.call @mfc_index_error(what, raw, size) }
//      [report, clamp] ok ? w : 0         [unchecked] w
// tern.check_equal(a, b) {what}
//   => [report] scf.if a != b { func.call @mfc_shape_error(what, a, b) }
//      [clamp, unchecked] nothing
//
//===----------------------------------------------------------------------===//
#include "mfc/Dialect/Tern/Passes.h"
#include "mfc/Dialect/Tern/TernDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace mfc::tern {
#define GEN_PASS_DEF_TERNLOWERRUNTIMECHECKS
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {
constexpr StringLiteral kIndexReport = "mfc_index_error";
constexpr StringLiteral kShapeReport = "mfc_shape_error";

struct LowerRunTimeChecksPass final
    : mfc::tern::impl::TernLowerRunTimeChecksBase<LowerRunTimeChecksPass> {
  using Base::Base;

  void runOnOperation() override {
    if (mode != "report" && mode != "clamp" && mode != "unchecked") {
      getOperation().emitError("tern-lower-run-time-checks: unknown mode '")
          << mode << "' (expected report, clamp or unchecked)";
      return signalPassFailure();
    }
    SmallVector<CheckedIndexOp> indexChecks;
    SmallVector<CheckEqualOp> shapeChecks;
    getOperation().walk([&](Operation *op) {
      if (auto check = dyn_cast<CheckedIndexOp>(op))
        indexChecks.push_back(check);
      else if (auto check = dyn_cast<CheckEqualOp>(op))
        shapeChecks.push_back(check);
    });
    for (CheckedIndexOp op : indexChecks)
      lower(op);
    for (CheckEqualOp op : shapeChecks)
      lower(op);
  }

  void lower(CheckEqualOp op) {
    if (mode == "report") {
      OpBuilder b(op);
      Value differ = arith::CmpIOp::create(b, op.getLoc(), arith::CmpIPredicate::ne,
                                           op.getActual(), op.getExpected());
      report(b, op.getLoc(), differ, kShapeReport, op.getWhat(), op.getActual(),
             op.getExpected());
    }
    op.erase();
  }

  /// scf.if `failed` { `function`(`what`, `value`, `bound`) }, the values as i64.
  void report(OpBuilder &b, Location loc, Value failed, StringRef function, StringRef what,
              Value value, Value bound) {
    scf::IfOp::create(b, loc, failed, [&](OpBuilder &tb, Location l) {
      Type i64 = tb.getI64Type();
      Value message = messageOf(tb, l, what);
      Value value64 = arith::IndexCastOp::create(tb, l, i64, value);
      Value bound64 = arith::IndexCastOp::create(tb, l, i64, bound);
      func::CallOp::create(tb, l, reportFunction(function), ValueRange{message, value64, bound64});
      scf::YieldOp::create(tb, l);
    });
  }

  void lower(CheckedIndexOp op) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    Type indexType = b.getIndexType();
    Value raw = op.getIndex();
    Value index = raw.getType().isIndex() ? raw : arith::IndexCastOp::create(b, loc, indexType, raw);
    Value size = op.getSize();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, zero);
    Value wrapped = arith::SelectOp::create(
        b, loc, negative, arith::AddIOp::create(b, loc, index, size), index);
    if (mode == "unchecked") {
      op.replaceAllUsesWith(wrapped);
      op.erase();
      return;
    }
    // Unsigned: a still-negative index is out of range too.
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, wrapped, size);
    if (mode == "report") {
      Value outOfRange = arith::XOrIOp::create(
          b, loc, inRange, arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
      report(b, loc, outOfRange, kIndexReport, op.getWhat(), index, size);
    }
    op.replaceAllUsesWith(arith::SelectOp::create(b, loc, inRange, wrapped, zero).getResult());
    op.erase();
  }

  /// `what` as a NUL-terminated constant global (one per distinct text), as memref<?xi8>.
  Value messageOf(OpBuilder &b, Location loc, StringRef what) {
    ModuleOp module = getOperation();
    memref::GlobalOp &global = messages[what];
    if (!global) {
      SmallVector<int8_t> bytes(what.begin(), what.end());
      bytes.push_back(0);
      auto type = MemRefType::get({int64_t(bytes.size())}, b.getI8Type());
      auto data = DenseElementsAttr::get(
          RankedTensorType::get(type.getShape(), type.getElementType()), ArrayRef(bytes));
      OpBuilder detached(module.getContext());
      global = memref::GlobalOp::create(detached, loc, "mfc_index_what",
                                        detached.getStringAttr("private"), type, data,
                                        /*constant=*/true, /*alignment=*/nullptr);
      // Renamed (mfc_index_what_0, ...) when the name is taken.
      SymbolTable(module).insert(global, module.getBody()->begin());
    }
    Value bytes = memref::GetGlobalOp::create(b, loc, global.getType(), global.getSymName());
    return memref::CastOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), bytes);
  }

  /// func.func private @`name`(memref<?xi8>, i64, i64), declared once.
  func::FuncOp reportFunction(StringRef name) {
    ModuleOp module = getOperation();
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Type i64 = b.getI64Type();
    auto decl = func::FuncOp::create(
        b, module.getLoc(), name,
        b.getFunctionType({MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), i64, i64}, {}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return decl;
  }

  llvm::StringMap<memref::GlobalOp> messages;
};
} // namespace
