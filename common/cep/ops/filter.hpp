#pragma once
// cep-filter: keep the records for which an expression is true (or false, with --invert).
// Matching records leave as their original bytes.

#include "cep/expr/expression.hpp"
#include "cep/operator.hpp"

namespace cep::ops {

class Filter final : public Operator {
  public:
    Filter(expr::Expression expression, bool invert)
        : expression_(std::move(expression)), invert_(invert),
          prefilter_(invert ? std::vector<std::string>{} : expression_.required_bytes()) {}

    void push(const Record& record, Emitter& out) override {
        if (expression_.test(record) != invert_) out.emit(record);
    }

    const RawPrefilter* raw_prefilter() const override { return prefilter_.empty() ? nullptr : &prefilter_; }

  private:
    expr::Expression expression_;
    bool invert_;
    RawPrefilter prefilter_;
};

} // namespace cep::ops
