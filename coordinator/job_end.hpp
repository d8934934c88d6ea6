// What a job's end is judged on: the bench's verdicts (evaluate.hpp) from
// its stored samples, and the budgets of the job and its steps. A breach
// is stored and marks the job over budget; one that fails the job turns
// its success into a failure.
#pragma once

#include <string>

#include "common/clock.hpp"
#include "coordinator/job_table.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class JobEndJudge {
 public:
  JobEndJudge(EvaluationRecords& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The state a job attempt that ended as `outcome` (at `ended_at_us` on its
  // agent's clock; 0: unknown) ends in; `message` may be set. Only a
  // success or a failure is judged; other outcomes pass as they are.
  JobState judge(Job& job, JobState outcome, std::string* message, int64_t ended_at_us);

 private:
  // The bench's verdicts, stored; its wall budget's breaches.
  std::vector<BudgetBreach> judge_bench(const Job& job);

  EvaluationRecords& store_;
  const Clock& clock_;
};

}  // namespace yardstick
