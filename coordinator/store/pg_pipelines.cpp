#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/job_spec.hpp"
#include "common/pipeline.hpp"
#include "common/signing.hpp"
#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;

std::string labels_json(const Labels& labels) {
  return json(labels).dump();
}

Labels labels_from_json(const std::string& text) {
  Labels out;
  if (text.empty()) return out;
  for (const auto& v : json::parse(text)) out.insert(v.get<std::string>());
  return out;
}
struct TransitionRow {
  uint64_t id;
  std::string state;
  uint32_t attempt;
  uint64_t agent_id, machine_id;
  int64_t queued_at_us, started_at_us, ended_at_us;
  std::string message, note;  // the job's, after the transition
  std::string from;           // the event's
  std::string event_message;
};

}  // namespace

// A turn's transitions, written at flush with two statements whatever
// their number: the jobs' rows (the last state of each job), and every
// event in order, sent with their savepoint in one round trip
// (exec_in_savepoint). Anything in the store that reads a job's row in the
// turn flushes first (PgSession::flush).
struct PgPipelines::Transitions final : PgBatch {
  using R = TransitionRow;
  std::vector<R> rows;
  std::set<std::string>& prepared;  // the session's: PREPAREd on its connection

  explicit Transitions(std::set<std::string>& names) : prepared(names) {}

  static std::optional<std::string> text(const std::string& s) { return s; }
  template <typename T>
  static std::optional<std::string> n(T v) {
    return num(v);
  }

  UnnestInsert<R> events = [] {
    UnnestInsert<R> e("job_events", "");
    e.column("job_id", "bigint", [](const R& r) { return n(r.id); })
        .column("attempt", "int", [](const R& r) { return n(r.attempt); })
        .column("from_state", "text", [](const R& r) { return text(r.from); })
        .column("to_state", "text", [](const R& r) { return text(r.state); })
        .column(
            "agent_id", "bigint", [](const R& r) { return n(r.agent_id); }, "NULLIF(agent_id, 0)")
        .column("message", "text", [](const R& r) { return text(r.event_message); });
    return e;
  }();

  static Statement update_jobs(const std::vector<R>& last) {
    using F = std::function<std::optional<std::string>(const R&)>;
    const std::vector<F> fields = {[](const R& r) { return n(r.id); },
                                   [](const R& r) { return text(r.state); },
                                   [](const R& r) { return n(r.attempt); },
                                   [](const R& r) { return n(r.agent_id); },
                                   [](const R& r) { return n(r.machine_id); },
                                   [](const R& r) { return n(r.queued_at_us); },
                                   [](const R& r) { return n(r.started_at_us); },
                                   [](const R& r) { return n(r.ended_at_us); },
                                   [](const R& r) { return text(r.message); },
                                   [](const R& r) { return text(r.note); }};
    Statement out;
    for (const auto& f : fields) out.params.push_back(UnnestInsert<R>::array_literal(last, f));
    out.sql =
        "UPDATE jobs SET state = v.state, attempt = v.attempt, agent_id = NULLIF(v.agent_id, 0),"
        " machine_id = CASE WHEN v.agent_id = 0 THEN jobs.machine_id"
        "  ELSE NULLIF(v.machine_id, 0) END,"
        " queued_at = CASE WHEN v.queued_us = 0 THEN jobs.queued_at"
        "  ELSE to_timestamp(v.queued_us::float8 / 1e6) END,"
        " started_at = CASE WHEN v.started_us = 0 THEN NULL"
        "  ELSE to_timestamp(v.started_us::float8 / 1e6) END,"
        " ended_at = CASE WHEN v.ended_us = 0 THEN NULL"
        "  ELSE to_timestamp(v.ended_us::float8 / 1e6) END,"
        " message = v.message, note = v.note"
        " FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[], $5::bigint[],"
        " $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[])"
        " AS v(id, state, attempt, agent_id, machine_id, queued_us, started_us, ended_us,"
        " message, note) WHERE jobs.id = v.id";
    return out;
  }

  // The jobs' rows (the last state of each job) and every event in order.
  std::vector<Statement> statements(const std::vector<R>& batch) const {
    std::map<uint64_t, size_t> last_of;
    for (size_t i = 0; i < batch.size(); ++i) last_of[batch[i].id] = i;
    std::vector<R> last;
    last.reserve(last_of.size());
    for (const auto& [id, i] : last_of) last.push_back(batch[i]);
    Statement update = update_jobs(last), insert = events.statement(batch);
    update.name = "ys_transitions_jobs";
    insert.name = "ys_transitions_events";
    return {update, insert};
  }

