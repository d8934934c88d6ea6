#include "coordinator/store.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>

#include "common/job_spec.hpp"
#include "common/pipeline.hpp"
#include "common/signing.hpp"
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

StoreFault classify_sqlstate(std::string_view state) {
  if (state.size() != 5) return StoreFault::kUnavailable;
  const std::string_view cls = state.substr(0, 2);
  if (cls == "22" || cls == "23" || cls == "42" || cls == "54") return StoreFault::kRefused;
  return StoreFault::kUnavailable;
}

std::string dsn_with_options(const std::string& dsn, const PgOptions& o) {
  const bool uri = dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0;
  std::string out = dsn;
  auto add = [&](const std::string& key, const std::string& value) {
    if (dsn.find(key + "=") != std::string::npos) return;  // the user's own setting wins
    if (uri)
      out += (out.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else
      out += (out.empty() ? "" : " ") + key + "=" + value;
  };
  add("connect_timeout", std::to_string(o.connect_timeout_s));
  add("keepalives", "1");
  add("keepalives_idle", std::to_string(o.keepalive_idle_s));
  add("keepalives_interval", std::to_string(o.keepalive_interval_s));
  add("keepalives_count", std::to_string(o.keepalive_count));
  return out;
}

PgStore::PgStore(std::string dsn, PgOptions options) : dsn_(std::move(dsn)), options_(options) {}
PgStore::~PgStore() {
  rollback();
  conn_.reset();
}

void PgStore::rethrow(const std::exception& e) {
  if (auto* se = dynamic_cast<const StoreError*>(&e)) throw *se;
  const bool broken = dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
                      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr ||
                      (conn_ && !conn_->is_open());
  if (broken) {
    in_savepoint_ = false;
    tx_.reset();
    conn_.reset();
    throw StoreError(e.what(), StoreFault::kUnavailable, "08000");
  }
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e))
    throw StoreError(e.what(), classify_sqlstate(sql->sqlstate()), sql->sqlstate());
  // Values libpqxx could not convert (a peer's number out of range) are the
  // data's fault, not the server's.
  if (dynamic_cast<const pqxx::conversion_error*>(&e) ||
      dynamic_cast<const pqxx::range_error*>(&e) || dynamic_cast<const pqxx::argument_error*>(&e) ||
      dynamic_cast<const std::invalid_argument*>(&e))
    throw StoreError(e.what(), StoreFault::kRefused);
  throw StoreError(e.what(), StoreFault::kUnavailable);
}

