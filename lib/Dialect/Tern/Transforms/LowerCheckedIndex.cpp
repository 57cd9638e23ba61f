//===- LowerCheckedIndex.cpp - tern.checked_index to arith (+ a report) ---===//
//
// tern.checked_index(raw, size) {what}
//   => w = raw < 0 ? raw + size : raw;  ok = w ult size
//      [report] scf.if !ok { func.call @mfc_index_error(what, raw, size) }
//      [report, clamp] ok ? w : 0         [unchecked] w
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
#define GEN_PASS_DEF_TERNLOWERCHECKEDINDEX
#include "Tern/Passes.h.inc"
} // namespace mfc::tern

using namespace mlir;
using namespace mfc::tern;

namespace {
constexpr StringLiteral kReportFunction = "mfc_index_error";

struct LowerCheckedIndexPass final
    : mfc::tern::impl::TernLowerCheckedIndexBase<LowerCheckedIndexPass> {
  using Base::Base;

  void runOnOperation() override {
    if (mode != "report" && mode != "clamp" && mode != "unchecked") {
      getOperation().emitError("tern-lower-checked-index: unknown mode '")
          << mode << "' (expected report, clamp or unchecked)";
      return signalPassFailure();
    }
    SmallVector<CheckedIndexOp> checks;
    getOperation().walk([&](CheckedIndexOp op) { checks.push_back(op); });
    for (CheckedIndexOp op : checks)
      lower(op);
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
      scf::IfOp::create(b, loc, outOfRange, [&](OpBuilder &tb, Location l) {
        Type i64 = tb.getI64Type();
        Value message = messageOf(tb, l, op.getWhat());
        Value value = arith::IndexCastOp::create(tb, l, i64, index);
        Value bound = arith::IndexCastOp::create(tb, l, i64, size);
        func::CallOp::create(tb, l, reportFunction(), ValueRange{message, value, bound});
        scf::YieldOp::create(tb, l);
      });
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

  /// func.func private @mfc_index_error(memref<?xi8>, i64, i64), declared once.
  func::FuncOp reportFunction() {
    ModuleOp module = getOperation();
    if (auto existing = module.lookupSymbol<func::FuncOp>(kReportFunction))
      return existing;
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Type i64 = b.getI64Type();
    auto decl = func::FuncOp::create(
        b, module.getLoc(), kReportFunction,
        b.getFunctionType({MemRefType::get({ShapedType::kDynamic}, b.getI8Type()), i64, i64}, {}));
    decl.setPrivate();
    decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return decl;
  }

  llvm::StringMap<memref::GlobalOp> messages;
};
} // namespace