  void write(pqxx::dbtransaction& tx, const std::vector<R>& batch) const {
    for (const Statement& st : statements(batch))
      tx.exec_params(st.sql, pqxx::prepare::make_dynamic_params(st.params));
  }

  void flush(pqxx::dbtransaction& tx) override { (void)flush_then(tx, ""); }

  bool flush_then(pqxx::dbtransaction& tx, const std::string& then) override {
    if (rows.empty()) return false;
    std::vector<R> batch;
    batch.swap(rows);
    std::string why;
    switch (exec_in_savepoint(tx, "transitions", statements(batch), &why, then, &prepared)) {
      case OneTrip::kDone:
        return !then.empty();
      case OneTrip::kRefused:
        spdlog::warn("PostgreSQL refused a batch of {} transitions: {}; writing them one by one",
                     batch.size(), why);
        break;
      case OneTrip::kNotInlined:
        tx.exec("SAVEPOINT transitions");
        break;
    }
    // One bad row (a message the server refuses) costs that transition only.
    for (const R& r : batch) {
      try {
        write(tx, {r});
        tx.exec("RELEASE SAVEPOINT transitions");
        tx.exec("SAVEPOINT transitions");
      } catch (const pqxx::sql_error& e) {
        if (classify_sqlstate(e.sqlstate()) != StoreFault::kRefused) throw;
        tx.exec("ROLLBACK TO SAVEPOINT transitions");
        spdlog::error("PostgreSQL refused job {}'s transition to {}: {}", r.id, r.state, e.what());
      }
    }
    tx.exec("RELEASE SAVEPOINT transitions");
    return false;
  }
  void discard() noexcept override { rows.clear(); }
  size_t size() const override { return rows.size(); }
  void truncate(size_t n) override {
    if (n < rows.size()) rows.resize(n);
  }
};

PgPipelines::PgPipelines(PgSession& session)
    : s_(session), transitions_(std::make_unique<Transitions>(session.prepared_names())) {
  s_.add_batch(transitions_.get());
}

PgPipelines::~PgPipelines() = default;

uint64_t PgPipelines::insert_pipeline(const std::string& name, const std::string& revision,
                                      const std::string& branch, const std::string& submitter,
                                      const std::string& file_name, const std::string& definition,
                                      const std::optional<SignedSubmission>& signed_submission) {
  return pg_call(s_, [&] {
    const bool is_signed = signed_submission.has_value();
    auto r = s_.exec_prepared(
        "insert_pipeline",
        "INSERT INTO pipelines (name, revision, branch, submitter, file_name, definition,"
        " signing_key, signature) VALUES ($1, $2, $3, $4, $5, $6,"
        " CASE WHEN $7 THEN $8 END, CASE WHEN $7 THEN $9::bytea END) RETURNING id",
        name, revision, branch, submitter, file_name, definition, is_signed,
        is_signed ? signing::public_key_text(signed_submission->public_key) : std::string(),
        pqxx::binarystring(is_signed ? signed_submission->signature : std::string()));
    return r[0][0].as<uint64_t>();
  });
}

void PgPipelines::set_pipeline_budget(uint64_t pipeline_id, uint64_t wall_ms) {
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE pipelines SET budget_wall_ms = $2 WHERE id = $1",
                        static_cast<int64_t>(pipeline_id), static_cast<int64_t>(wall_ms));
  });
}

void PgPipelines::mark_bisection(uint64_t pipeline_id, const std::string& what) {
  pg_call(s_, [&] {
    s_.tx().exec_params(
        "UPDATE pipelines SET bisection = $2, changes_checked_at = now() WHERE id = $1",
        static_cast<int64_t>(pipeline_id), what);
  });
}

