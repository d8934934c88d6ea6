#include <cmath>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "coordinator/evaluate.hpp"
#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {

Labels labels_from_json(const std::string& text) {
  Labels out;
  if (text.empty()) return out;
  for (const auto& v : nlohmann::json::parse(text)) out.insert(v.get<std::string>());
  return out;
}

// The jobs of a view as an array parameter, with a map to find each.
std::string id_array(const std::vector<JobView>& jobs, std::map<uint64_t, JobView*>* by_id) {
  std::string ids = "{";
  for (size_t i = 0; i < jobs.size(); ++i) {
    ids += (i ? "," : "") + num(jobs[i].id);
    (*by_id)[jobs[i].id] = const_cast<JobView*>(&jobs[i]);
  }
  return ids + "}";
}

DeployReport deploy_from_row(const pqxx::row& r, int from) {
  DeployReport d;
  d.outcome = parse_deploy_outcome(r[from].as<std::string>()).value_or(DeployOutcome::kFailed);
  d.reason = r[from + 1].as<std::string>();
  d.message = r[from + 2].as<std::string>();
  d.old_version = r[from + 3].as<std::string>();
  d.new_version = r[from + 4].as<std::string>();
  d.switch_old = r[from + 5].as<uint64_t>();
  d.switch_new = r[from + 6].as<uint64_t>();
  if (r[from + 7].as<bool>()) {
    ProbeCounts c;
    c.sent = r[from + 8].as<uint64_t>();
    c.failed = r[from + 9].as<uint64_t>();
    const char* kinds[] = {"status", "refused", "reset", "timeout", "other"};
    for (int k = 0; k < 5; ++k)
      if (uint64_t n = r[from + 10 + k].as<uint64_t>()) c.failures[kinds[k]] = n;
    c.late = r[from + 15].as<uint64_t>();
    c.longest_outage_ms = r[from + 16].as<double>();
    c.p50_ms = r[from + 17].as<double>();
    c.p99_ms = r[from + 18].as<double>();
    c.interval_us = static_cast<int64_t>(std::llround(r[from + 19].as<double>() * 1000));
    d.probe = c;
  }
  return d;
}

}  // namespace

