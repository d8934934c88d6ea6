#include <cmath>
#include <pqxx/pqxx>

#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {

std::string key_text(const ResultKey& k) {
  return "job " + std::to_string(k.job_id) + " attempt " + std::to_string(k.attempt) + " seq " +
         std::to_string(k.seq);
}

struct SampleRow {
  ResultKey key;
  uint32_t variant_index, index;
  std::string variant;
  StepResult run;
};

struct MetricRow {
  ResultKey key;
  int32_t step_index, run_index;
  std::string variant, name, unit;
  double value;
};

// A batch of rows of one table, written with one statement at flush.
template <typename Row>
class RowBatch final : public PgBatch {
 public:
  RowBatch(const char* what, UnnestInsert<Row> insert) : what_(what), insert_(std::move(insert)) {}
  void add(Row row) { rows_.push_back(std::move(row)); }
  void flush(pqxx::dbtransaction& tx) override {
    std::vector<Row> rows;
    rows.swap(rows_);
    insert_.insert_keeping_good_rows(tx, rows, what_, [](const Row& r) { return key_text(r.key); });
  }
  void discard() noexcept override { rows_.clear(); }
  size_t size() const override { return rows_.size(); }
  void truncate(size_t rows) override {
    if (rows < rows_.size()) rows_.resize(rows);
  }

 private:
  const char* what_;
  UnnestInsert<Row> insert_;
  std::vector<Row> rows_;
};

UnnestInsert<SampleRow> sample_insert() {
  using S = SampleRow;
  auto n = [](auto f) { return [f](const S& s) { return std::optional<std::string>(num(f(s))); }; };
  auto opt = [](auto f) { return [f](const S& s) { return opt_num(f(s)); }; };
  UnnestInsert<S> ins("samples", "ON CONFLICT DO NOTHING");
  ins.column("job_id", "bigint", n([](const S& s) { return s.key.job_id; }))
      .column("attempt", "int", n([](const S& s) { return s.key.attempt; }))
      .column("variant_idx", "int", n([](const S& s) { return s.variant_index; }))
      .column("variant", "text", [](const S& s) { return std::optional<std::string>(s.variant); })
      .column("idx", "int", n([](const S& s) { return s.index; }))
      .column("wall_s", "float8", n([](const S& s) { return s.run.wall_ns / 1e9; }))
      .column("user_s", "float8", n([](const S& s) { return s.run.user_us / 1e6; }))
      .column("sys_s", "float8", n([](const S& s) { return s.run.sys_us / 1e6; }))
      .column("max_rss_kb", "bigint", n([](const S& s) { return s.run.max_rss_kb; }))
      .column("exit_code", "int", n([](const S& s) { return s.run.exit_code; }))
      .column("signal", "int", n([](const S& s) { return s.run.signal; }))
      .column("at", "float8", n([](const S& s) { return s.run.started_at_us; }),
              "to_timestamp(at / 1e6)")
      .column("round", "int", opt([](const S& s) { return s.run.round; }))
      .column("position", "int", opt([](const S& s) { return s.run.position; }))
      .column("vol_ctx", "bigint", opt([](const S& s) { return s.run.context.vol_ctx; }))
      .column("invol_ctx", "bigint", opt([](const S& s) { return s.run.context.invol_ctx; }))
      .column("steal_pct", "float8", opt([](const S& s) { return s.run.context.steal_pct; }))
      .column("iowait_pct", "float8", opt([](const S& s) { return s.run.context.iowait_pct; }))
      .column("load1", "float8", opt([](const S& s) { return s.run.context.load1; }))
      .column("cpu_mhz", "float8", opt([](const S& s) { return s.run.context.cpu_mhz; }))
      .column("task_clock_s", "float8",
              [](const S& s) {
                const auto& ns = s.run.context.task_clock_ns;
                return ns ? std::optional<std::string>(num(*ns / 1e9)) : std::nullopt;
              })
      .column("instructions", "bigint", opt([](const S& s) { return s.run.context.instructions; }))
      .column("cycles", "bigint", opt([](const S& s) { return s.run.context.cycles; }))
      .column("foreign_share", "float8",
              opt([](const S& s) { return s.run.context.foreign_share; }))
      .column("cpu_pressure", "float8",
              opt([](const S& s) { return s.run.context.cpu_pressure_pct; }))
      .column("contended", "boolean",
              [](const S& s) { return std::optional<std::string>(s.run.contended ? "t" : "f"); });
  return ins;
}

