#include "coordinator/store/pg_dashboard.hpp"

namespace yardstick::dashboard_sql {

namespace {
constexpr const char* kActive = "('pending','queued','assigned','running','lost')";
}

pqxx::result recent_pipelines(pqxx::transaction_base& tx, const std::string& name, int limit) {
  return tx.exec_params(
      std::string("WITH p AS (SELECT id, name, revision, submitter, submitted_at FROM pipelines"
                  "  WHERE $1 = '' OR strpos(name, $1) > 0 ORDER BY id DESC LIMIT $2)"
                  " SELECT p.id, p.name, p.revision, p.submitter,"
                  "  to_char(p.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS "
                  "submitted,"
                  "  count(j.id) AS jobs,"
                  "  count(j.id) FILTER (WHERE j.state IN ") +
          kActive +
          ") AS active,"
          "  count(j.id) FILTER (WHERE j.state IN ('failed','timed_out','cancelled')) AS failed,"
          "  count(j.id) FILTER (WHERE j.state = 'skipped') AS skipped,"
          "  extract(epoch FROM max(j.ended_at) - p.submitted_at)::float8 AS duration_s,"
          "  COALESCE(string_agg(DISTINCT m.name, ', '), '') AS machines,"
          "  COALESCE(bool_or(j.over_budget), false) AS over_budget"
          " FROM p LEFT JOIN jobs j ON j.pipeline_id = p.id"
          " LEFT JOIN machines m ON m.id = j.machine_id"
          " GROUP BY p.id, p.name, p.revision, p.submitter, p.submitted_at ORDER BY p.id DESC",
      name, limit);
}

pqxx::result pipeline(pqxx::transaction_base& tx, int64_t id) {
  return tx.exec_params(
      "SELECT id, name, revision, branch, submitter, file_name,"
      " to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS submitted,"
      " extract(epoch FROM submitted_at)::float8 AS submitted_s FROM pipelines WHERE id = $1",
      id);
}

pqxx::result pipeline_jobs(pqxx::transaction_base& tx, int64_t pipeline_id) {
  return tx.exec_params(
      "SELECT j.id, j.name, j.kind, j.state, j.attempt, COALESCE(m.name, '') AS machine,"
      " COALESCE(a.name, '') AS agent, extract(epoch FROM j.started_at)::float8 AS started_s,"
      " extract(epoch FROM j.ended_at)::float8 AS ended_s, j.over_budget, j.message"
      " FROM jobs j LEFT JOIN machines m ON m.id = j.machine_id"
      " LEFT JOIN agents a ON a.id = j.agent_id WHERE j.pipeline_id = $1 ORDER BY j.id",
      pipeline_id);
}

pqxx::result pipeline_steps(pqxx::transaction_base& tx, int64_t pipeline_id) {
  return tx.exec_params(
      "SELECT s.job_id, s.idx, s.name, s.wall_s, s.exit_code, s.timed"
      " FROM steps s JOIN jobs j ON j.id = s.job_id AND j.attempt = s.attempt"
      " WHERE j.pipeline_id = $1 ORDER BY s.job_id, s.idx",
      pipeline_id);
}

pqxx::result pipeline_breaches(pqxx::transaction_base& tx, int64_t pipeline_id) {
  return tx.exec_params(
      "SELECT b.job_id, j.name AS job, b.step_idx, b.subject, b.budget, b.actual, b.fails_job"
      " FROM budget_breaches b JOIN jobs j ON j.id = b.job_id AND j.attempt = b.attempt"
      " WHERE j.pipeline_id = $1 ORDER BY b.job_id, b.id",
      pipeline_id);
}

pqxx::result pipeline_variants(pqxx::transaction_base& tx, int64_t pipeline_id) {
  return tx.exec_params(
      "SELECT j.id AS job_id, j.name AS job, COALESCE(m.name, '') AS machine, r.variant_idx,"
      " r.variant, r.n, r.median_s, r.ratio, r.ci_low, r.ci_high, r.p_value,"
      " COALESCE(r.verdict, '') AS verdict, r.mde, r.contended,"
      " array_to_string(r.warnings, '; ') AS warnings"
      " FROM bench_results r JOIN jobs j ON j.id = r.job_id AND j.attempt = r.attempt"
      " LEFT JOIN machines m ON m.id = j.machine_id"
      " WHERE j.pipeline_id = $1 AND r.measure = 'wall'"
      " ORDER BY j.name, machine, r.variant_idx",
      pipeline_id);
}

pqxx::result job(pqxx::transaction_base& tx, int64_t id) {
  return tx.exec_params(
      "SELECT j.id, j.pipeline_id, p.name AS pipeline, p.revision, j.name, j.kind, j.state,"
      " j.attempt, COALESCE(m.name, '') AS machine, COALESCE(a.name, '') AS agent,"
      " extract(epoch FROM j.started_at)::float8 AS started_s,"
      " extract(epoch FROM j.ended_at)::float8 AS ended_s, j.message, j.over_budget"
      " FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
      " LEFT JOIN machines m ON m.id = j.machine_id LEFT JOIN agents a ON a.id = j.agent_id"
      " WHERE j.id = $1",
      id);
}

pqxx::result job_spec_text(pqxx::transaction_base& tx, int64_t id) {
  return tx.exec_params("SELECT spec::text FROM jobs WHERE id = $1", id);
}

pqxx::result job_steps(pqxx::transaction_base& tx, int64_t id) {
  return tx.exec_params(
      "SELECT attempt, idx, name, command, wall_s, user_s, sys_s, max_rss_kb, exit_code, timed,"
      " timed_out, foreign_share FROM steps WHERE job_id = $1 ORDER BY attempt, idx",
      id);
}

pqxx::result job_metrics(pqxx::transaction_base& tx, int64_t id, int attempt) {
  return tx.exec_params(
      "SELECT name, unit, count(*) AS n, avg(value) AS mean, min(value) AS min,"
      " max(value) AS max FROM metrics WHERE job_id = $1 AND attempt = $2"
      " GROUP BY name, unit ORDER BY name LIMIT 2000",
      id, attempt);
}

pqxx::result job_breaches(pqxx::transaction_base& tx, int64_t id, int attempt) {
  return tx.exec_params(
      "SELECT step_idx, subject, budget, actual, fails_job FROM budget_breaches"
      " WHERE job_id = $1 AND attempt = $2 ORDER BY id",
      id, attempt);
}

pqxx::result job_log(pqxx::transaction_base& tx, int64_t id, int attempt, int64_t after, int limit,
                     int64_t max_bytes) {
  // The running total stops the page at about max_bytes; the first chunk
  // is always given, so that a reader never stalls on a large one.
  return tx.exec_params(
      "SELECT seq, stream, data FROM ("
      " SELECT seq, stream, data, sum(length(data)) OVER (ORDER BY seq) AS upto,"
      "  row_number() OVER (ORDER BY seq) AS k"
      " FROM (SELECT seq, stream, data FROM log_chunks"
      "  WHERE job_id = $1 AND attempt = $2 AND seq > $3 ORDER BY seq LIMIT $4) c) t"
      " WHERE upto <= $5 OR k = 1 ORDER BY seq",
      id, attempt, after, limit, max_bytes);
}

pqxx::result trend_pipelines(pqxx::transaction_base& tx, const std::string& name, int last) {
  return tx.exec_params(
      "SELECT id, revision, to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS "
      "submitted FROM (SELECT id, revision, submitted_at FROM pipelines WHERE name = $1"
      " ORDER BY submitted_at DESC, id DESC LIMIT $2) p ORDER BY submitted_at, id",
      name, last);
}

pqxx::result trend_job_kind(pqxx::transaction_base& tx, const std::string& name,
                            const std::string& job) {
  return tx.exec_params(
      "SELECT j.kind FROM jobs j WHERE j.pipeline_id = (SELECT max(id) FROM pipelines"
      " WHERE name = $1) AND j.name = $2 LIMIT 1",
      name, job);
}

pqxx::result trend_spec(pqxx::transaction_base& tx, const std::string& name,
                        const std::string& job) {
  return tx.exec_params(
      "SELECT j.spec::text FROM jobs j WHERE j.pipeline_id = (SELECT max(id) FROM pipelines"
      " WHERE name = $1) AND j.name = $2 ORDER BY j.id DESC LIMIT 1",
      name, job);
}

pqxx::result trend_step(pqxx::transaction_base& tx, const std::string& ids, const std::string& job,
                        const std::string& step) {
  return tx.exec_params(
      "SELECT j.pipeline_id, m.name AS machine, s.wall_s AS value"
      " FROM jobs j JOIN steps s ON s.job_id = j.id AND s.attempt = j.attempt"
      " JOIN machines m ON m.id = s.machine_id"
      " WHERE j.pipeline_id = ANY($1::bigint[]) AND j.name = $2 AND s.name = $3"
      "  AND s.exit_code = 0 AND s.wall_s IS NOT NULL ORDER BY j.pipeline_id, m.name",
      ids, job, step);
}

pqxx::result trend_metric(pqxx::transaction_base& tx, const std::string& ids,
                          const std::string& job, const std::string& metric) {
  return tx.exec_params(
      "SELECT j.pipeline_id, m.name AS machine, x.value"
      " FROM jobs j JOIN metrics x ON x.job_id = j.id AND x.attempt = j.attempt"
      " JOIN machines m ON m.id = j.machine_id"
      " WHERE j.pipeline_id = ANY($1::bigint[]) AND j.name = $2 AND x.name = $3"
      " ORDER BY j.pipeline_id, m.name",
      ids, job, metric);
}

pqxx::result trend_bench(pqxx::transaction_base& tx, const std::string& ids,
                         const std::string& job) {
  return tx.exec_params(
      "SELECT j.pipeline_id, m.name AS machine, s.wall_s AS value"
      " FROM jobs j JOIN samples s ON s.job_id = j.id AND s.attempt = j.attempt"
      " JOIN machines m ON m.id = j.machine_id"
      " WHERE j.pipeline_id = ANY($1::bigint[]) AND j.name = $2 AND s.variant_idx = 0"
      "  AND s.exit_code = 0 ORDER BY j.pipeline_id, m.name",
      ids, job);
}

pqxx::result trend_job(pqxx::transaction_base& tx, const std::string& ids, const std::string& job) {
  return tx.exec_params(
      "SELECT j.pipeline_id, m.name AS machine,"
      " extract(epoch FROM j.ended_at - j.started_at)::float8 AS value"
      " FROM jobs j JOIN machines m ON m.id = j.machine_id"
      " WHERE j.pipeline_id = ANY($1::bigint[]) AND j.name = $2 AND j.state = 'succeeded'"
      " ORDER BY j.pipeline_id, m.name",
      ids, job);
}

pqxx::result pipeline_names(pqxx::transaction_base& tx) {
  // The names of the last 5,000 pipelines: cheap on any history.
  return tx.exec(
      "SELECT DISTINCT name FROM (SELECT name FROM pipelines ORDER BY id DESC LIMIT 5000) p"
      " ORDER BY name LIMIT 500");
}

pqxx::result job_names(pqxx::transaction_base& tx, const std::string& pipeline_name) {
  return tx.exec_params(
      "SELECT DISTINCT j.name, s.name AS step FROM jobs j"
      " LEFT JOIN steps s ON s.job_id = j.id AND s.attempt = j.attempt AND s.timed"
      " WHERE j.pipeline_id = (SELECT max(id) FROM pipelines WHERE name = $1)"
      " ORDER BY 1, 2 LIMIT 500",
      pipeline_name);
}

pqxx::result machines(pqxx::transaction_base& tx) {
  return tx.exec(
      "SELECT m.id, m.name, m.cpu_model, m.logical_cores, m.memory_bytes, m.os_release,"
      " m.kernel, m.arch, m.governor, m.tools::text AS tools,"
      " COALESCE((SELECT string_agg(a.name, ', ' ORDER BY a.name) FROM agents a"
      "  WHERE a.machine_id = m.id), '') AS agents,"
      " (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY c.noise)"
      "  FROM machine_calibration_latest c WHERE c.machine_id = m.id) AS noise"
      " FROM machines m ORDER BY m.name LIMIT 1000");
}

pqxx::result calibration_history(pqxx::transaction_base& tx) {
  return tx.exec(
      "SELECT machine_id, job_id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS at,"
      " benchmark, median_s, noise FROM (SELECT *, row_number() OVER (PARTITION BY machine_id,"
      " benchmark ORDER BY at DESC) AS k FROM machine_calibrations) c WHERE k <= 20"
      " ORDER BY machine_id, benchmark, at");
}

pqxx::result compared_job_names(pqxx::transaction_base& tx) {
  return tx.exec(
      "SELECT DISTINCT name FROM (SELECT name FROM jobs WHERE kind IN ('bench', 'build')"
      " ORDER BY id DESC LIMIT 5000) j ORDER BY name LIMIT 500");
}

pqxx::result deploys(pqxx::transaction_base& tx, int limit) {
  return tx.exec_params(
      "SELECT d.job_id, d.attempt, j.pipeline_id, p.name AS pipeline, p.revision, d.outcome,"
      " d.reason, d.message, to_char(d.at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS at,"
      " d.old_version, d.new_version, d.probe_sent, d.probe_failed, d.probe_longest_outage_ms"
      " FROM deploys d JOIN jobs j ON j.id = d.job_id JOIN pipelines p ON p.id = j.pipeline_id"
      " ORDER BY d.at DESC, d.job_id DESC LIMIT $1",
      limit);
}

pqxx::result deploy_phases(pqxx::transaction_base& tx, const std::string& job_ids) {
  return tx.exec_params(
      "SELECT job_id, attempt, seq, name, extract(epoch FROM started_at)::float8 AS started_s,"
      " extract(epoch FROM ended_at)::float8 AS ended_s, ok, detail FROM deploy_phases"
      " WHERE job_id = ANY($1::bigint[]) ORDER BY job_id, attempt, started_at, seq",
      job_ids);
}

pqxx::result refusal_counts(pqxx::transaction_base& tx) {
  return tx.exec("SELECT what, count(*) AS n FROM refusals GROUP BY what ORDER BY what");
}

}  // namespace yardstick::dashboard_sql

namespace yardstick::dashboard_sql {
pqxx::result run_report(pqxx::transaction_base& tx, const std::string& sql,
                        const std::vector<std::string>& params) {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}
}  // namespace yardstick::dashboard_sql
