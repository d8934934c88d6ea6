// Job ends told to the webhooks of `notify:` (coordinator/notifications.hpp
// decides which and what): handed to the Notifier after the turn that ended
// the job committed, never waited for.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "coordinator/agent_registry.hpp"
#include "coordinator/notifications.hpp"
#include "coordinator/notifier.hpp"
#include "coordinator/store/store.hpp"

namespace yardstick {

class EndNotices {
 public:
  // `notifier` null: nobody is notified. `reader` finds the webhooks of
  // pipelines submitted before this coordinator started.
  EndNotices(Reader reader, const AgentRegistry& agents) : reader_(reader), agents_(agents) {}
  void set_notifier(Notifier* notifier) { notifier_ = notifier; }

  // The webhooks of a pipeline just submitted.
  void remember(uint64_t pipeline_id, PipelineHooks hooks) {
    hooks_[pipeline_id] = std::move(hooks);
  }
  // Posts the notifications of `ended` (jobs that reached a terminal state
  // in the turn just committed).
  void notify(const std::vector<Job>& ended);
  // Posts the pipelines over their own budget, judged in the turn just
  // committed, to each of their webhooks that lists pipeline_over_budget.
  void notify_pipeline(const std::vector<PipelineBudgetBreach>& breaches);
  // A bisection's outcome, recorded in the turn under way: told after its
  // commit (notify_bisections) to the webhooks of job `b.job` of pipeline
  // `pipeline_id` that list "bisected", or forgotten with the turn.
  void bisected(uint64_t pipeline_id, uint64_t id, BisectionRecord b) {
    bisections_.push_back({pipeline_id, id, std::move(b)});
  }
  void notify_bisections();
  void discard_bisections() { bisections_.clear(); }
  // Forgets the webhooks of pipelines none of whose jobs is in `live`.
  void prune(const std::set<uint64_t>& live_pipelines);

 private:
  // The webhooks of job `job_name` of pipeline `pipeline_id` (read from the
  // stored pipeline file after a restart); nullptr: none.
  const std::vector<Webhook>* hooks_for(uint64_t pipeline_id, const std::string& job_name);
  // Every webhook of the pipeline, once each (by URL); nullptr: unknown.
  const PipelineHooks* all_hooks(uint64_t pipeline_id);

  Reader reader_;
  const AgentRegistry& agents_;
  Notifier* notifier_ = nullptr;
  std::map<uint64_t, PipelineHooks> hooks_;  // by pipeline id, while it has jobs in the table
  struct Bisected {
    uint64_t pipeline_id, id;
    BisectionRecord record;
  };
  std::vector<Bisected> bisections_;  // recorded in the turn under way
};

}  // namespace yardstick
