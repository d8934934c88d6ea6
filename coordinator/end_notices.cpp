#include "coordinator/end_notices.hpp"

#include <spdlog/spdlog.h>

#include "common/secrets.hpp"

namespace yardstick {

void EndNotices::notify(const std::vector<Job>& ended) {
  if (!notifier_) return;
  for (const Job& job : ended) {
    JobEnd end;
    end.pipeline = job.spec.pipeline_name;
    end.pipeline_id = job.pipeline_id;
    end.job = job.name;
    end.job_id = job.id;
    end.attempt = job.attempt;
    end.kind = job.spec.kind;
    end.state = job.state;
    end.message = job.message;
    end.agent = job.agent;
    if (const AgentSession* s = job.agent.empty() ? nullptr : agents_.find(job.agent))
      end.machine = s->machine_name;
    end.revision = job.checked_out.empty() ? job.spec.revision : job.checked_out;
    end.branch = job.spec.branch;
    end.started_at_us = job.started_at_us;
    end.ended_at_us = job.ended_at_us;
    end.over_budget = job.over_budget;
    end.rolled_back = job.rolled_back;
    const auto events = job_end_events(end);
    if (events.empty()) continue;
    const std::vector<Webhook>* hooks = hooks_for(job.pipeline_id, job.name);
    if (!hooks) continue;
    for (const Webhook& hook : *hooks)
      if (auto event = event_for(hook, events))
        if (notifier_->post(hook.url, notification_json(end, *event)))
          spdlog::info("job {} {}: {} notified to webhook {}", job.id, job.name, *event,
                       mask_webhook_url(hook.url));
  }
}

void EndNotices::notify_pipeline(const std::vector<PipelineBudgetBreach>& breaches) {
  if (!notifier_) return;
  for (const auto& breach : breaches) {
    const PipelineHooks* hooks = all_hooks(breach.pipeline_id);
    if (!hooks) continue;
    std::set<std::string> told;  // a URL at pipeline level is in every job's list
    for (const auto& [job, list] : *hooks)
      for (const Webhook& hook : list)
        if (event_for(hook, {kPipelineOverBudget}) && told.insert(hook.url).second &&
            notifier_->post(hook.url, pipeline_notification_json(breach)))
          spdlog::info("pipeline {} {}: {} notified to webhook {}", breach.pipeline_id,
                       breach.pipeline, kPipelineOverBudget, mask_webhook_url(hook.url));
  }
}

const PipelineHooks* EndNotices::all_hooks(uint64_t pipeline_id) {
  auto it = hooks_.find(pipeline_id);
  if (it != hooks_.end()) return &it->second;
  // Read (and remembered) from the stored file, as for a job end.
  hooks_for(pipeline_id, "");
  it = hooks_.find(pipeline_id);
  return it == hooks_.end() ? nullptr : &it->second;
}

void EndNotices::notify_bisections() {
  auto told = std::move(bisections_);
  bisections_.clear();
  if (!notifier_) return;
  for (const Bisected& b : told) {
    const std::vector<Webhook>* hooks = hooks_for(b.pipeline_id, b.record.job);
    if (!hooks) continue;
    for (const Webhook& hook : *hooks)
      if (event_for(hook, {kBisected}) &&
          notifier_->post(hook.url, bisection_notification_json(b.record, b.id)))
        spdlog::info("bisection {} of {} job {}: {} notified to webhook {}", b.id,
                     b.record.pipeline, b.record.job, kBisected, mask_webhook_url(hook.url));
  }
}

void EndNotices::prune(const std::set<uint64_t>& live_pipelines) {
  std::erase_if(hooks_, [&](const auto& h) { return !live_pipelines.count(h.first); });
}

const std::vector<Webhook>* EndNotices::hooks_for(uint64_t pipeline_id,
                                                  const std::string& job_name) {
  auto it = hooks_.find(pipeline_id);
  if (it == hooks_.end()) {
    // Submitted before this coordinator started: its stored file says.
    std::optional<std::pair<std::string, std::string>> file;
    try {
      reader_.session.begin();
      file = reader_.reads.pipeline_file(pipeline_id);
      reader_.session.commit();
    } catch (const StoreError& e) {
      reader_.session.rollback();
      spdlog::warn(
          "pipeline {}: cannot read its file for its webhooks ({}); this job end is not "
          "notified",
          pipeline_id, e.what());
      return nullptr;  // not remembered: the next job end tries again
    }
    PipelineHooks hooks;
    if (file) {
      std::string error;
      if (auto h = pipeline_hooks(file->second, file->first, &error))
        hooks = std::move(*h);
      else
        spdlog::warn("pipeline {}: its stored file no longer parses ({}); its jobs notify nobody",
                     pipeline_id, error);
    }
    it = hooks_.emplace(pipeline_id, std::move(hooks)).first;
  }
  auto hooks = it->second.find(job_name);
  return hooks == it->second.end() ? nullptr : &hooks->second;
}

}  // namespace yardstick