RecordedBisection PgPipelines::record_bisection(const BisectionRecord& b) {
  return pg_call(s_, [&]() -> RecordedBisection {
    // Whose webhooks hear of it: the newest pipeline of the name that is
    // not one of a bisection's runs.
    auto pipeline = [](const char* name) {
      return std::string("(SELECT max(id) FROM pipelines WHERE name = ") + name +
             " AND bisection IS NULL)";
    };
    pqxx::result r;
    if (b.id)
      r = s_.tx().exec_params(
          "UPDATE bisections SET pipeline_name = $2, job = $3, kind = $4, what = $5, machine = $6,"
          " good_revision = $7, bad_revision = $8, outcome = $9, commit = NULLIF($10, ''),"
          " subject = NULLIF($11, ''), change_pct = $12, low_pct = $13, high_pct = $14,"
          " steps = $15, runs = $16, seconds = $17, message = $18, updated_at = now()"
          " WHERE id = $1 AND outcome = 'running' AND submitter = $19 RETURNING id, " +
              pipeline("$2"),
          static_cast<int64_t>(b.id), b.pipeline, b.job, b.kind, b.what, b.machine, b.good, b.bad,
          b.outcome, b.commit, b.subject, b.change_pct, b.low_pct, b.high_pct,
          static_cast<int64_t>(b.steps), static_cast<int64_t>(b.runs), b.seconds, b.message,
          b.submitter);
    else
      r = s_.tx().exec_params(
          "INSERT INTO bisections (pipeline_name, job, kind, what, machine, good_revision, "
          "bad_revision, outcome, commit, subject, change_pct, low_pct, high_pct, steps, runs, "
          "seconds, message, submitter) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, ''), "
          "NULLIF($10, ''), $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id, " +
              pipeline("$1"),
          b.pipeline, b.job, b.kind, b.what, b.machine, b.good, b.bad, b.outcome, b.commit,
          b.subject, b.change_pct, b.low_pct, b.high_pct, static_cast<int64_t>(b.steps),
          static_cast<int64_t>(b.runs), b.seconds, b.message, b.submitter);
    if (r.empty()) return {};
    return {r[0][0].as<uint64_t>(), r[0][1].is_null() ? 0 : r[0][1].as<uint64_t>()};
  });
}

std::optional<PipelineBudgetBreach> PgPipelines::judge_pipeline_budget(uint64_t pipeline_id) {
  s_.flush();  // the jobs' ends of this turn
  return pg_call(s_, [&]() -> std::optional<PipelineBudgetBreach> {
    // The budget's text as a job's wall budget writes it ("wall <= 420s").
    // Prepared; it runs at the end of every pipeline with a budget.
    auto r = s_.exec_prepared(
        "judge_pipeline_budget",
        "INSERT INTO pipeline_budget_breaches (pipeline_id, budget, actual)"
        " SELECT p.id, 'wall <= ' || trim_scale(p.budget_wall_ms::numeric / 1000) || 's',"
        "        extract(epoch FROM max(j.ended_at) - p.submitted_at)::float8"
        " FROM pipelines p JOIN jobs j ON j.pipeline_id = p.id"
        " WHERE p.id = $1 AND p.budget_wall_ms IS NOT NULL"
        " GROUP BY p.id"
        " HAVING bool_and(j.state IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'))"
        "    AND extract(epoch FROM max(j.ended_at) - p.submitted_at) * 1000 > p.budget_wall_ms"
        " ON CONFLICT (pipeline_id) DO NOTHING"
        " RETURNING budget, actual,"
        "   (SELECT name FROM pipelines WHERE id = $1), (SELECT revision FROM pipelines WHERE id = "
        "$1),"
        "   (SELECT branch FROM pipelines WHERE id = $1),"
        "   (SELECT budget_wall_ms FROM pipelines WHERE id = $1)",
        static_cast<int64_t>(pipeline_id));
    if (r.empty()) return std::nullopt;
    PipelineBudgetBreach b;
    b.pipeline_id = pipeline_id;
    b.budget = r[0][0].as<std::string>();
    b.actual_s = r[0][1].as<double>();
    b.pipeline = r[0][2].as<std::string>();
    b.revision = r[0][3].as<std::string>();
    b.branch = r[0][4].as<std::string>();
    b.budget_ms = r[0][5].as<uint64_t>();
    return b;
  });
}

uint64_t PgPipelines::insert_job(const Job& job) {
  return pg_call(s_, [&] {
    // The job and its first event in one prepared statement.
    auto r = s_.exec_prepared(
        "insert_job",
        "WITH j AS (INSERT INTO jobs (pipeline_id, name, kind, state, attempt, retries, priority,"
        " on_labels, target_machine_id, spec, target_agent) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " $8::jsonb, NULLIF($9::bigint, 0), $10::jsonb, NULLIF($11, '')) RETURNING id)"
        " INSERT INTO job_events (job_id, attempt, from_state, to_state, message)"
        " SELECT id, $5, '', $4, 'submitted' FROM j RETURNING job_id",
        job.pipeline_id, job.name, std::string(to_string(job.spec.kind)),
        std::string(to_string(job.state)), job.attempt, job.retries, job.priority,
        labels_json(job.on_labels), job.target_machine_id.value_or(0), job_spec::to_json(job.spec),
        job.target_agent);
    return r[0][0].as<uint64_t>();
  });
}