UnnestInsert<MetricRow> metric_insert() {
  using M = MetricRow;
  auto n = [](auto f) { return [f](const M& m) { return std::optional<std::string>(num(f(m))); }; };
  auto text = [](auto f) { return [f](const M& m) { return std::optional<std::string>(f(m)); }; };
  UnnestInsert<M> ins("metrics", "ON CONFLICT DO NOTHING");
  ins.column("job_id", "bigint", n([](const M& m) { return m.key.job_id; }))
      .column("attempt", "int", n([](const M& m) { return m.key.attempt; }))
      .column("seq", "bigint", n([](const M& m) { return m.key.seq; }))
      .column("step_idx", "int", n([](const M& m) { return m.step_index; }), "NULLIF(step_idx, -1)")
      .column("variant", "text", text([](const M& m) { return m.variant; }))
      .column("run_idx", "int", n([](const M& m) { return m.run_index; }), "NULLIF(run_idx, -1)")
      .column("name", "text", text([](const M& m) { return m.name; }))
      .column("value", "float8", n([](const M& m) { return m.value; }))
      .column("unit", "text", text([](const M& m) { return m.unit; }));
  return ins;
}

}  // namespace

struct PgResults::Samples {
  RowBatch<SampleRow> batch{"samples", sample_insert()};
};
struct PgResults::Metrics {
  RowBatch<MetricRow> batch{"metrics", metric_insert()};
};

PgResults::PgResults(PgSession& session)
    : s_(session), samples_(std::make_unique<Samples>()), metrics_(std::make_unique<Metrics>()) {
  s_.add_batch(&samples_->batch);
  s_.add_batch(&metrics_->batch);
}

PgResults::~PgResults() = default;

void PgResults::record_step_started(const ResultKey& key, uint32_t index, const std::string& name,
                                    uint64_t agent_id, uint64_t machine_id, int64_t started_at_us) {
  pg_call(s_, [&] {
    static const std::string sql =
        "INSERT INTO steps (job_id, attempt, idx, name, agent_id, machine_id, started_at)"
        " VALUES ($1, $2, $3, $4, NULLIF($5::bigint, 0), NULLIF($6::bigint, 0), " +
        ts("$7") + ") ON CONFLICT DO NOTHING";
    s_.exec_prepared("step_started", sql, key.job_id, key.attempt, index, name, agent_id,
                     machine_id, started_at_us);
  });
}

void PgResults::record_step_finished(const ResultKey& key, const StepResult& s, uint64_t agent_id,
                                     uint64_t machine_id) {
  const RunContext& c = s.context;
  std::optional<double> task_clock_s;
  if (c.task_clock_ns) task_clock_s = *c.task_clock_ns / 1e9;
  pg_call(s_, [&] {
    static const std::string sql =
        "INSERT INTO steps (job_id, attempt, idx, name, command, timed, agent_id, machine_id,"
        " started_at, ended_at, wall_s, user_s, sys_s, max_rss_kb, exit_code, signal, timed_out,"
        " vol_ctx, invol_ctx, steal_pct, iowait_pct, load1, cpu_mhz, task_clock_s,"
        " instructions, cycles, foreign_share, cpu_pressure)"
        " VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7::bigint, 0), NULLIF($8::bigint, 0), " +
        ts("$9") + ", " + ts("$10") +
        ", $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
        " $27, $28)"
        " ON CONFLICT (job_id, attempt, idx) DO UPDATE SET command = EXCLUDED.command,"
        " timed = EXCLUDED.timed, ended_at = EXCLUDED.ended_at, wall_s = EXCLUDED.wall_s,"
        " user_s = EXCLUDED.user_s, sys_s = EXCLUDED.sys_s, max_rss_kb = EXCLUDED.max_rss_kb,"
        " exit_code = EXCLUDED.exit_code, signal = EXCLUDED.signal,"
        " timed_out = EXCLUDED.timed_out, vol_ctx = EXCLUDED.vol_ctx,"
        " invol_ctx = EXCLUDED.invol_ctx, steal_pct = EXCLUDED.steal_pct,"
        " iowait_pct = EXCLUDED.iowait_pct, load1 = EXCLUDED.load1,"
        " cpu_mhz = EXCLUDED.cpu_mhz, task_clock_s = EXCLUDED.task_clock_s,"
        " instructions = EXCLUDED.instructions, cycles = EXCLUDED.cycles,"
        " foreign_share = EXCLUDED.foreign_share, cpu_pressure = EXCLUDED.cpu_pressure"
        " WHERE steps.ended_at IS NULL";
    s_.exec_prepared("step_finished", sql, key.job_id, key.attempt, s.index, s.name, s.command,
                     s.timed, agent_id, machine_id, s.started_at_us, s.ended_at_us, s.wall_ns / 1e9,
                     s.user_us / 1e6, s.sys_us / 1e6, s.max_rss_kb, s.exit_code, s.signal,
                     s.timed_out, c.vol_ctx, c.invol_ctx, c.steal_pct, c.iowait_pct, c.load1,
                     c.cpu_mhz, task_clock_s, c.instructions, c.cycles, c.foreign_share,
                     c.cpu_pressure_pct);
  });
}