void PgStore::connect() {
  in_savepoint_ = false;
  tx_.reset();
  conn_.reset();
  try {
    conn_ = std::make_unique<pqxx::connection>(dsn_with_options(dsn_, options_));
    if (options_.statement_timeout_ms)
      conn_->set_variable("statement_timeout", std::to_string(options_.statement_timeout_ms));
  } catch (const std::exception& e) {
    conn_.reset();
    throw StoreError(std::string("cannot connect to PostgreSQL: ") + e.what(),
                     StoreFault::kUnavailable);
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
  in_savepoint_ = false;
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
  pending_logs_.clear();
  pending_log_keys_.clear();
  pending_log_drops_.clear();
  pending_markers_.clear();
  in_savepoint_ = false;
  try {
    if (tx_) tx_->abort();
  } catch (...) {
  }
  tx_.reset();
}

pqxx::dbtransaction& PgStore::tx() {
  if (!tx_) throw StoreError("no open transaction", true);
  return *tx_;
}

std::optional<StoreError> PgStore::guarded(const std::function<void()>& fn) {
  if (in_savepoint_) {  // nested: the outer savepoint decides
    fn();
    return std::nullopt;
  }
  // What earlier messages batched is written first, so that a refusal
  // undoes only this message's rows. (Savepoints are plain SQL: libpqxx 6's
  // subtransaction does not roll back after a failed parameterised query.)
  flush_pending();
  try {
    tx().exec("SAVEPOINT message");
  } catch (const std::exception& e) {
    rethrow(e);
  }
  in_savepoint_ = true;
  auto undo = [&] {
    in_savepoint_ = false;
    pending_samples_.clear();
    pending_metrics_.clear();
    pending_logs_.clear();
    pending_log_keys_.clear();
    pending_log_drops_.clear();
    pending_markers_.clear();
    try {
      tx().exec("ROLLBACK TO SAVEPOINT message");
      tx().exec("RELEASE SAVEPOINT message");
    } catch (const std::exception& e) {
      rethrow(e);
    }
  };
  std::optional<StoreError> error;
  try {
    fn();
    flush_pending();  // batched rows of this message are its rows too
    in_savepoint_ = false;
    tx().exec("RELEASE SAVEPOINT message");
    return std::nullopt;
  } catch (const StoreError& e) {
    error = e;
  } catch (const pqxx::failure& e) {
    try {
      rethrow(e);
    } catch (const StoreError& se) {
      error = se;
    }
  } catch (...) {
    // Not the store's: a message that did not decode, say. Its writes are
    // undone and the caller answers it.
    if (tx_) undo();
    throw;
  }
  if (!error->refused()) {
    in_savepoint_ = false;
    throw *error;
  }
  undo();
  return error;
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

void PgStore::set_agent_draining(const std::string& name, bool draining) {
  try {
    tx().exec_params("UPDATE agents SET draining = $2 WHERE name = $1", name, draining);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::set_agent_incarnation(uint64_t agent_id, const std::string& incarnation) {
  try {
    tx().exec_params("UPDATE agents SET incarnation = $2 WHERE id = $1", agent_id, incarnation);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::set_cancel_requested(uint64_t job_id) {
  try {
    tx().exec_params("UPDATE jobs SET cancel_requested = true WHERE id = $1", job_id);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                             const std::string& what, const std::string& reason) {
  try {
    tx().exec_params(
        "INSERT INTO refusals (peer, job_id, attempt, what, reason) VALUES ($1,"
        " NULLIF($2::numeric, 0)::bigint, NULLIF($3::bigint, 0), $4, $5)",
        peer, job_id <= static_cast<uint64_t>(INT64_MAX) ? job_id : 0,
        attempt <= static_cast<uint32_t>(INT32_MAX) ? attempt : 0, what, reason);
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
                                  const std::string& file_name, const std::string& definition,
                                  const std::optional<SignedSubmission>& signed_submission) {
  try {
    const bool is_signed = signed_submission.has_value();
    auto r = tx().exec_params(
        "INSERT INTO pipelines (name, revision, branch, submitter, file_name, definition,"
        " signing_key, signature) VALUES ($1, $2, $3, $4, $5, $6,"
        " CASE WHEN $7 THEN $8 END, CASE WHEN $7 THEN $9::bytea END) RETURNING id",
        name, revision, branch, submitter, file_name, definition, is_signed,
        is_signed ? signing::public_key_text(signed_submission->public_key) : std::string(),
        pqxx::binarystring(is_signed ? signed_submission->signature : std::string()));
    return r[0][0].as<uint64_t>();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

uint64_t PgStore::insert_job(const Job& job) {
  try {
    auto r = tx().exec_params(
        "INSERT INTO jobs (pipeline_id, name, kind, state, attempt, retries, priority, on_labels,"
        " target_machine_id, spec, target_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb,"
        " NULLIF($9::bigint, 0), $10::jsonb, NULLIF($11, '')) RETURNING id",
        job.pipeline_id, job.name, job.spec.kind, std::string(to_string(job.state)), job.attempt,
        job.retries, job.priority, labels_json(job.on_labels), job.target_machine_id.value_or(0),
        job_spec::to_json(job.spec), job.target_agent);
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

void PgStore::persist_message(const Job& job) {
  try {
    tx().exec_params("UPDATE jobs SET message = $2 WHERE id = $1", job.id, job.message);
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
  const RunContext& c = s.context;
  std::optional<double> task_clock_s;
  if (c.task_clock_ns) task_clock_s = *c.task_clock_ns / 1e9;
  try {
    tx().exec_params(
        "INSERT INTO steps (job_id, attempt, idx, name, command, timed, agent_id, machine_id,"
        " started_at, ended_at, wall_s, user_s, sys_s, max_rss_kb, exit_code, signal, timed_out,"
        " vol_ctx, invol_ctx, steal_pct, iowait_pct, load1, cpu_mhz, task_clock_s,"
        " instructions, cycles)"
        " VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, 0), NULLIF($8::bigint, 0), " +
            ts("$9") + ", " + ts("$10") +
            ", $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
            " ON CONFLICT (job_id, attempt, idx) DO UPDATE SET command = EXCLUDED.command,"
            " timed = EXCLUDED.timed, ended_at = EXCLUDED.ended_at, wall_s = EXCLUDED.wall_s,"
            " user_s = EXCLUDED.user_s, sys_s = EXCLUDED.sys_s, max_rss_kb = EXCLUDED.max_rss_kb,"
            " exit_code = EXCLUDED.exit_code, signal = EXCLUDED.signal,"
            " timed_out = EXCLUDED.timed_out, vol_ctx = EXCLUDED.vol_ctx,"
            " invol_ctx = EXCLUDED.invol_ctx, steal_pct = EXCLUDED.steal_pct,"
            " iowait_pct = EXCLUDED.iowait_pct, load1 = EXCLUDED.load1,"
            " cpu_mhz = EXCLUDED.cpu_mhz, task_clock_s = EXCLUDED.task_clock_s,"
            " instructions = EXCLUDED.instructions, cycles = EXCLUDED.cycles"
            " WHERE steps.ended_at IS NULL",
        key.job_id, key.attempt, s.index, s.name, s.command, s.timed, agent_id, machine_id,
        s.started_at_us, s.ended_at_us, s.wall_ns / 1e9, s.user_us / 1e6, s.sys_us / 1e6,
        s.max_rss_kb, s.exit_code, s.signal, s.timed_out, c.vol_ctx, c.invol_ctx, c.steal_pct,
        c.iowait_pct, c.load1, c.cpu_mhz, task_clock_s, c.instructions, c.cycles);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_revision(uint64_t job_id, uint64_t pipeline_id, const std::string& revision) {
  try {
    tx().exec_params("UPDATE jobs SET revision = $2 WHERE id = $1", job_id, revision);
    tx().exec_params(
        "UPDATE pipelines SET revision = $2 WHERE id = $1 AND (revision = '' OR NOT $2 LIKE"
        " revision || '%')",
        pipeline_id, revision);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_log_chunk(const ResultKey& key, const std::string& stream, int32_t step_index,
                               const std::string& data, int64_t at_us) {
  if (!pending_log_keys_.insert(key).second) return;  // sent twice in one turn
  pending_logs_.push_back({key, stream, step_index, data, at_us});
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

// As pg_array, with an unquoted NULL where `field` gives nullopt; "{}"
// when every value is NULL (unnest pads a shorter array with NULLs), which
// spares formatting and parsing a column this machine does not measure.
template <typename T, typename F>
std::string pg_nullable_array(const std::vector<T>& items, F field) {
  std::string out = "{";
  bool any = false;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    std::optional<std::string> v = field(items[i]);
    any = any || v;
    out += v ? *v : std::string("NULL");
  }
  return any ? out + "}" : "{}";
}

// Shortest text that reads back to the same value; std::to_chars skips the
// locale machinery of streams, which dominated the cost of large batches.
template <typename T>
std::string num(T v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

template <typename T>
std::optional<std::string> opt_num(const std::optional<T>& v) {
  if (!v || !std::isfinite(static_cast<double>(*v))) return std::nullopt;
  return num(*v);
}
}  // namespace

namespace {
// Inserts rows with one statement in a savepoint; when the server refuses
// the batch, inserts them one by one, each in its own savepoint, so that
// one bad row is dropped (and logged) and the others are kept.
template <typename Row, typename Insert>
void insert_batch(pqxx::dbtransaction& t, const std::vector<Row>& rows, const char* what,
                  Insert insert) {
  if (rows.empty()) return;
  t.exec("SAVEPOINT batch");
  try {
    insert(t, rows);
    t.exec("RELEASE SAVEPOINT batch");
    return;
  } catch (const pqxx::sql_error& e) {
    if (classify_sqlstate(e.sqlstate()) != StoreFault::kRefused) throw;
    t.exec("ROLLBACK TO SAVEPOINT batch");
    spdlog::warn("PostgreSQL refused a batch of {} {}: {}; storing them one by one", rows.size(),
                 what, e.what());
  }
  size_t refused = 0;
  for (const Row& row : rows) {
    try {
      insert(t, std::vector<Row>{row});
      t.exec("RELEASE SAVEPOINT batch");
      t.exec("SAVEPOINT batch");
    } catch (const pqxx::sql_error& e) {
      if (classify_sqlstate(e.sqlstate()) != StoreFault::kRefused) throw;
      t.exec("ROLLBACK TO SAVEPOINT batch");
      ++refused;
      spdlog::error("PostgreSQL refused one of {} (job {} attempt {} seq {}): {}", what,
                    row.key.job_id, row.key.attempt, row.key.seq, e.what());
    }
  }
  t.exec("RELEASE SAVEPOINT batch");
  spdlog::warn("{} of {} {} refused and dropped", refused, rows.size(), what);
}

constexpr char kHex[] = "0123456789abcdef";
std::string hex(const std::string& data) {
  std::string out(data.size() * 2, '0');
  for (size_t i = 0; i < data.size(); ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    out[2 * i] = kHex[c >> 4];
    out[2 * i + 1] = kHex[c & 15];
  }
  return out;
}
}  // namespace

void PgStore::flush_pending() {
  auto samples = std::move(pending_samples_);
  auto metrics = std::move(pending_metrics_);
  pending_samples_.clear();
  pending_metrics_.clear();
  try {
    using S = PendingSample;
    insert_batch(tx(), samples, "samples", [](pqxx::dbtransaction& t, const std::vector<S>& p) {
      t.exec_params(
          "INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s,"
          " max_rss_kb, exit_code, signal, at, round, position, vol_ctx, invol_ctx, steal_pct,"
          " iowait_pct, load1, cpu_mhz, task_clock_s, instructions, cycles, contended)"
          " SELECT job_id, attempt, variant_idx, variant, idx,"
          " wall_s, user_s, sys_s, max_rss_kb, exit_code, signal, to_timestamp(at_us / 1e6),"
          " round, position, vol_ctx, invol_ctx, steal_pct, iowait_pct, load1, cpu_mhz,"
          " task_clock_s, instructions, cycles, contended FROM"
          " unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::int[], $6::float8[],"
          " $7::float8[], $8::float8[], $9::bigint[], $10::int[], $11::int[], $12::float8[],"
          " $13::int[], $14::int[], $15::bigint[], $16::bigint[], $17::float8[], $18::float8[],"
          " $19::float8[], $20::float8[], $21::float8[], $22::bigint[], $23::bigint[],"
          " $24::boolean[]) AS"
          " t(job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s, max_rss_kb,"
          " exit_code, signal, at_us, round, position, vol_ctx, invol_ctx, steal_pct, iowait_pct,"
          " load1, cpu_mhz, task_clock_s, instructions, cycles, contended) ON CONFLICT DO NOTHING",
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
          pg_array(p, [](const S& s) { return num(s.run.started_at_us); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.round); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.position); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.vol_ctx); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.invol_ctx); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.steal_pct); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.iowait_pct); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.load1); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.cpu_mhz); }),
          pg_nullable_array(p,
                            [](const S& s) {
                              const auto& ns = s.run.context.task_clock_ns;
                              return ns ? std::optional<std::string>(num(*ns / 1e9)) : std::nullopt;
                            }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.instructions); }),
          pg_nullable_array(p, [](const S& s) { return opt_num(s.run.context.cycles); }),
          pg_array(p, [](const S& s) { return std::string(s.run.contended ? "t" : "f"); }));
    });
    using M = PendingMetric;
    insert_batch(tx(), metrics, "metrics", [](pqxx::dbtransaction& t, const std::vector<M>& p) {
      t.exec_params(
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
    });
    flush_logs();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::flush_logs() {
  auto logs = std::move(pending_logs_);
  auto drops = std::move(pending_log_drops_);
  auto markers = std::move(pending_markers_);
  pending_logs_.clear();
  pending_log_keys_.clear();
  pending_log_drops_.clear();
  pending_markers_.clear();
  using L = PendingLog;
  insert_batch(tx(), logs, "log chunks", [](pqxx::dbtransaction& t, const std::vector<L>& p) {
    t.exec_params(
        "INSERT INTO log_chunks (job_id, attempt, seq, stream, step_idx, data, at)"
        " SELECT job_id, attempt, seq, stream, NULLIF(step_idx, -1), decode(data, 'hex'),"
        " to_timestamp(at_us / 1e6) FROM unnest($1::bigint[], $2::int[], $3::bigint[],"
        " $4::text[], $5::int[], $6::text[], $7::float8[]) AS t(job_id, attempt, seq, stream,"
        " step_idx, data, at_us) ON CONFLICT DO NOTHING",
        pg_array(p, [](const L& l) { return num(l.key.job_id); }),
        pg_array(p, [](const L& l) { return num(l.key.attempt); }),
        pg_array(p, [](const L& l) { return num(l.key.seq); }),
        pg_array(p, [](const L& l) { return l.stream; }),
        pg_array(p, [](const L& l) { return num(l.step_index); }),
        pg_array(p, [](const L& l) { return hex(l.data); }),
        pg_array(p, [](const L& l) { return num(l.at_us); }));
  });
  for (const auto& [job, seqs] : drops) {
    std::string list = "{";
    for (size_t i = 0; i < seqs.size(); ++i) list += (i ? "," : "") + num(seqs[i]);
    list += "}";
    tx().exec_params(
        "DELETE FROM log_chunks WHERE job_id = $1 AND attempt = $2 AND seq = ANY($3::bigint[])",
        job.first, job.second, list);
  }
  for (const auto& [job, m] : markers) {
    tx().exec_params(
        "UPDATE log_chunks SET data = $4 WHERE job_id = $1 AND attempt = $2 AND seq = $3",
        job.first, job.second, kLogMarkerSeq, pqxx::binarystring(m.text));
    tx().exec_params(
        "INSERT INTO log_cuts (job_id, attempt, cut_bytes, cut_chunks) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (job_id, attempt) DO UPDATE SET cut_bytes = EXCLUDED.cut_bytes,"
        " cut_chunks = EXCLUDED.cut_chunks",
        job.first, job.second, m.cut_bytes, m.cut_chunks);
  }
}

void PgStore::drop_log_chunks(uint64_t job_id, uint32_t attempt,
                              const std::vector<uint64_t>& seqs) {
  std::set<uint64_t> drop(seqs.begin(), seqs.end());
  // Chunks of this turn that are dropped before they were written are never written.
  for (auto it = pending_logs_.begin(); it != pending_logs_.end();) {
    if (it->key.job_id == job_id && it->key.attempt == attempt && drop.count(it->key.seq)) {
      pending_log_keys_.erase(it->key);
      drop.erase(it->key.seq);
      it = pending_logs_.erase(it);
    } else {
      ++it;
    }
  }
  auto& list = pending_log_drops_[{job_id, attempt}];
  list.insert(list.end(), drop.begin(), drop.end());
  if (list.empty()) pending_log_drops_.erase({job_id, attempt});
}

void PgStore::put_log_marker(uint64_t job_id, uint32_t attempt, const std::string& text,
                             int64_t at_us, uint64_t cut_bytes, uint64_t cut_chunks) {
  const ResultKey key{job_id, attempt, kLogMarkerSeq};
  if (!pending_log_keys_.count(key)) {
    // The marker row takes its place (its id) in the log now; its text is
    // rewritten as more is cut.
    record_log_chunk(key, "system", -1, text, at_us);
  }
  pending_markers_[{job_id, attempt}] = {text, cut_bytes, cut_chunks};
}

LogLayout PgStore::log_layout(uint64_t job_id, uint32_t attempt) {
  flush_pending();
  LogLayout out;
  try {
    for (const auto& r : tx().exec_params(
             "SELECT seq, length(data) FROM log_chunks WHERE job_id = $1 AND attempt = $2"
             " ORDER BY id",
             job_id, attempt)) {
      const auto seq = r[0].as<uint64_t>();
      if (seq == kLogMarkerSeq) {
        out.has_marker = true;
      } else {
        out.chunks.emplace_back(seq, r[1].as<uint64_t>());
        if (!out.has_marker) out.head_chunks = out.chunks.size();
      }
    }
    auto cut = tx().exec_params(
        "SELECT cut_bytes, cut_chunks FROM log_cuts WHERE job_id = $1 AND attempt = $2", job_id,
        attempt);
    if (!cut.empty()) {
      out.cut_bytes = cut[0][0].as<uint64_t>();
      out.cut_chunks = cut[0][1].as<uint64_t>();
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
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

std::vector<VariantRuns> PgStore::bench_runs(uint64_t job_id, uint32_t attempt) {
  flush_pending();
  std::vector<VariantRuns> out;
  try {
    auto rows = tx().exec_params(
        "SELECT variant_idx, variant, wall_s, user_s + sys_s, instructions, contended"
        " FROM samples WHERE job_id = $1 AND attempt = $2 ORDER BY variant_idx, idx",
        job_id, attempt);
    for (const auto& r : rows) {
      const size_t v = r[0].as<size_t>();
      if (out.size() <= v) out.resize(v + 1);
      out[v].name = r[1].as<std::string>();
      RunValues run;
      run.wall_s = r[2].as<double>();
      run.cpu_s = r[3].as<double>();
      if (!r[4].is_null()) run.instructions = r[4].as<double>();
      run.contended = r[5].as<bool>();
      out[v].runs.push_back(run);
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

void PgStore::save_bench_results(uint64_t job_id, uint32_t attempt,
                                 const std::vector<VariantResult>& results,
                                 std::optional<uint64_t> order_seed,
                                 const std::string& stop_reason) {
  try {
    std::map<std::string, size_t> index_in_measure;  // results come measure by measure
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
      const Detectable none;
      const Detectable& d = has ? r.vs_baseline->detectable : none;
      const size_t variant_idx = index_in_measure[r.measure]++;
      // $19: a comparison exists; $26, $27: its MDE and run count are known.
      tx().exec_params(
          "INSERT INTO bench_results (job_id, attempt, variant_idx, variant, n, min_s, max_s,"
          " mean_s, median_s, stddev_s, mad_s, q1_s, q3_s, ratio, ci_low, ci_high, p_value,"
          " verdict, warnings, measure, method, order_seed, mde, mde_power, runs_for_2pct,"
          " contended, stop_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
          " $13, CASE WHEN $19 THEN $14::float8 END, CASE WHEN $19 THEN $15::float8 END,"
          " CASE WHEN $19 THEN $16::float8 END, CASE WHEN $19 THEN $17::float8 END,"
          " CASE WHEN $19 THEN $18 END, $20::text[], $21, CASE WHEN $19 THEN $22 END,"
          " CASE WHEN $28 THEN $23::bigint END, CASE WHEN $26 THEN $24::float8 END,"
          " CASE WHEN $19 THEN $25::float8 END, CASE WHEN $27 THEN $29::integer END, $30,"
          " NULLIF($31, '')) ON CONFLICT DO NOTHING",
          job_id, attempt, variant_idx, r.variant, s.n, s.min, s.max, s.mean, s.median, s.stddev,
          s.mad, s.q1, s.q3, has ? r.vs_baseline->ratio : 1.0, has ? r.vs_baseline->ci_low : 1.0,
          has ? r.vs_baseline->ci_high : 1.0, has ? r.vs_baseline->p : 1.0,
          has ? to_string(r.vs_baseline->verdict) : std::string(), has, warnings, r.measure,
          has ? r.vs_baseline->method : std::string(), static_cast<int64_t>(order_seed.value_or(0)),
          d.mde.value_or(0), d.power, d.mde.has_value(), d.runs_for_2pct.has_value(),
          order_seed.has_value(), static_cast<int64_t>(d.runs_for_2pct.value_or(0)),
          static_cast<int64_t>(r.contended), stop_reason);
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
                         std::vector<std::vector<std::string>>* rows,
                         std::vector<std::string>* kinds, std::vector<std::vector<bool>>* nulls) {
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
    for (pqxx::row::size_type c = 0; c < r.columns(); ++c) {
      columns->push_back(r.column_name(c));
      if (kinds) {
        // Built-in type oids: bool 16; int8 20, int2 21, int4 23, oid 26;
        // float4 700, float8 701, numeric 1700.
        const auto oid = r.column_type(c);
        kinds->push_back(oid == 16                                          ? "boolean"
                         : oid == 20 || oid == 21 || oid == 23 || oid == 26 ? "integer"
                         : oid == 700 || oid == 701 || oid == 1700          ? "number"
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
        " p.name, COALESCE(tm.name, ''), j.cancel_requested,"
        " (SELECT " +
        us("min(s.started_at)") +
        " FROM steps s WHERE s.job_id = j.id AND s.attempt = j.attempt),"
        " COALESCE(j.target_agent, ''), p.definition, p.file_name"
        " FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
        " LEFT JOIN agents a ON a.id = j.agent_id"
        " LEFT JOIN machines tm ON tm.id = j.target_machine_id"
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
      job.pipeline_id = r[1].as<uint64_t>();
      job.name = r[2].as<std::string>();
      job.state = parse_job_state(r[3].as<std::string>()).value_or(JobState::kFailed);
      job.attempt = r[4].as<uint32_t>();
      job.retries = r[5].as<uint32_t>();
      job.priority = r[6].as<int32_t>();
      job.on_labels = labels_from_json(r[7].as<std::string>());
      if (uint64_t t = r[8].as<uint64_t>()) job.target_machine_id = t;
      job.spec = job_spec::from_json(r[9].as<std::string>());
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
      job.spec.pipeline_id = job.pipeline_id;
      // A calibration's pipeline is no pipeline file: nothing to find there.
      if (job.spec.kind != "calibrate")
        if (const PipelineDef* def =
                definition(job.pipeline_id, r[23].as<std::string>(), r[24].as<std::string>()))
          if (const JobDef* jd = def->find_job(job.name)) {
            job.concurrency = jd->concurrency;
            defs[job.id] = jd;
          }
      out.jobs.push_back(std::move(job));
    }
    auto needs = tx().exec(
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
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

GateFacts PgStore::gate_facts(uint64_t job_id) {
  flush_pending();  // samples of this turn count too
  GateFacts out;
  out.samples.columns = {"machine", "benchmark",    "side",     "wall_s",
                         "cpu_s",   "instructions", "contended"};
  out.samples.kinds = {"text", "text", "text", "number", "number", "number", "boolean"};
  try {
    tx().exec("SAVEPOINT gate");
  } catch (const std::exception& e) {
    rethrow(e);
  }
  try {
    // The job; the verdicts its attempt was given; the counted runs of it
    // and of the same job's latest earlier success on the same machine at
    // another revision (of a pipeline of the same name). The machine is
    // matched by name, as fan-out pins it: a new kernel makes a new row.
    auto rows = tx().exec_params(
        "WITH need AS ("
        "  SELECT j.id, j.name, j.attempt, j.machine_id, j.spec::text AS spec, p.name AS pipeline,"
        "         p.revision, COALESCE(m.name, '') AS machine"
        "  FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id"
        "  LEFT JOIN machines m ON m.id = j.machine_id WHERE j.id = $1),"
        " prev AS ("
        "  SELECT j.id, j.attempt, p.revision FROM need, jobs j"
        "  JOIN pipelines p ON p.id = j.pipeline_id JOIN machines m ON m.id = j.machine_id"
        "  WHERE j.name = need.name AND p.name = need.pipeline AND m.name = need.machine"
        "    AND j.id < need.id AND j.state = 'succeeded' AND need.revision <> ''"
        "    AND p.revision <> '' AND p.revision <> need.revision"
        "  ORDER BY j.id DESC LIMIT 1)"
        " SELECT 0 AS part, need.name, need.spec, need.machine, need.revision,"
        "  COALESCE((SELECT revision FROM prev), ''), NULL::float8, NULL::float8, NULL::float8,"
        "  false, 0 AS ord FROM need"
        " UNION ALL"
        " SELECT 1, r.variant, r.measure, '', '', '', COALESCE(r.ratio, 1), COALESCE(r.ci_low, 1),"
        "  COALESCE(r.ci_high, 1), false, r.variant_idx"
        " FROM need JOIN bench_results r ON r.job_id = need.id AND r.attempt = need.attempt"
        " WHERE r.verdict = 'slower'"
        " UNION ALL"
        " SELECT 2, s.variant, CASE WHEN s.job_id = need.id THEN 'b' ELSE 'a' END, '', '', '',"
        "  s.wall_s, s.user_s + s.sys_s, s.instructions::float8, s.contended,"
        "  s.variant_idx * 1000000 + s.idx"
        " FROM need, samples s"
        " WHERE s.exit_code = 0 AND ((s.job_id = need.id AND s.attempt = need.attempt)"
        "  OR (s.job_id, s.attempt) IN (SELECT id, attempt FROM prev))"
        " ORDER BY 1, 3, 11",
        job_id);
    for (const auto& r : rows) {
      const int part = r[0].as<int>();
      if (part == 0) {
        out.found = true;
        out.name = r[1].as<std::string>();
        out.spec_json = r[2].as<std::string>();
        out.machine = r[3].as<std::string>();
        out.revision = r[4].as<std::string>();
        out.previous_revision = r[5].as<std::string>();
      } else if (part == 1) {
        out.slower.push_back({r[1].as<std::string>(), r[2].as<std::string>(), r[6].as<double>(),
                              r[7].as<double>(), r[8].as<double>()});
      } else {
        const bool no_ins = r[8].is_null();
        out.samples.rows.push_back({out.machine, "variant " + r[1].as<std::string>(),
                                    r[2].as<std::string>(), r[6].c_str(), r[7].c_str(),
                                    no_ins ? "" : r[8].c_str(), r[9].as<bool>() ? "t" : "f"});
        out.samples.nulls.push_back({false, false, false, false, false, no_ins, false});
      }
    }
    tx().exec("RELEASE SAVEPOINT gate");
  } catch (const std::exception& e) {
    try {
      if (conn_ && conn_->is_open() && tx_) {
        tx().exec("ROLLBACK TO SAVEPOINT gate");
        tx().exec("RELEASE SAVEPOINT gate");
      }
    } catch (const std::exception&) {
      // The connection went with it: the original error says so.
    }
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

std::optional<std::pair<std::string, std::string>> PgStore::pipeline_file(uint64_t pipeline_id) {
  try {
    auto r =
        tx().exec_params("SELECT file_name, definition FROM pipelines WHERE id = $1", pipeline_id);
    if (r.empty()) return std::nullopt;
    return std::pair{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
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
            ", j.message, j.over_budget, (SELECT count(*) FROM samples s WHERE s.job_id = j.id"
            " AND s.attempt = j.attempt), CASE WHEN jsonb_typeof(j.spec->'bench') = 'object' THEN"
            " COALESCE((j.spec->'bench'->>'runs')::bigint, 0) * GREATEST(jsonb_array_length("
            "COALESCE(j.spec->'variants', '[]'::jsonb)), 1) ELSE 0 END"
            " FROM jobs j LEFT JOIN agents a ON a.id = j.agent_id"
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
      j.runs_measured = r[10].as<uint32_t>();
      j.runs_planned = r[11].as<uint32_t>();
      if (j.over_budget)
        for (const auto& b : tx().exec_params(
                 "SELECT budget || ' (actual ' || COALESCE(actual::text, 'never reported') || ')'"
                 " FROM budget_breaches WHERE job_id = $1 AND attempt = $2 ORDER BY id",
                 j.id, j.attempt))
          j.budget_breaches.push_back(b[0].as<std::string>());
      auto steps = tx().exec_params(
          "SELECT idx, name, COALESCE(wall_s, 0), COALESCE(exit_code, 0), ended_at IS NOT NULL,"
          " COALESCE(signal, 0) FROM steps WHERE job_id = $1 AND attempt = $2 ORDER BY idx",
          j.id, j.attempt);
      for (const auto& s : steps)
        j.steps.push_back({s[0].as<uint32_t>(), s[1].as<std::string>(), s[2].as<double>(),
                           s[3].as<int32_t>(), s[4].as<bool>(), s[5].as<int32_t>()});
      load_deploy(j);
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
                  ", a.draining FROM agents a JOIN machines m ON m.id = a.machine_id"
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
      out.push_back(std::move(a));
    }
    std::map<std::string, AgentRow*> by_name;
    for (auto& a : out) by_name[a.name] = &a;
    auto calibrations = tx().exec(
        "SELECT a.name, l.benchmark, l.median_s, l.noise, l.runs, " + us("l.at") +
        " FROM agents a JOIN machine_calibration_latest l ON l.machine_id = a.machine_id"
        " ORDER BY a.name, array_position(ARRAY['cpu', 'memory', 'spawn', 'io'], l.benchmark),"
        " l.benchmark");
    for (const auto& r : calibrations) {
      AgentRow* a = by_name[r[0].as<std::string>()];
      if (!a) continue;
      a->calibration.push_back(
          {r[1].as<std::string>(), r[2].as<double>(), r[3].as<double>(), r[4].as<size_t>()});
      a->calibrated_at_us = std::max(a->calibrated_at_us, r[5].as<int64_t>());
    }
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}

void PgStore::record_calibration(const ResultKey& key, uint64_t machine_id, uint64_t agent_id,
                                 const CalibrationSummary& summary,
                                 const std::vector<double>& times_s) {
  try {
    std::string array = "{";
    for (size_t i = 0; i < times_s.size(); ++i) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%s%.17g", i ? "," : "", times_s[i]);
      array += buf;
    }
    array += "}";
    tx().exec_params(
        "INSERT INTO machine_calibrations (machine_id, agent_id, job_id, attempt, benchmark,"
        " median_s, noise, runs, times_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9::double precision[]) ON CONFLICT DO NOTHING",
        machine_id, agent_id, key.job_id, key.attempt, summary.benchmark, summary.median_s,
        summary.noise, summary.runs, array);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::load_deploy(JobView& j) {
  for (const auto& r : tx().exec_params("SELECT name, " + us("started_at") + ", " + us("ended_at") +
                                            ", ok, detail FROM deploy_phases"
                                            " WHERE job_id = $1 AND attempt = $2"
                                            " ORDER BY started_at, seq",
                                        j.id, j.attempt))
    j.deploy_phases.push_back({r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<int64_t>(),
                               r[3].as<bool>(), r[4].as<std::string>()});
  auto rows = tx().exec_params(
      "SELECT outcome, reason, message, old_version, new_version, switch_old, switch_new,"
      " probe_sent IS NOT NULL, COALESCE(probe_sent, 0), COALESCE(probe_failed, 0),"
      " COALESCE(probe_failed_status, 0), COALESCE(probe_failed_refused, 0),"
      " COALESCE(probe_failed_reset, 0), COALESCE(probe_failed_timeout, 0),"
      " COALESCE(probe_failed_other, 0), COALESCE(probe_late, 0),"
      " COALESCE(probe_longest_outage_ms, 0), COALESCE(probe_p50_ms, 0),"
      " COALESCE(probe_p99_ms, 0), COALESCE(probe_interval_ms, 0)"
      " FROM deploys WHERE job_id = $1 AND attempt = $2",
      j.id, j.attempt);
  if (rows.empty()) return;
  const auto& r = rows[0];
  DeployReport d;
  d.outcome = r[0].as<std::string>();
  d.reason = r[1].as<std::string>();
  d.message = r[2].as<std::string>();
  d.old_version = r[3].as<std::string>();
  d.new_version = r[4].as<std::string>();
  d.switch_old = r[5].as<uint64_t>();
  d.switch_new = r[6].as<uint64_t>();
  if (r[7].as<bool>()) {
    ProbeCounts c;
    c.sent = r[8].as<uint64_t>();
    c.failed = r[9].as<uint64_t>();
    const char* kinds[] = {"status", "refused", "reset", "timeout", "other"};
    for (int k = 0; k < 5; ++k)
      if (uint64_t n = r[10 + k].as<uint64_t>()) c.failures[kinds[k]] = n;
    c.late = r[15].as<uint64_t>();
    c.longest_outage_ms = r[16].as<double>();
    c.p50_ms = r[17].as<double>();
    c.p99_ms = r[18].as<double>();
    c.interval_us = static_cast<int64_t>(std::llround(r[19].as<double>() * 1000));
    d.probe = c;
  }
  j.deploy = std::move(d);
}

void PgStore::record_deploy_phase(const ResultKey& key, const DeployPhase& p) {
  try {
    tx().exec_params(
        "INSERT INTO deploy_phases (job_id, attempt, seq, name, started_at, ended_at, ok, detail)"
        " VALUES ($1, $2, $3, $4, to_timestamp($5::double precision / 1e6),"
        " to_timestamp($6::double precision / 1e6), $7, $8) ON CONFLICT DO NOTHING",
        key.job_id, key.attempt, key.seq, p.name, p.start_us, p.end_us, p.ok, p.detail);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

void PgStore::record_deploy_result(const ResultKey& key, const DeployReport& r) {
  try {
    const ProbeCounts c = r.probe.value_or(ProbeCounts{});
    auto kind = [&](const char* name) {
      auto it = c.failures.find(name);
      return static_cast<int64_t>(it == c.failures.end() ? 0 : it->second);
    };
    tx().exec_params(
        "INSERT INTO deploys (job_id, attempt, outcome, reason, message, old_version,"
        " new_version, switch_old, switch_new, probe_interval_ms, probe_sent, probe_failed,"
        " probe_failed_status, probe_failed_refused, probe_failed_reset, probe_failed_timeout,"
        " probe_failed_other, probe_late, probe_longest_outage_ms, probe_p50_ms, probe_p99_ms)"
        " SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9,"
        " CASE WHEN $10 THEN $11::double precision / 1e3 END, CASE WHEN $10 THEN $12::bigint END,"
        " CASE WHEN $10 THEN $13::bigint END, CASE WHEN $10 THEN $14::bigint END,"
        " CASE WHEN $10 THEN $15::bigint END, CASE WHEN $10 THEN $16::bigint END,"
        " CASE WHEN $10 THEN $17::bigint END, CASE WHEN $10 THEN $18::bigint END,"
        " CASE WHEN $10 THEN $19::bigint END, CASE WHEN $10 THEN $20::double precision END,"
        " CASE WHEN $10 THEN $21::double precision END,"
        " CASE WHEN $10 THEN $22::double precision END"
        " ON CONFLICT DO NOTHING",
        key.job_id, key.attempt, r.outcome, r.reason, r.message, r.old_version, r.new_version,
        static_cast<int64_t>(r.switch_old), static_cast<int64_t>(r.switch_new), r.probe.has_value(),
        c.interval_us, static_cast<int64_t>(c.sent), static_cast<int64_t>(c.failed), kind("status"),
        kind("refused"), kind("reset"), kind("timeout"), kind("other"),
        static_cast<int64_t>(c.late), c.longest_outage_ms, c.p50_ms, c.p99_ms);
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

bool PgStore::machine_calibrated(uint64_t machine_id) {
  try {
    return !tx().exec_params("SELECT 1 FROM machine_calibrations WHERE machine_id = $1 LIMIT 1",
                             machine_id)
                .empty();
  } catch (const std::exception& e) {
    rethrow(e);
  }
}

}  // namespace yardstick

namespace yardstick {
std::set<std::string> PgStore::draining_agents() {
  std::set<std::string> out;
  try {
    for (const auto& r : tx().exec("SELECT name FROM agents WHERE draining"))
      out.insert(r[0].as<std::string>());
  } catch (const std::exception& e) {
    rethrow(e);
  }
  return out;
}
}  // namespace yardstick