void PgPipelines::insert_need(uint64_t job_id, uint64_t need_id) {
  pg_call(s_, [&] {
    s_.tx().exec_params("INSERT INTO job_needs (job_id, need_id) VALUES ($1, $2)", job_id, need_id);
  });
}

void PgPipelines::persist_transition(const Job& job, JobState from, const std::string& message) {
  // Written at flush with the turn's other transitions (two statements for
  // all of them), or before anything in the store reads the job's row.
  transitions_->rows.push_back(
      {job.id, std::string(to_string(job.state)), job.attempt, job.agent_id, job.machine_id,
       job.queued_at_us, job.started_at_us, is_terminal(job.state) ? job.ended_at_us : 0,
       job.message, std::string(to_string(job.note)), std::string(to_string(from)), message});
}

void PgPipelines::persist_message(const Job& job) {
  s_.flush();  // after the turn's transitions, which set the message too
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE jobs SET message = $2, note = $3 WHERE id = $1", job.id,
                        job.message, std::string(to_string(job.note)));
  });
}

void PgPipelines::persist_cancel_request(const Job& job) {
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE jobs SET cancel_requested = true WHERE id = $1", job.id);
  });
}

void PgPipelines::record_revision(uint64_t job_id, uint64_t pipeline_id,
                                  const std::string& revision) {
  pg_call(s_, [&] {
    s_.tx().exec_params("UPDATE jobs SET revision = $2 WHERE id = $1", job_id, revision);
    s_.tx().exec_params(
        "UPDATE pipelines SET revision = $2 WHERE id = $1 AND (revision = '' OR NOT $2 LIKE"
        " revision || '%')",
        pipeline_id, revision);
  });
}

