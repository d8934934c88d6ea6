// The no_regression gate of the coordinator (job_table.hpp NeedGate): one
// store query per decision, in the writer's transaction. An outage throws
// (the turn is undone and the job settled again after recovery); any other
// failure to read the facts is a verdict: the need cannot be judged.
#pragma once

#include "coordinator/gate.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class StoreGate final : public NeedGate {
 public:
  explicit StoreGate(EvaluationRecords& store) : store_(store) {}
  GateVerdict judge(const Job& job, uint64_t need_id) override;

 private:
  EvaluationRecords& store_;
};

}  // namespace yardstick