void PgResults::record_sample(const ResultKey& key, uint32_t variant_index,
                              const std::string& variant, uint32_t index, const StepResult& r) {
  samples_->batch.add({key, variant_index, index, variant, r});
}

void PgResults::record_metric(const ResultKey& key, int32_t step_index, const std::string& variant,
                              int32_t run_index, const std::string& name, double value,
                              const std::string& unit) {
  metrics_->batch.add({key, step_index, run_index, variant, name, unit, value});
}

void PgResults::record_calibration(const ResultKey& key, uint64_t machine_id, uint64_t agent_id,
                                   const CalibrationSummary& summary,
                                   const std::vector<double>& times_s) {
  std::string array = "{";
  for (size_t i = 0; i < times_s.size(); ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s%.17g", i ? "," : "", times_s[i]);
    array += buf;
  }
  array += "}";
  pg_call(s_, [&] {
    s_.tx().exec_params(
        "INSERT INTO machine_calibrations (machine_id, agent_id, job_id, attempt, benchmark,"
        " median_s, noise, runs, times_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
        " $9::double precision[]) ON CONFLICT DO NOTHING",
        machine_id, agent_id, key.job_id, key.attempt, summary.benchmark, summary.median_s,
        summary.noise, summary.runs, array);
  });
}

void PgResults::record_deploy_phase(const ResultKey& key, const DeployPhase& p) {
  pg_call(s_, [&] {
    s_.tx().exec_params(
        "INSERT INTO deploy_phases (job_id, attempt, seq, name, started_at, ended_at, ok, detail)"
        " VALUES ($1, $2, $3, $4, " +
            ts("$5") + ", " + ts("$6") + ", $7, $8) ON CONFLICT DO NOTHING",
        key.job_id, key.attempt, key.seq, p.name, p.start_us, p.end_us, p.ok, p.detail);
  });
}

void PgResults::record_deploy_result(const ResultKey& key, const DeployReport& r) {
  const ProbeCounts c = r.probe.value_or(ProbeCounts{});
  auto kind = [&](const char* name) {
    auto it = c.failures.find(name);
    return static_cast<int64_t>(it == c.failures.end() ? 0 : it->second);
  };
  pg_call(s_, [&] {
    s_.tx().exec_params(
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
        key.job_id, key.attempt, std::string(to_string(r.outcome)), r.reason, r.message,
        r.old_version, r.new_version, static_cast<int64_t>(r.switch_old),
        static_cast<int64_t>(r.switch_new), r.probe.has_value(), c.interval_us,
        static_cast<int64_t>(c.sent), static_cast<int64_t>(c.failed), kind("status"),
        kind("refused"), kind("reset"), kind("timeout"), kind("other"),
        static_cast<int64_t>(c.late), c.longest_outage_ms, c.p50_ms, c.p99_ms);
  });
}

void PgResults::record_refusal(const std::string& peer, uint64_t job_id, uint32_t attempt,
                               const std::string& what, const std::string& reason) {
  pg_call(s_, [&] {
    s_.tx().exec_params(
        "INSERT INTO refusals (peer, job_id, attempt, what, reason) VALUES ($1,"
        " NULLIF($2::numeric, 0)::bigint, NULLIF($3::bigint, 0), $4, $5)",
        peer, job_id <= static_cast<uint64_t>(INT64_MAX) ? job_id : 0,
        attempt <= static_cast<uint32_t>(INT32_MAX) ? attempt : 0, what, reason);
  });
}

}  // namespace yardstick
