#include "coordinator/store.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "coordinator/migrations.hpp"

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

// Unix microseconds <-> timestamptz, in SQL.
constexpr const char* kUsToTs = "to_timestamp(%s::float8 / 1e6)";
std::string ts(const char* param) {
  char buf[64];
  std::snprintf(buf, sizeof buf, kUsToTs, param);
  return buf;
}
constexpr const char* kTsUs = "COALESCE((extract(epoch FROM %s) * 1e6)::bigint, 0)";
std::string us(const char* column) {
  char buf[160];
  std::snprintf(buf, sizeof buf, kTsUs, column);
  return buf;
}
}  // namespace

json budget_json(const std::optional<Budget>& b) {
  if (!b) return nullptr;
  json metrics = json::array();
  for (const auto& m : b->metrics)
    metrics.push_back({{"metric", m.metric}, {"op", m.op}, {"value", m.value}});
  return {{"wall_ms", b->wall_ms}, {"metrics", metrics}, {"fail", b->fail}};
}

std::optional<Budget> budget_from(const json& j) {
  if (j.is_null()) return std::nullopt;
  Budget b;
  b.wall_ms = j.value("wall_ms", uint64_t{0});
  b.fail = j.value("fail", false);
  for (const auto& m : j.value("metrics", json::array()))
    b.metrics.push_back({m.value("metric", ""), m.value("op", ">="), m.value("value", 0.0)});
  return b;
}

std::string spec_to_json(const JobAssignment& a) {
  json steps = json::array();
  for (const auto& s : a.steps)
    steps.push_back({{"name", s.name},
                     {"run", s.run},
                     {"env", s.env},
                     {"timed", s.timed},
                     {"timeout_ms", s.timeout_ms},
                     {"collect", s.collect},
                     {"budget", budget_json(s.budget)}});
  json bench = nullptr;
  if (a.bench) {
    const BenchSpec& b = *a.bench;
    bench = {{"run", b.run},
             {"setup", b.setup},
             {"prepare", b.prepare},
             {"conclude", b.conclude},
             {"cleanup", b.cleanup},
             {"warmup", b.warmup},
             {"runs", b.runs},
             {"min_runs", b.min_runs},
             {"max_runs", b.max_runs},
             {"max_time_ms", b.max_time_ms},
             {"ignore_failure", b.ignore_failure},
             {"interleave", b.interleave},
             {"collect", b.collect},
             {"alpha", b.alpha},
             {"noise_floor", b.noise_floor}};
  }
  json variants = json::array();
  for (const auto& v : a.variants)
    variants.push_back({{"name", v.name}, {"env", v.env}, {"run", v.run}});
  json j = {{"pipeline_name", a.pipeline_name},
            {"job_name", a.job_name},
            {"kind", a.kind},
            {"revision", a.revision},
            {"branch", a.branch},
            {"checkout_repo", a.checkout_repo},
            {"workdir", a.workdir},
            {"env", a.env},
            {"steps", steps},
            {"timeout_ms", a.timeout_ms},
            {"slots", a.slots},
            {"bench", bench},
            {"variants", variants},
            {"budget", budget_json(a.budget)}};
  return j.dump();
}

JobAssignment spec_from_json(const std::string& text) {
  json j = json::parse(text);
  JobAssignment a;
  a.pipeline_name = j.value("pipeline_name", "");
  a.job_name = j.value("job_name", "");
  a.kind = j.value("kind", "build");
  a.revision = j.value("revision", "");
  a.branch = j.value("branch", "");
  a.checkout_repo = j.value("checkout_repo", "");
  a.workdir = j.value("workdir", "");
  a.env = j.value("env", EnvVars{});
  for (const auto& s : j.value("steps", json::array())) {
    StepSpec step;
    step.name = s.value("name", "");
    step.run = s.value("run", "");
    step.env = s.value("env", EnvVars{});
    step.timed = s.value("timed", true);
    step.timeout_ms = s.value("timeout_ms", uint64_t{0});
    step.collect = s.value("collect", std::vector<std::string>{});
    step.budget = budget_from(s.value("budget", json()));
    a.steps.push_back(std::move(step));
  }
  a.timeout_ms = j.value("timeout_ms", uint64_t{0});
  a.slots = j.value("slots", 1u);
  if (j.contains("bench") && !j["bench"].is_null()) {
    const json& b = j["bench"];
    BenchSpec s;
    s.run = b.value("run", "");
    s.setup = b.value("setup", "");
    s.prepare = b.value("prepare", "");
    s.conclude = b.value("conclude", "");
    s.cleanup = b.value("cleanup", "");
    s.warmup = b.value("warmup", 0u);
    s.runs = b.value("runs", 0u);
    s.min_runs = b.value("min_runs", 10u);
    s.max_runs = b.value("max_runs", 0u);
    s.max_time_ms = b.value("max_time_ms", uint64_t{3000});
    s.ignore_failure = b.value("ignore_failure", false);
    s.interleave = b.value("interleave", true);
    s.collect = b.value("collect", std::vector<std::string>{});
    s.alpha = b.value("alpha", 0.05);
    s.noise_floor = b.value("noise_floor", 0.01);
    a.bench = s;
  }
  for (const auto& v : j.value("variants", json::array()))
    a.variants.push_back({v.value("name", ""), v.value("env", EnvVars{}), v.value("run", "")});
  a.budget = budget_from(j.value("budget", json()));
  return a;
}