std::optional<PipelineView> PgReads::status(uint64_t id) {
  return pg_call(s_, [&]() -> std::optional<PipelineView> {
    auto& tx = s_.tx();
    auto p = tx.exec_params(
        "SELECT p.id, p.name, p.revision, p.branch, p.submitter, " + us("p.submitted_at") +
            ", (p.id = $1) FROM pipelines p WHERE p.id = $1 OR p.id = (SELECT pipeline_id FROM"
            " jobs WHERE id = $1)",
        id);
    if (p.empty()) return std::nullopt;
    PipelineView view;
    view.id = p[0][0].as<uint64_t>();
    view.name = p[0][1].as<std::string>();
    view.revision = p[0][2].as<std::string>();
    view.branch = p[0][3].as<std::string>();
    view.submitter = p[0][4].as<std::string>();
    view.submitted_at_us = p[0][5].as<int64_t>();
    const bool whole_pipeline = p[0][6].as<bool>();
    auto b = tx.exec_params(
        "SELECT COALESCE(p.budget_wall_ms, 0),"
        " (SELECT CASE WHEN bool_and(j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled',"
        "   'skipped')) THEN extract(epoch FROM max(j.ended_at) - p.submitted_at)::float8 END"
        "  FROM jobs j WHERE j.pipeline_id = p.id),"
        " EXISTS (SELECT 1 FROM pipeline_budget_breaches x WHERE x.pipeline_id = p.id)"
        " FROM pipelines p WHERE p.id = $1",
        view.id);
    view.budget_wall_ms = b[0][0].as<uint64_t>();
    view.wall_s = b[0][1].is_null() ? -1 : b[0][1].as<double>();
    view.over_budget = b[0][2].as<bool>();
    for (const auto& r : tx.exec_params(
             "SELECT j.id, j.name, j.state, COALESCE(a.name, ''), COALESCE(m.name, ''), "
             "j.attempt, " +
                 us("j.started_at") + ", " + us("j.ended_at") +
                 ", j.message, j.over_budget, (SELECT count(*) FROM samples s WHERE s.job_id ="
                 " j.id AND s.attempt = j.attempt), CASE WHEN jsonb_typeof(j.spec->'bench') ="
                 " 'object' THEN COALESCE((j.spec->'bench'->>'runs')::bigint, 0) *"
                 " GREATEST(jsonb_array_length(COALESCE(j.spec->'variants', '[]'::jsonb)), 1)"
                 " ELSE 0 END, j.note"
                 " FROM jobs j LEFT JOIN agents a ON a.id = j.agent_id"
                 " LEFT JOIN machines m ON m.id = j.machine_id"
                 " WHERE j.pipeline_id = $1 AND ($2 OR j.id = $3) ORDER BY j.id",
             view.id, whole_pipeline, id)) {
      JobView j;
      j.id = r[0].as<uint64_t>();
      j.pipeline_id = view.id;
      j.name = r[1].as<std::string>();
      j.state = parse_job_state(r[2].as<std::string>()).value_or(JobState::kFailed);
      j.agent = r[3].as<std::string>();
      j.machine = r[4].as<std::string>();
      j.attempt = r[5].as<uint32_t>();
      j.started_at_us = r[6].as<int64_t>();
      j.ended_at_us = r[7].as<int64_t>();
      j.message = r[8].as<std::string>();
      j.over_budget = r[9].as<bool>();
      j.runs_measured = r[10].as<uint32_t>();
      j.runs_planned = r[11].as<uint32_t>();
      j.note = parse_job_note(r[12].as<std::string>());
      view.jobs.push_back(std::move(j));
    }
    if (view.jobs.empty()) return view;
    // Each part of the jobs' current attempts in one query, whatever the
    // pipeline's size.
    std::map<uint64_t, JobView*> by_id;
    const std::string ids = id_array(view.jobs, &by_id);
    const std::string current =
        " JOIN jobs j ON j.id = x.job_id AND j.attempt = x.attempt WHERE j.id = ANY($1::bigint[])";
    for (const auto& r :
         tx.exec_params("SELECT x.job_id, x.budget, x.actual FROM budget_breaches x" + current +
                            " ORDER BY x.id",
                        ids))
      by_id[r[0].as<uint64_t>()]->budget_breaches.push_back(
          breach_text(r[1].as<std::string>(),
                      r[2].is_null() ? std::nullopt : std::optional<double>(r[2].as<double>())));
    for (const auto& r : tx.exec_params(
             "SELECT x.job_id, x.idx, x.name, COALESCE(x.wall_s, 0), COALESCE(x.exit_code, 0),"
             " x.ended_at IS NOT NULL, COALESCE(x.signal, 0) FROM steps x" +
                 current + " ORDER BY x.job_id, x.idx",
             ids))
      by_id[r[0].as<uint64_t>()]->steps.push_back({r[1].as<uint32_t>(), r[2].as<std::string>(),
                                                   r[3].as<double>(), r[4].as<int32_t>(),
                                                   r[5].as<bool>(), r[6].as<int32_t>()});
    for (const auto& r :
         tx.exec_params("SELECT x.job_id, x.name, " + us("x.started_at") + ", " + us("x.ended_at") +
                            ", x.ok, x.detail FROM deploy_phases x" + current +
                            " ORDER BY x.job_id, x.started_at, x.seq",
                        ids))
      by_id[r[0].as<uint64_t>()]->deploy_phases.push_back(
          {r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<bool>(),
           r[5].as<std::string>()});
    for (const auto& r : tx.exec_params(
             "SELECT x.job_id, x.outcome, x.reason, x.message, x.old_version, x.new_version,"
             " x.switch_old, x.switch_new, x.probe_sent IS NOT NULL, COALESCE(x.probe_sent, 0),"
             " COALESCE(x.probe_failed, 0), COALESCE(x.probe_failed_status, 0),"
             " COALESCE(x.probe_failed_refused, 0), COALESCE(x.probe_failed_reset, 0),"
             " COALESCE(x.probe_failed_timeout, 0), COALESCE(x.probe_failed_other, 0),"
             " COALESCE(x.probe_late, 0), COALESCE(x.probe_longest_outage_ms, 0),"
             " COALESCE(x.probe_p50_ms, 0), COALESCE(x.probe_p99_ms, 0),"
             " COALESCE(x.probe_interval_ms, 0) FROM deploys x" +
                 current,
             ids))
      by_id[r[0].as<uint64_t>()]->deploy = deploy_from_row(r, 1);
    // Earlier attempts: the last event of each, and the agent it ran on.
    for (const auto& r : tx.exec_params(
             "SELECT DISTINCT ON (e.job_id, e.attempt) e.job_id, e.attempt, e.to_state, e.message,"
             " COALESCE((SELECT a.name FROM job_events f JOIN agents a ON a.id = f.agent_id WHERE"
             "  f.job_id = e.job_id AND f.attempt = e.attempt ORDER BY f.id LIMIT 1), '')"
             " FROM job_events e JOIN jobs j ON j.id = e.job_id AND e.attempt < j.attempt"
             " WHERE j.id = ANY($1::bigint[]) AND e.to_state NOT IN ('pending', 'queued')"
             " ORDER BY e.job_id, e.attempt, e.id DESC",
             ids))
      by_id[r[0].as<uint64_t>()]->earlier_attempts.push_back(
          {r[1].as<uint32_t>(), r[4].as<std::string>(),
           parse_job_state(r[2].as<std::string>()).value_or(JobState::kLost),
           r[3].as<std::string>()});
    return view;
  });
}