std::optional<uint64_t> PgPipelines::pipeline_of(uint64_t id) {
  return pg_call(s_, [&]() -> std::optional<uint64_t> {
    auto r = s_.tx().exec_params(
        "SELECT id FROM pipelines WHERE id = $1 UNION ALL SELECT pipeline_id FROM jobs WHERE id ="
        " $1",
        id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<uint64_t>();
  });
}

void PgPipelines::fail_unloadable(const UnloadableJob& job) {
  pg_call(s_, [&] {
    const std::string message = "the coordinator cannot load this job: " + job.why;
    s_.tx().exec_params(
        "UPDATE jobs SET state = 'failed', ended_at = now(), message = $2 WHERE id = $1", job.id,
        message);
    s_.tx().exec_params(
        "INSERT INTO job_events (job_id, attempt, from_state, to_state, message)"
        " SELECT id, attempt, '', 'failed', $2 FROM jobs WHERE id = $1",
        job.id, message);
    s_.tx().exec_params(
        "INSERT INTO refusals (peer, job_id, attempt, what, reason) VALUES ('store', $1, $2,"
        " 'stored job', $3)",
        job.id, job.attempt, job.why);
  });
}

LoadedJobs PgPipelines::load_active_jobs() {
  LoadedJobs out;
  pg_call(s_, [&] {
    auto rows = s_.tx().exec(
        "SELECT j.id, j.pipeline_id, j.name, j.state, j.attempt, j.retries, j.priority,"
        " j.on_labels::text, COALESCE(j.target_machine_id, 0), j.spec::text,"
        " COALESCE(a.name, ''), COALESCE(j.agent_id, 0), COALESCE(j.machine_id, 0), " +
        us("j.queued_at") + ", " + us("j.started_at") +
        ", j.message, p.revision, p.branch,"
        " p.name, COALESCE(tm.name, ''), j.cancel_requested,"
        " (SELECT " +
        us("min(s.started_at)") +
        " FROM steps s WHERE s.job_id = j.id AND s.attempt = j.attempt),"
        " COALESCE(j.target_agent, ''), p.definition, p.file_name, j.note, j.revision,"
        " COALESCE(d.outcome = 'rolled back', false), p.budget_wall_ms IS NOT NULL"
        " FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
        " LEFT JOIN agents a ON a.id = j.agent_id"
        " LEFT JOIN machines tm ON tm.id = j.target_machine_id"
        " LEFT JOIN deploys d ON d.job_id = j.id AND d.attempt = j.attempt"
        " WHERE j.state NOT IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')"
        " ORDER BY j.id");
    // What the stored definition says beyond the spec: the concurrency
    // group and the no_regression needs (parsed once per pipeline).
    std::map<uint64_t, std::optional<PipelineDef>> definitions;
    auto definition = [&](uint64_t pipeline_id, const std::string& text,
                          const std::string& file) -> const PipelineDef* {
      auto [it, fresh] = definitions.try_emplace(pipeline_id);
      if (fresh) {
        auto parsed = parse_pipeline(text, file.empty() ? "pipeline.yml" : file);
        it->second = std::move(parsed.pipeline);
      }
      return it->second ? &*it->second : nullptr;
    };
    std::map<uint64_t, const JobDef*> defs;  // by job id
    for (const auto& r : rows) {
      Job job;
      job.id = r[0].as<uint64_t>();
      job.attempt = r[4].as<uint32_t>();
      try {
        job.spec = job_spec::from_json(r[9].as<std::string>());
        job.on_labels = labels_from_json(r[7].as<std::string>());
      } catch (const std::exception& e) {
        // One row that does not decode costs that job, never the start.
        out.unloadable.push_back({job.id, job.attempt, e.what()});
        continue;
      }
      job.pipeline_id = r[1].as<uint64_t>();
      job.name = r[2].as<std::string>();
      job.state = parse_job_state(r[3].as<std::string>()).value_or(JobState::kFailed);
      job.retries = r[5].as<uint32_t>();
      job.priority = r[6].as<int32_t>();
      if (uint64_t t = r[8].as<uint64_t>()) job.target_machine_id = t;
      job.agent = r[10].as<std::string>();
      job.agent_id = r[11].as<uint64_t>();
      job.machine_id = r[12].as<uint64_t>();
      job.queued_at_us = r[13].as<int64_t>();
      job.started_at_us = r[14].as<int64_t>();
      job.message = r[15].as<std::string>();
      job.target_machine = r[19].as<std::string>();
      job.cancel_requested = r[20].as<bool>();
      job.agent_started_at_us = r[21].as<int64_t>();
      job.target_agent = r[22].as<std::string>();
      job.note = parse_job_note(r[25].as<std::string>());
      job.checked_out = r[26].as<std::string>();
      job.rolled_back = r[27].as<bool>();
      job.pipeline_budgeted = r[28].as<bool>();
      job.spec.pipeline_id = job.pipeline_id;
      // A calibration's pipeline is no pipeline file: nothing to find there.
      if (job.spec.kind != JobKind::kCalibrate)
        if (const PipelineDef* def =
                definition(job.pipeline_id, r[23].as<std::string>(), r[24].as<std::string>()))
          if (const JobDef* jd = def->find_job(job.name)) {
            job.concurrency = jd->concurrency;
            defs[job.id] = jd;
          }
      out.jobs.push_back(std::move(job));
    }
    auto needs = s_.tx().exec(
        "SELECT n.job_id, n.need_id, d.state, d.name FROM job_needs n"
        " JOIN jobs j ON j.id = n.job_id JOIN jobs d ON d.id = n.need_id"
        " WHERE j.state = 'pending'");
    std::map<uint64_t, Job*> by_id;
    for (auto& j : out.jobs) by_id[j.id] = &j;
    for (const auto& r : needs) {
      uint64_t job_id = r[0].as<uint64_t>(), need_id = r[1].as<uint64_t>();
      if (auto it = by_id.find(job_id); it != by_id.end()) {
        it->second->needs.push_back(need_id);
        if (auto d = defs.find(job_id);
            d != defs.end() && needs_no_regression(*d->second, r[3].as<std::string>()))
          it->second->no_regression_needs.push_back(need_id);
      }
      auto state = parse_job_state(r[2].as<std::string>()).value_or(JobState::kFailed);
      if (is_terminal(state)) out.ended_needs[need_id] = state;
    }
    // A need that is itself unloadable is failed by the caller: it ended so.
    for (const auto& u : out.unloadable) out.ended_needs[u.id] = JobState::kFailed;
  });
  return out;
}

}  // namespace yardstick
