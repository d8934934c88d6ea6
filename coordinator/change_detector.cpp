#include "coordinator/change_detector.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/pipeline.hpp"
#include "common/secrets.hpp"
#include "common/text.hpp"
#include "coordinator/auto_bisect.hpp"
#include "coordinator/notifications.hpp"
#include "coordinator/notifier.hpp"
#include "coordinator/store/pg_session.hpp"

namespace yardstick {

namespace {

std::string short_revision(const std::string& r) {
  return r.empty() ? "(no revision)" : r.substr(0, 12);
}

std::string value_text(double v, const std::string& unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", v, unit.c_str());
  return buf;
}

}  // namespace

std::string change_text(const FoundChange& f) {
  const ChangePoint& c = f.change;
  char interval[96];
  std::snprintf(interval, sizeof interval, "interval %+.1f … %+.1f %%", 100 * (c.ci_low - 1),
                100 * (c.ci_high - 1));
  return f.series.pipeline + " " + f.series.job + " " + f.series.kind + " " + f.series.what +
         " on " + f.series.machine + " " + f.direction + " " + ratio_percent(c.ratio) + " (" +
         value_text(c.median_before, f.series.unit) + " → " +
         value_text(c.median_after, f.series.unit) + ", " + interval + ") between " +
         short_revision(f.last_good_revision) + " and " + short_revision(f.first_bad_revision);
}

std::string change_notification_json(const FoundChange& f) {
  using json = nlohmann::json;
  const ChangePoint& c = f.change;
  json doc = {
      {"text", "yardstick: " + valid_text(change_text(f))},
      {"event", f.direction},
      {"events", json::array({f.direction})},
      {"pipeline", valid_text(f.series.pipeline)},
      {"job", valid_text(f.series.job)},
      {"kind", f.series.kind},
      {"what", valid_text(f.series.what)},
      {"unit", valid_text(f.series.unit)},
      {"machine", valid_text(f.series.machine)},
      {"last_good_revision", valid_text(f.last_good_revision)},
      {"first_bad_revision", valid_text(f.first_bad_revision)},
      {"last_good_pipeline_id", f.last_good_pipeline_id},
      {"first_bad_pipeline_id", f.first_bad_pipeline_id},
      {"median_before", c.median_before},
      {"median_after", c.median_after},
      {"points_before", c.n_before},
      {"points_after", c.n_after},
      {"ratio", c.ratio},
      {"ratio_low", c.ci_low},
      {"ratio_high", c.ci_high},
      {"p_value", c.p},
      {"detectable", c.detectable},
      {"status_command", "yardstick regressions --pipeline " + valid_text(f.series.pipeline)},
  };
  return doc.dump();
}

ChangeDetector::ChangeDetector(std::string dsn, Options options, Notifier* notifier,
                               AutoBisect* bisect)
    : dsn_(std::move(dsn)), options_(options), notifier_(notifier), bisect_(bisect) {}

ChangeDetector::~ChangeDetector() {
  stop_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ChangeDetector::start() {
  thread_ = std::thread([this] { loop(); });
}

void ChangeDetector::poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
}

size_t ChangeDetector::pass(pqxx::connection& conn, size_t limit) {
  PgChangePoints store(conn);
  if (bisect_) bisect_->reap();
  const auto pipelines = store.ended_unsearched(limit);
  for (const PipelineToSearch& p : pipelines) {
    if (stop_) break;
    std::vector<FoundChange> fresh;
    size_t series_count = 0;
    try {
      pqxx::work tx(conn);
      for (const SeriesKey& owner : store.jobs_of(tx, p.id))
        for (auto& [key, pts] : store.series_points(tx, owner, p.id, options_.max_points)) {
          // Only the series this pipeline added a point to.
          if (pts.pipeline_ids.empty() || pts.pipeline_ids.back() != p.id) continue;
          ++series_count;
          if (pts.values.size() < 2 * options_.change.min_segment) continue;
          std::vector<bool> boundary(pts.values.size(), true);
          for (size_t i = 1; i < pts.values.size(); ++i)
            boundary[i] = pts.revisions[i].empty() || pts.revisions[i] != pts.revisions[i - 1];
          std::vector<FoundChange> found;
          for (const ChangePoint& c : find_change_points(pts.values, boundary, options_.change)) {
            FoundChange f;
            f.series = key;
            f.change = c;
            f.last_good_pipeline_id = pts.pipeline_ids[c.index - 1];
            f.first_bad_pipeline_id = pts.pipeline_ids[c.index];
            f.last_good_revision = pts.revisions[c.index - 1];
            f.first_bad_revision = pts.revisions[c.index];
            f.direction = change_direction(key, c.ratio);
            found.push_back(std::move(f));
          }
          auto told = store.replace(tx, key, pts.pipeline_ids.front(), found, p.id);
          fresh.insert(fresh.end(), told.begin(), told.end());
        }
      store.mark_searched(tx, p.id);
      tx.commit();
    } catch (const pqxx::broken_connection&) {
      throw;  // the loop connects again and searches it then
    } catch (const std::exception& e) {
      // What this pipeline's data does to a search must not stop the
      // searches of the others: said, marked searched, and left.
      spdlog::warn("pipeline {} {}: its series could not be searched for change points: {}", p.id,
                   p.name, e.what());
      pqxx::work tx(conn);
      store.mark_searched(tx, p.id);
      tx.commit();
      continue;
    }
    ++searched_;
    spdlog::debug("pipeline {} {}: {} series searched, {} new change points", p.id, p.name,
                  series_count, fresh.size());
    if (fresh.empty()) continue;
    std::string error;
    const auto hooks = pipeline_hooks(p.definition, p.file_name, &error);
    std::optional<PipelineDef> def;
    if (bisect_)
      if (auto parsed = parse_pipeline(p.definition, p.file_name); parsed.ok())
        def = std::move(parsed.pipeline);
    for (const FoundChange& f : fresh) {
      spdlog::info("change point: {}", change_text(f));
      if (def && f.direction == "regressed")
        if (const JobDef* job = def->find_job(f.series.job); job && job->bisect_auto)
          bisect_->start(f);
      if (!notifier_ || !hooks) continue;
      auto it = hooks->find(f.series.job);
      if (it == hooks->end()) continue;
      for (const Webhook& hook : it->second)
        if (event_for(hook, {f.direction}) &&
            notifier_->post(hook.url, change_notification_json(f)))
          spdlog::info("pipeline {} {}: {} notified to webhook {}", p.id, p.name, f.direction,
                       mask_webhook_url(hook.url));
    }
  }
  return pipelines.size();
}

void ChangeDetector::loop() {
  std::unique_ptr<pqxx::connection> conn;
  bool holding = false;
  auto backoff = options_.poll;
  while (!stop_) {
    try {
      if (!conn || !conn->is_open()) {
        holding = false;
        // The coordinator's connect timeout and keepalives: a dead server
        // is noticed, and the thread stops when asked.
        conn = std::make_unique<pqxx::connection>(dsn_with_options(dsn_, PgOptions{}));
        pqxx::nontransaction(*conn).exec("SET statement_timeout = '60s'");
      }
      if (!holding) {
        pqxx::nontransaction n(*conn);
        holding =
            n.exec_params1("SELECT pg_try_advisory_lock($1)", kChangeDetectorLock)[0].as<bool>();
      }
      // Searches while there is work, then waits for a poke or the poll.
      if (holding)
        while (!stop_ && pass(*conn, 20) > 0) {
        }
      backoff = options_.poll;
    } catch (const std::exception& e) {
      spdlog::warn("change points: {} (searching again in {} ms)", e.what(), backoff.count());
      conn.reset();
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, backoff, [this] { return poked_ || stop_.load(); });
    poked_ = false;
  }
}

}  // namespace yardstick