std::vector<LogView> PgReads::logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes) {
  std::vector<LogView> out;
  pg_call(s_, [&] {
    // The byte limit is applied by the server, on the chunks' sizes, so that
    // only what is sent is read (at least one chunk, whatever its size).
    // Each chunk with its step's name and its attempt's agent and machine
    // (the first agent the attempt was placed on), so that a reader can
    // head each step and attempt.
    auto rows = s_.tx().exec_params(
        "SELECT c.id, c.attempt, c.stream, c.data, COALESCE(c.step_idx, -1),"
        " COALESCE(st.name, ''), COALESCE(ag.name, ''), COALESCE(m.name, '') FROM ("
        " SELECT id, job_id, attempt, stream, step_idx, data, row_number() OVER w AS n,"
        "  sum(octet_length(data)) OVER w AS upto"
        " FROM log_chunks WHERE job_id = $1 AND id > $2"
        " WINDOW w AS (ORDER BY id) ORDER BY id LIMIT 1000) c"
        " LEFT JOIN steps st ON st.job_id = c.job_id AND st.attempt = c.attempt"
        "  AND st.idx = c.step_idx"
        " LEFT JOIN LATERAL (SELECT e.agent_id FROM job_events e WHERE e.job_id = c.job_id"
        "  AND e.attempt = c.attempt AND e.agent_id IS NOT NULL ORDER BY e.id LIMIT 1) ev ON true"
        " LEFT JOIN agents ag ON ag.id = ev.agent_id"
        " LEFT JOIN machines m ON m.id = ag.machine_id"
        " WHERE c.n = 1 OR c.upto <= $3 ORDER BY c.id",
        job_id, after_id, static_cast<int64_t>(max_bytes));
    for (const auto& r : rows) {
      pqxx::binarystring data(r[3]);
      LogView v;
      v.id = r[0].as<uint64_t>();
      v.attempt = r[1].as<uint32_t>();
      v.stream = r[2].as<std::string>();
      v.data = data.str();
      v.step_index = r[4].as<int32_t>();
      v.step_name = r[5].as<std::string>();
      v.agent = r[6].as<std::string>();
      v.machine = r[7].as<std::string>();
      out.push_back(std::move(v));
    }
    if (!out.empty() || after_id != 0) return;
    // Nothing stored for a job that ended before what retention removed:
    // its log was dropped, and the reader is told so, as the log's only line.
    auto gone = s_.tx().exec_params(
        "SELECT to_char(r.removed_before AT TIME ZONE 'UTC', 'YYYY-MM-DD'), j.attempt"
        " FROM jobs j, log_retention r WHERE j.id = $1 AND j.ended_at < r.removed_before",
        job_id);
    if (gone.empty()) return;
    LogView v;
    v.id = 1;
    v.attempt = gone[0][1].as<uint32_t>();
    v.stream = "system";
    v.data = "[yardstick] this job's log was removed: logs older than " +
             gone[0][0].as<std::string>() + " are dropped (the coordinator's --keep-logs)\n";
    out.push_back(std::move(v));
  });
  return out;
}

