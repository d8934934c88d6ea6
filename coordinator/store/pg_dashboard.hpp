// The dashboard's reads (coordinator/web/): every query of its pages, in
// one place, each in a read-only transaction of the caller's connection —
// the dashboard's own, never the scheduling turn's writer nor the client
// reader. Results are libpqxx's, read by column name by the pages. Times
// come as Unix seconds (double precision) or UTC text; nothing is
// formatted here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace yardstick::dashboard_sql {

// Recent pipelines, newest first, whose name contains `name` (all when
// empty), at most `limit`, with their jobs' counts by outcome, duration,
// machines and whether any job went over a budget.
pqxx::result recent_pipelines(pqxx::transaction_base& tx, const std::string& name, int limit);

pqxx::result pipeline(pqxx::transaction_base& tx, int64_t id);
pqxx::result pipeline_jobs(pqxx::transaction_base& tx, int64_t pipeline_id);
pqxx::result pipeline_steps(pqxx::transaction_base& tx, int64_t pipeline_id);
pqxx::result pipeline_breaches(pqxx::transaction_base& tx, int64_t pipeline_id);
// Each bench job's variants (wall measure) of a pipeline with their verdicts.
pqxx::result pipeline_variants(pqxx::transaction_base& tx, int64_t pipeline_id);

pqxx::result job(pqxx::transaction_base& tx, int64_t id);
pqxx::result job_spec_text(pqxx::transaction_base& tx, int64_t id);
pqxx::result job_steps(pqxx::transaction_base& tx, int64_t id);
pqxx::result job_metrics(pqxx::transaction_base& tx, int64_t id, int attempt);
pqxx::result job_breaches(pqxx::transaction_base& tx, int64_t id, int attempt);
// Log chunks of an attempt after sequence number `after`, in order, at most
// `limit` rows and about `max_bytes` bytes (always at least one chunk).
pqxx::result job_log(pqxx::transaction_base& tx, int64_t id, int attempt, int64_t after, int limit,
                     int64_t max_bytes);

// Trends: the last `last` pipelines named `name` (oldest first), and the
// values of job `job` in them, per machine: a step's wall time, a
// metric's values, a bench job's baseline runs, or the job's wall time.
pqxx::result trend_pipelines(pqxx::transaction_base& tx, const std::string& name, int last);
pqxx::result trend_job_kind(pqxx::transaction_base& tx, const std::string& name,
                            const std::string& job);
pqxx::result trend_spec(pqxx::transaction_base& tx, const std::string& name,
                        const std::string& job);
pqxx::result trend_step(pqxx::transaction_base& tx, const std::string& ids, const std::string& job,
                        const std::string& step);
pqxx::result trend_metric(pqxx::transaction_base& tx, const std::string& ids,
                          const std::string& job, const std::string& metric);
pqxx::result trend_bench(pqxx::transaction_base& tx, const std::string& ids,
                         const std::string& job);
pqxx::result trend_job(pqxx::transaction_base& tx, const std::string& ids, const std::string& job);
// Pipeline names and, for one, its job names and step names (for the form).
pqxx::result pipeline_names(pqxx::transaction_base& tx);
pqxx::result job_names(pqxx::transaction_base& tx, const std::string& pipeline_name);

pqxx::result machines(pqxx::transaction_base& tx);
pqxx::result calibration_history(pqxx::transaction_base& tx);
pqxx::result compared_job_names(pqxx::transaction_base& tx);

pqxx::result deploys(pqxx::transaction_base& tx, int limit);
pqxx::result deploy_phases(pqxx::transaction_base& tx, const std::string& job_ids);

// Refusals by message kind (for /metrics).
pqxx::result refusal_counts(pqxx::transaction_base& tx);

}  // namespace yardstick::dashboard_sql

namespace yardstick::dashboard_sql {
// A report's translated SQL (reports.hpp) with its parameters as text.
pqxx::result run_report(pqxx::transaction_base& tx, const std::string& sql,
                        const std::vector<std::string>& params);
}  // namespace yardstick::dashboard_sql
