#pragma once
// cep-filter: keep the records for which an expression is true (or false, with --invert).
// Matching records leave as their original bytes.

#include "cep/expr/expression.hpp"
#include "cep/operator.hpp"

namespace cep::ops {

class Filter final : public Operator {
  public:
    Filter(expr::Expression expression, bool invert) : expression_(std::move(expression)), invert_(invert) {}

    void push(const Record& record, Emitter& out) override {
        if (expression_.test(record) != invert_) out.emit(record);
    }

  private:
    expr::Expression expression_;
    bool invert_;
};

} // namespace cep::ops