PgStore::PgStore(std::string dsn) : dsn_(std::move(dsn)) {}
PgStore::~PgStore() {
  rollback();
  conn_.reset();
}

void PgStore::rethrow(const std::exception& e) {
  if (dynamic_cast<const StoreError*>(&e)) throw StoreError(e.what(), true);
  const bool broken = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
                      (conn_ && !conn_->is_open());
  if (broken) {
    tx_.reset();
    conn_.reset();
  }
  throw StoreError(e.what(), true);
}

void PgStore::connect() {
  tx_.reset();
  conn_.reset();
  try {
    conn_ = std::make_unique<pqxx::connection>(dsn_);
  } catch (const std::exception& e) {
    conn_.reset();
    throw StoreError(std::string("cannot connect to PostgreSQL: ") + e.what(), true);
  }
}

bool PgStore::connected() const {
  return conn_ && conn_->is_open();
}

int PgStore::migrate() {
  const auto& known = migrations();
  const int latest = known.empty() ? 0 : known.back().version;
  try {
    {
      pqxx::work w(*conn_);
      w.exec("SELECT pg_advisory_xact_lock(7400411)");
      w.exec0(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      w.commit();
    }
    for (const auto& m : known) {
      pqxx::work w(*conn_);
      w.exec("SELECT pg_advisory_xact_lock(7400411)");
      int current = w.exec1("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0].as<int>();
      if (current > latest)
        throw StoreError("the database schema is at version " + std::to_string(current) +
                             ", newer than this coordinator knows (" + std::to_string(latest) +
                             "); run a newer yardstick-coordinator",
                         false);
      if (w.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version).empty()) {
        spdlog::info("applying migration {:04d}_{}", m.version, m.name);
        w.exec(m.sql);
        w.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                      m.name);
      }
      w.commit();
    }
    pqxx::work w(*conn_);
    int current = w.exec1("SELECT COALESCE(max(version), 0) FROM schema_migrations")[0].as<int>();
    if (current > latest)
      throw StoreError("the database schema is at version " + std::to_string(current) +
                           ", newer than this coordinator knows (" + std::to_string(latest) +
                           "); run a newer yardstick-coordinator",
                       false);
    return current;
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::begin() {
  if (!connected()) connect();
  tx_.reset();
  try {
    tx_ = std::make_unique<pqxx::work>(*conn_);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::commit() {
  try {
    flush_pending();
    tx().commit();
    tx_.reset();
  } catch (const std::exception& e) {
    tx_.reset();
    rethrow(e);
  }
}

void PgStore::rollback() noexcept {
  pending_samples_.clear();
  pending_metrics_.clear();
  try {
    if (tx_) tx_->abort();
  } catch (...) {
  }
  tx_.reset();
}

pqxx::work& PgStore::tx() {
  if (!tx_) throw StoreError("no open transaction", true);
  return *tx_;
}

uint64_t PgStore::upsert_machine(const MachineInfo& m) {
  json tools = json::object();
  for (const auto& t : m.tools) tools[t.name] = t.version;
  try {
    auto r = tx().exec_params(
        "INSERT INTO machines (fingerprint, name, cpu_model, logical_cores, memory_bytes,"
        " os_release, kernel, arch, tools) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)"
        " ON CONFLICT (fingerprint) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        m.fingerprint(), m.name, m.cpu_model, m.logical_cores, m.memory_bytes, m.os_release,
        m.kernel, m.arch, tools.dump());
    return r[0][0].as<uint64_t>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

uint64_t PgStore::upsert_agent(const std::string& name, const Labels& labels, uint32_t slots,
                               uint64_t machine_id, const std::string& version) {
  try {
    auto r = tx().exec_params(
        "INSERT INTO agents (name, labels, slots, machine_id, version) VALUES ($1, $2::jsonb, $3,"
        " $4, $5) ON CONFLICT (name) DO UPDATE SET labels = EXCLUDED.labels, slots ="
        " EXCLUDED.slots, machine_id = EXCLUDED.machine_id, version = EXCLUDED.version,"
        " last_seen = now() RETURNING id",
        name, labels_json(labels), slots, machine_id, version);
    return r[0][0].as<uint64_t>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::touch_agent(uint64_t agent_id) {
  try {
    tx().exec_params("UPDATE agents SET last_seen = now() WHERE id = $1", agent_id);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

uint64_t PgStore::insert_pipeline(const std::string& name, const std::string& revision,
                                  const std::string& branch, const std::string& submitter,
                                  const std::string& file_name, const std::string& definition) {
  try {
    auto r = tx().exec_params(
        "INSERT INTO pipelines (name, revision, branch, submitter, file_name, definition)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        name, revision, branch, submitter, file_name, definition);
    return r[0][0].as<uint64_t>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

uint64_t PgStore::insert_job(const Job& job) {
  try {
    auto r = tx().exec_params(
        "INSERT INTO jobs (pipeline_id, name, kind, state, attempt, retries, priority, on_labels,"
        " target_machine_id, spec) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb,"
        " NULLIF($9::bigint, 0), $10::jsonb) RETURNING id",
        job.pipeline_id, job.name, job.spec.kind, std::string(to_string(job.state)), job.attempt,
        job.retries, job.priority, labels_json(job.on_labels), job.target_machine_id.value_or(0),
        spec_to_json(job.spec));
    uint64_t id = r[0][0].as<uint64_t>();
    tx().exec_params(
        "INSERT INTO job_events (job_id, attempt, from_state, to_state, message)"
        " VALUES ($1, $2, '', $3, 'submitted')",
        id, job.attempt, std::string(to_string(job.state)));
    return id;
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::insert_need(uint64_t job_id, uint64_t need_id) {
  try {
    tx().exec_params("INSERT INTO job_needs (job_id, need_id) VALUES ($1, $2)", job_id, need_id);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::persist_transition(const Job& job, JobState from, const std::string& message) {
  try {
    const std::string to = std::string(to_string(job.state));
    tx().exec_params(
        "UPDATE jobs SET state = $2, attempt = $3, agent_id = NULLIF($4::bigint, 0),"
        " machine_id = CASE WHEN $4::bigint = 0 THEN machine_id ELSE NULLIF($5::bigint, 0) END,"
        " queued_at = CASE WHEN $6::bigint = 0 THEN queued_at ELSE " +
            ts("$6") +
            " END,"
            " started_at = CASE WHEN $7::bigint = 0 THEN NULL ELSE " +
            ts("$7") +
            " END,"
            " ended_at = CASE WHEN $8::bigint = 0 THEN NULL ELSE " +
            ts("$8") +
            " END,"
            " message = $9 WHERE id = $1",
        job.id, to, job.attempt, job.agent_id, job.machine_id, job.queued_at_us, job.started_at_us,
        is_terminal(job.state) ? job.ended_at_us : 0, job.message);
    tx().exec_params(
        "INSERT INTO job_events (job_id, attempt, from_state, to_state, agent_id, message)"
        " VALUES ($1, $2, $3, $4, NULLIF($5::bigint, 0), $6)",
        job.id, job.attempt, std::string(to_string(from)), to, job.agent_id, message);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                                  uint64_t agent_id, uint64_t machine_id, int64_t started_at_us) {
  try {
    tx().exec_params(
        "INSERT INTO steps (job_id, attempt, idx, name, agent_id, machine_id, started_at)"
        " VALUES ($1, $2, $3, $4, NULLIF($5::bigint, 0), NULLIF($6::bigint, 0), " +
            ts("$7") +
            ")"
            " ON CONFLICT DO NOTHING",
        key.job_id, key.attempt, index, name, agent_id, machine_id, started_at_us);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_step_finished(const ResultKey& key, const StepResult& s, uint64_t agent_id,
                                   uint64_t machine_id) {
  try {
    tx().exec_params(
        "INSERT INTO steps (job_id, attempt, idx, name, command, timed, agent_id, machine_id,"
        " started_at, ended_at, wall_s, user_s, sys_s, max_rss_kb, exit_code, signal, timed_out)"
        " VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, 0), NULLIF($8::bigint, 0), " +
            ts("$9") + ", " + ts("$10") +
            ", $11, $12, $13, $14, $15, $16, $17)"
            " ON CONFLICT (job_id, attempt, idx) DO UPDATE SET command = EXCLUDED.command,"
            " timed = EXCLUDED.timed, ended_at = EXCLUDED.ended_at, wall_s = EXCLUDED.wall_s,"
            " user_s = EXCLUDED.user_s, sys_s = EXCLUDED.sys_s, max_rss_kb = EXCLUDED.max_rss_kb,"
            " exit_code = EXCLUDED.exit_code, signal = EXCLUDED.signal,"
            " timed_out = EXCLUDED.timed_out WHERE steps.ended_at IS NULL",
        key.job_id, key.attempt, s.index, s.name, s.command, s.timed, agent_id, machine_id,
        s.started_at_us, s.ended_at_us, s.wall_ns / 1e9, s.user_us / 1e6, s.sys_us / 1e6,
        s.max_rss_kb, s.exit_code, s.signal, s.timed_out);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                               const std::string& data, int64_t at_us) {
  try {
    tx().exec_params(
        "INSERT INTO log_chunks (job_id, attempt, seq, stream, step_idx, data, at)"
        " VALUES ($1, $2, $3, $4, NULLIF($5::integer, -1), $6, " +
            ts("$7") +
            ")"
            " ON CONFLICT DO NOTHING",
        key.job_id, key.attempt, key.seq, stream, step_index, pqxx::binarystring(data), at_us);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_sample(const ResultKey& key, uint32_t variant_index,
                            const std::string& variant, uint32_t index, const StepResult& r) {
  pending_samples_.push_back({key, variant_index, index, variant, r});
}

void PgStore::record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                            int32_t run_index, const std::string& name, double value,
                            const std::string& unit) {
  pending_metrics_.push_back({key, step_index, run_index, variant, name, unit, value});
}

namespace {
// A PostgreSQL array literal of the values, each quoted.
template <typename T, typename F>
std::string pg_array(const std::vector<T>& items, F field) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : field(items[i])) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// Shortest text that reads back to the same value; std::to_chars skips the
// locale machinery of streams, which dominated the cost of large batches.
template <typename T>
std::string num(T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}
}  // namespace

void PgStore::flush_pending() {
  try {
    if (!pending_samples_.empty()) {
      const auto& p = pending_samples_;
      using S = PendingSample;
      tx().exec_params(
          "INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s,"
          " max_rss_kb, exit_code, signal, at) SELECT job_id, attempt, variant_idx, variant, idx,"
          " wall_s, user_s, sys_s, max_rss_kb, exit_code, signal, to_timestamp(at_us / 1e6) FROM"
          " unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::int[], $6::float8[],"
          " $7::float8[], $8::float8[], $9::bigint[], $10::int[], $11::int[], $12::float8[]) AS"
          " t(job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s, max_rss_kb,"
          " exit_code, signal, at_us) ON CONFLICT DO NOTHING",
          pg_array(p, [](const S& s) { return num(s.key.job_id); }),
          pg_array(p, [](const S& s) { return num(s.key.attempt); }),
          pg_array(p, [](const S& s) { return num(s.variant_index); }),
          pg_array(p, [](const S& s) { return s.variant; }),
          pg_array(p, [](const S& s) { return num(s.index); }),
          pg_array(p, [](const S& s) { return num(s.run.wall_ns / 1e9); }),
          pg_array(p, [](const S& s) { return num(s.run.user_us / 1e6); }),
          pg_array(p, [](const S& s) { return num(s.run.sys_us / 1e6); }),
          pg_array(p, [](const S& s) { return num(s.run.max_rss_kb); }),
          pg_array(p, [](const S& s) { return num(s.run.exit_code); }),
          pg_array(p, [](const S& s) { return num(s.run.signal); }),
          pg_array(p, [](const S& s) { return num(s.run.started_at_us); }));
      pending_samples_.clear();
    }
    if (!pending_metrics_.empty()) {
      const auto& p = pending_metrics_;
      using M = PendingMetric;
      tx().exec_params(
          "INSERT INTO metrics (job_id, attempt, seq, step_idx, variant, run_idx, name, value,"
          " unit) SELECT job_id, attempt, seq, NULLIF(step_idx, -1), variant, NULLIF(run_idx, -1),"
          " name, value, unit FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[],"
          " $5::text[], $6::int[], $7::text[], $8::float8[], $9::text[]) AS t(job_id, attempt,"
          " seq, step_idx, variant, run_idx, name, value, unit) ON CONFLICT DO NOTHING",
          pg_array(p, [](const M& m) { return num(m.key.job_id); }),
          pg_array(p, [](const M& m) { return num(m.key.attempt); }),
          pg_array(p, [](const M& m) { return num(m.key.seq); }),
          pg_array(p, [](const M& m) { return num(m.step_index); }),
          pg_array(p, [](const M& m) { return m.variant; }),
          pg_array(p, [](const M& m) { return num(m.run_index); }),
          pg_array(p, [](const M& m) { return m.name; }),
          pg_array(p, [](const M& m) { return num(m.value); }),
          pg_array(p, [](const M& m) { return m.unit; }));
      pending_metrics_.clear();
    }
  } catch (const std::exception& e) {
    pending_samples_.clear();
    pending_metrics_.clear();
    rethrow(e);
  }
}

void PgStore::samples(uint64_t job_id, uint32_t attempt, std::vector<std::string>* names,
                      std::vector<std::vector<double>>* walls) {
  flush_pending();
  try {
    auto rows = tx().exec_params(
        "SELECT variant_idx, variant, wall_s FROM samples WHERE job_id = $1 AND attempt = $2"
        " ORDER BY variant_idx, idx",
        job_id, attempt);
    for (const auto& r : rows) {
      size_t v = r[0].as<size_t>();
      if (walls->size() <= v) {
        walls->resize(v + 1);
        names->resize(v + 1);
      }
      (*names)[v] = r[1].as<std::string>();
      (*walls)[v].push_back(r[2].as<double>());
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

std::map<std::string, double> PgStore::metric_values(uint64_t job_id, uint32_t attempt,
                                                     std::optional<int> step_index) {
  flush_pending();
  std::map<std::string, double> out;
  try {
    auto rows = tx().exec_params(
        "SELECT DISTINCT ON (name) name, value FROM metrics WHERE job_id = $1 AND attempt = $2"
        " AND ($3 OR step_idx = $4) ORDER BY name, seq DESC",
        job_id, attempt, !step_index.has_value(), step_index.value_or(-1));
    for (const auto& r : rows) out[r[0].as<std::string>()] = r[1].as<double>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

std::map<int, double> PgStore::step_walls(uint64_t job_id, uint32_t attempt) {
  std::map<int, double> out;
  try {
    auto rows = tx().exec_params(
        "SELECT idx, wall_s FROM steps WHERE job_id = $1 AND attempt = $2 AND wall_s IS NOT NULL",
        job_id, attempt);
    for (const auto& r : rows) out[r[0].as<int>()] = r[1].as<double>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

void PgStore::save_bench_results(uint64_t job_id, uint32_t attempt,
                                 const std::vector<VariantResult>& results) {
  try {
    for (size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      const auto& s = r.summary;
      std::string warnings = "{";
      for (size_t k = 0; k < r.warnings.size(); ++k) {
        std::string w = r.warnings[k];
        std::string escaped;
        for (char c : w) {
          if (c == '"' || c == '\\') escaped += '\\';
          escaped += c;
        }
        warnings += (k ? ",\"" : "\"") + escaped + "\"";
      }
      warnings += "}";
      const bool has = r.vs_baseline.has_value();
      tx().exec_params(
          "INSERT INTO bench_results (job_id, attempt, variant_idx, variant, n, min_s, max_s,"
          " mean_s, median_s, stddev_s, mad_s, q1_s, q3_s, ratio, ci_low, ci_high, p_value,"
          " verdict, warnings) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
          " CASE WHEN $19 THEN $14::float8 END, CASE WHEN $19 THEN $15::float8 END,"
          " CASE WHEN $19 THEN $16::float8 END, CASE WHEN $19 THEN $17::float8 END,"
          " CASE WHEN $19 THEN $18 END, $20::text[]) ON CONFLICT DO NOTHING",
          job_id, attempt, i, r.variant, s.n, s.min, s.max, s.mean, s.median, s.stddev, s.mad, s.q1,
          s.q3, has ? r.vs_baseline->ratio : 1.0, has ? r.vs_baseline->ci_low : 1.0,
          has ? r.vs_baseline->ci_high : 1.0, has ? r.vs_baseline->p : 1.0,
          has ? to_string(r.vs_baseline->verdict) : std::string(), has, warnings);
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::save_budget_breaches(uint64_t job_id, uint32_t attempt,
                                   const std::vector<BudgetBreach>& breaches) {
  try {
    for (const auto& b : breaches)
      tx().exec_params(
          "INSERT INTO budget_breaches (job_id, attempt, step_idx, subject, budget, actual,"
          " fails_job) VALUES ($1, $2, NULLIF($3::integer, -1), $4, $5,"
          " CASE WHEN $6 THEN $7::float8 END, $8)",
          job_id, attempt, b.step_index.value_or(-1), b.subject, b.budget, b.actual.has_value(),
          b.actual.value_or(0), b.fails_job);
    if (!breaches.empty())
      tx().exec_params("UPDATE jobs SET over_budget = true WHERE id = $1", job_id);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::run_report(const std::string& sql, const std::vector<std::string>& params,
                         std::vector<std::string>* columns,
                         std::vector<std::vector<std::string>>* rows) {
  try {
    tx().exec("SAVEPOINT report");
    pqxx::result r;
    try {
      r = tx().exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    } catch (const pqxx::sql_error& e) {
      tx().exec("ROLLBACK TO SAVEPOINT report");
      throw StoreError(std::string("report failed: ") + e.what(), false);
    }
    tx().exec("RELEASE SAVEPOINT report");
    for (pqxx::row::size_type c = 0; c < r.columns(); ++c) columns->push_back(r.column_name(c));
    for (const auto& row : r) {
      std::vector<std::string> out;
      for (const auto& f : row) out.push_back(f.is_null() ? "" : f.c_str());
      rows->push_back(std::move(out));
    }
  } catch (const StoreError&) {
    throw;
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

LoadedJobs PgStore::load_active_jobs() {
  LoadedJobs out;
  try {
    auto rows = tx().exec(
        "SELECT j.id, j.pipeline_id, j.name, j.state, j.attempt, j.retries, j.priority,"
        " j.on_labels::text, COALESCE(j.target_machine_id, 0), j.spec::text,"
        " COALESCE(a.name, ''), COALESCE(j.agent_id, 0), COALESCE(j.machine_id, 0), " +
        us("j.queued_at") + ", " + us("j.started_at") +
        ", j.message, p.revision, p.branch,"
        " p.name FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
        " LEFT JOIN agents a ON a.id = j.agent_id"
        " WHERE j.state NOT IN ('succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')"
        " ORDER BY j.id");
    for (const auto& r : rows) {
      Job job;
      job.id = r[0].as<uint64_t>();
      job.pipeline_id = r[1].as<uint64_t>();
      job.name = r[2].as<std::string>();
      job.state = parse_job_state(r[3].as<std::string>()).value_or(JobState::kFailed);
      job.attempt = r[4].as<uint32_t>();
      job.retries = r[5].as<uint32_t>();
      job.priority = r[6].as<int32_t>();
      job.on_labels = labels_from_json(r[7].as<std::string>());
      if (uint64_t t = r[8].as<uint64_t>()) job.target_machine_id = t;
      job.spec = spec_from_json(r[9].as<std::string>());
      job.agent = r[10].as<std::string>();
      job.agent_id = r[11].as<uint64_t>();
      job.machine_id = r[12].as<uint64_t>();
      job.queued_at_us = r[13].as<int64_t>();
      job.started_at_us = r[14].as<int64_t>();
      job.message = r[15].as<std::string>();
      job.spec.pipeline_id = job.pipeline_id;
      out.jobs.push_back(std::move(job));
    }
    auto needs = tx().exec(
        "SELECT n.job_id, n.need_id, d.state FROM job_needs n JOIN jobs j ON j.id = n.job_id"
        " JOIN jobs d ON d.id = n.need_id WHERE j.state = 'pending'");
    std::map<uint64_t, Job*> by_id;
    for (auto& j : out.jobs) by_id[j.id] = &j;
    for (const auto& r : needs) {
      uint64_t job_id = r[0].as<uint64_t>(), need_id = r[1].as<uint64_t>();
      if (auto it = by_id.find(job_id); it != by_id.end()) it->second->needs.push_back(need_id);
      auto state = parse_job_state(r[2].as<std::string>()).value_or(JobState::kFailed);
      if (is_terminal(state)) out.ended_needs[need_id] = state;
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

std::optional<uint64_t> PgStore::pipeline_of(uint64_t id) {
  try {
    auto r = tx().exec_params(
        "SELECT id FROM pipelines WHERE id = $1 UNION ALL SELECT pipeline_id FROM jobs WHERE id ="
        " $1",
        id);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<uint64_t>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

std::optional<PipelineView> PgStore::status(uint64_t id) {
  try {
    auto p = tx().exec_params(
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
    auto jobs = tx().exec_params(
        "SELECT j.id, j.name, j.state, COALESCE(a.name, ''), COALESCE(m.name, ''), j.attempt, " +
            us("j.started_at") + ", " + us("j.ended_at") +
            ", j.message, j.over_budget FROM jobs j LEFT JOIN agents a ON a.id = j.agent_id"
            " LEFT JOIN machines m ON m.id = j.machine_id"
            " WHERE j.pipeline_id = $1 AND ($2 OR j.id = $3) ORDER BY j.id",
        view.id, whole_pipeline, id);
    for (const auto& r : jobs) {
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
      if (j.over_budget)
        for (const auto& b : tx().exec_params(
                 "SELECT budget || ' (actual ' || COALESCE(actual::text, 'never reported') || ')'"
                 " FROM budget_breaches WHERE job_id = $1 AND attempt = $2 ORDER BY id",
                 j.id, j.attempt))
          j.budget_breaches.push_back(b[0].as<std::string>());
      auto steps = tx().exec_params(
          "SELECT idx, name, COALESCE(wall_s, 0), COALESCE(exit_code, 0), ended_at IS NOT NULL"
          " FROM steps WHERE job_id = $1 AND attempt = $2 ORDER BY idx",
          j.id, j.attempt);
      for (const auto& s : steps)
        j.steps.push_back({s[0].as<uint32_t>(), s[1].as<std::string>(), s[2].as<double>(),
                           s[3].as<int32_t>(), s[4].as<bool>()});
      view.jobs.push_back(std::move(j));
    }
    return view;
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

std::vector<LogView> PgStore::logs(uint64_t job_id, uint64_t after_id, uint32_t max_bytes) {
  std::vector<LogView> out;
  try {
    auto rows = tx().exec_params(
        "SELECT id, attempt, stream, data FROM log_chunks WHERE job_id = $1 AND id > $2"
        " ORDER BY id LIMIT 1000",
        job_id, after_id);
    size_t total = 0;
    for (const auto& r : rows) {
      pqxx::binarystring data(r[3]);
      if (!out.empty() && total + data.size() > max_bytes) break;
      total += data.size();
      out.push_back({r[0].as<uint64_t>(), r[1].as<uint32_t>(), r[2].as<std::string>(), data.str()});
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

std::vector<AgentRow> PgStore::agents() {
  std::vector<AgentRow> out;
  try {
    auto rows =
        tx().exec("SELECT a.id, a.name, a.labels::text, a.slots, m.name, " + us("a.last_seen") +
                  " FROM agents a JOIN machines m ON m.id = a.machine_id ORDER BY a.name");
    for (const auto& r : rows)
      out.push_back({r[0].as<uint64_t>(), r[1].as<std::string>(),
                     labels_from_json(r[2].as<std::string>()), r[3].as<uint32_t>(),
                     r[4].as<std::string>(), r[5].as<int64_t>()});
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

}  // namespace yardstick