std::vector<AgentRow> PgReads::agents() {
  std::vector<AgentRow> out;
  pg_call(s_, [&] {
    auto rows =
        s_.tx().exec("SELECT a.id, a.name, a.labels::text, a.slots, m.name, " + us("a.last_seen") +
                     ", a.draining, a.host FROM agents a JOIN machines m ON m.id = a.machine_id"
                     " ORDER BY a.name");
    for (const auto& r : rows) {
      AgentRow a;
      a.id = r[0].as<uint64_t>();
      a.name = r[1].as<std::string>();
      a.labels = labels_from_json(r[2].as<std::string>());
      a.slots = r[3].as<uint32_t>();
      a.machine = r[4].as<std::string>();
      a.last_seen_us = r[5].as<int64_t>();
      a.draining = r[6].as<bool>();
      a.host = r[7].as<std::string>();
      out.push_back(std::move(a));
    }
    std::map<std::string, AgentRow*> by_name;
    for (auto& a : out) by_name[a.name] = &a;
    // The latest calibration of the agent's machine name, whichever of its
    // fingerprints it was taken under, with both rows' fields: what changed
    // since, when it is not the current one.
    auto calibrations = s_.tx().exec(
        "SELECT a.name, l.benchmark, l.median_s, l.noise, l.runs, " + us("l.at") +
        ", cm.id = m.id, cm.kernel, m.kernel, cm.governor, m.governor, cm.cpu_model, m.cpu_model,"
        " cm.logical_cores::text, m.logical_cores::text, cm.memory_bytes::text,"
        " m.memory_bytes::text"
        " FROM agents a JOIN machines m ON m.id = a.machine_id"
        " JOIN LATERAL (SELECT c.machine_id FROM machine_calibrations c"
        "  JOIN machines cm2 ON cm2.id = c.machine_id WHERE cm2.name = m.name"
        "  ORDER BY c.machine_id = m.id DESC, c.at DESC LIMIT 1) newest ON true"
        " JOIN machines cm ON cm.id = newest.machine_id"
        " JOIN machine_calibration_latest l ON l.machine_id = newest.machine_id"
        " ORDER BY a.name, array_position(ARRAY['cpu', 'memory', 'spawn', 'io'], l.benchmark),"
        " l.benchmark");
    for (const auto& r : calibrations) {
      AgentRow* a = by_name[r[0].as<std::string>()];
      if (!a) continue;
      a->calibration.push_back(
          {r[1].as<std::string>(), r[2].as<double>(), r[3].as<double>(), r[4].as<size_t>()});
      a->calibrated_at_us = std::max(a->calibrated_at_us, r[5].as<int64_t>());
      if (r[6].as<bool>() || !a->calibration_stale.empty()) continue;
      std::string changed;
      auto field = [&](const char* what, int before, int now) {
        const std::string b = r[before].as<std::string>(), n = r[now].as<std::string>();
        if (b != n)
          changed += (changed.empty() ? "" : ", ") + std::string(what) + " " +
                     (b.empty() ? "(none)" : b) + " -> " + (n.empty() ? "(none)" : n);
      };
      field("kernel", 7, 8);
      field("governor", 9, 10);
      field("CPU", 11, 12);
      field("cores", 13, 14);
      field("memory", 15, 16);
      a->calibration_stale =
          changed.empty() ? "the machine's fingerprint changed (its tools)" : changed;
    }
  });
  return out;
}

void PgReads::run_report(const std::string& sql, const std::vector<std::string>& params,
                         std::vector<std::string>* columns,
                         std::vector<std::vector<std::string>>* rows,
                         std::vector<std::string>* kinds, std::vector<std::vector<bool>>* nulls) {
  pqxx::result r;
  try {
    s_.in_savepoint("report", [&] {
      r = s_.tx().exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    });
  } catch (const StoreError& e) {
    if (!e.refused()) throw;
    throw StoreError(std::string("report failed: ") + e.what(), StoreFault::kRefused, e.sqlstate());
  }
  for (pqxx::row::size_type c = 0; c < r.columns(); ++c) {
    columns->push_back(r.column_name(c));
    if (kinds) {
      // Built-in type oids: bool 16; int8 20, int2 21, int4 23, oid 26;
      // float4 700, float8 701, numeric 1700; json 114, jsonb 3802.
      const auto oid = r.column_type(c);
      kinds->push_back(oid == 16                                          ? "boolean"
                       : oid == 20 || oid == 21 || oid == 23 || oid == 26 ? "integer"
                       : oid == 700 || oid == 701 || oid == 1700          ? "number"
                       : oid == 114 || oid == 3802                        ? "json"
                                                                          : "text");
    }
  }
  for (const auto& row : r) {
    std::vector<std::string> out;
    std::vector<bool> null;
    for (const auto& f : row) {
      out.push_back(f.is_null() ? "" : f.c_str());
      null.push_back(f.is_null());
    }
    rows->push_back(std::move(out));
    if (nulls) nulls->push_back(std::move(null));
  }
}

std::optional<std::pair<std::string, std::string>> PgReads::pipeline_file(uint64_t pipeline_id) {
  return pg_call(s_, [&]() -> std::optional<std::pair<std::string, std::string>> {
    auto r = s_.tx().exec_params("SELECT file_name, definition FROM pipelines WHERE id = $1",
                                 pipeline_id);
    if (r.empty()) return std::nullopt;
    return std::pair{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
  });
}

}  // namespace yardstick
