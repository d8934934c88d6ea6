#include "tests/integration/history.hpp"

#include <pqxx/pqxx>

namespace yardstick::test {

void generate_history(const std::string& dsn, const HistoryShape& shape,
                      const std::function<void(const std::string&)>& progress) {
  pqxx::connection conn(dsn);
  const auto step = [&](const std::string& what, const std::string& sql) {
    pqxx::work w(conn);
    w.exec("SET LOCAL synchronous_commit = off");
    w.exec(sql);
    w.commit();
    if (progress) progress(what);
  };
  const std::string machines = std::to_string(shape.machines);
  const std::string pipelines = std::to_string(shape.pipelines);
  const std::string months = std::to_string(shape.months);
  step("machines and agents",
       "INSERT INTO machines (fingerprint, name, cpu_model, logical_cores, memory_bytes,"
       " os_release, kernel, arch, first_seen) SELECT 'hist-fp-' || i, 'hist-m' || i,"
       " 'Generated CPU', 8, 16000000000, 'Debian 12', '6.1.0', 'x86_64', now() - interval '" +
           months + " months' FROM generate_series(1, " + machines +
           ") i;"
           "INSERT INTO agents (name, slots, machine_id, first_seen, last_seen)"
           " SELECT 'hist-a' || substr(name, 7), 4, id, first_seen, now() - interval '1 day'"
           " FROM machines WHERE name LIKE 'hist-m%'");
  // Pipeline i of n is submitted at now - months * (1 - i / n); its jobs
  // run on machines by turn.
  step("pipelines",
       "CREATE TABLE hist_pipelines AS SELECT i, nextval('yardstick_ids') AS id,"
       " (ARRAY['release-build', 'nightly-bench', 'ci', 'sccache-trial'])[1 + i % 4] AS name,"
       " now() - interval '" +
           months + " months' * (1 - i::float8 / " + pipelines +
           ") AS at FROM generate_series(1, " + pipelines +
           ") i;"
           "INSERT INTO pipelines (id, name, revision, branch, submitter, definition,"
           " submitted_at) SELECT id, name, lpad(to_hex(i), 12, '0'), 'main', 'history',"
           " 'generated', at FROM hist_pipelines");
  step("jobs",
       "CREATE TABLE hist_jobs AS SELECT p.id AS pid, p.i, k, nextval('yardstick_ids') AS id,"
       " (ARRAY['cold-build', 'test', 'bench', 'bench-linkers'])[k + 1] AS name,"
       " CASE WHEN k < 2 THEN 'build' ELSE 'bench' END AS kind,"
       " m.id AS machine_id, p.at FROM hist_pipelines p CROSS JOIN generate_series(0, 3) k"
       " JOIN machines m ON m.name = 'hist-m' || (1 + (p.i * 4 + k) % " +
           machines +
           ");"
           "INSERT INTO jobs (id, pipeline_id, name, kind, state, spec, machine_id, agent_id,"
           " created_at, queued_at, started_at, ended_at, revision)"
           " SELECT j.id, j.pid, j.name, j.kind,"
           " CASE WHEN j.i % 50 = 7 THEN 'failed' ELSE 'succeeded' END, '{}', j.machine_id,"
           " a.id, j.at, j.at, j.at + interval '1 s',"
           " j.at + (60 + (j.i % 97)) * interval '1 s', lpad(to_hex(j.i), 12, '0')"
           " FROM hist_jobs j JOIN agents a ON a.machine_id = j.machine_id");
  step("job events",
       "INSERT INTO job_events (job_id, attempt, from_state, to_state, agent_id, at)"
       " SELECT j.id, 1, 'queued', 'assigned', j.agent_id, j.started_at"
       " FROM jobs j JOIN hist_jobs h ON h.id = j.id");
  // Three timed steps a job; a build's compile grows 20 % halfway through.
  step("steps",
       "INSERT INTO steps (job_id, attempt, idx, name, command, agent_id, machine_id,"
       " started_at, ended_at, wall_s, user_s, sys_s, max_rss_kb, exit_code)"
       " SELECT j.id, 1, s, (ARRAY['checkout', 'configure', 'compile'])[s + 1], 'make',"
       " j.agent_id, j.machine_id, j.started_at, j.ended_at,"
       " (ARRAY[2.0, 8.0, 300.0])[s + 1] * (1 + 0.02 * ((h.i * 7 + s) % 5))"
       "  * CASE WHEN s = 2 AND h.i * 2 > " +
           pipelines +
           " THEN 1.2 ELSE 1 END,"
           " 1, 0.1, 100000, 0"
           " FROM jobs j JOIN hist_jobs h ON h.id = j.id, generate_series(0, 2) s");
  step("samples",
       "INSERT INTO samples (job_id, attempt, variant_idx, variant, idx, wall_s, user_s, sys_s,"
       " max_rss_kb, exit_code, at, round, position)"
       " SELECT j.id, 1, v, CASE v WHEN 0 THEN 'default' ELSE 'mold' END, r,"
       " (1 - v * 0.1) * (1 + 0.01 * ((h.i + r) % 7)), 0.9, 0.1, 1000, 0, j.started_at, r, v"
       " FROM jobs j JOIN hist_jobs h ON h.id = j.id, generate_series(0, 1) v,"
       " generate_series(0, " +
           std::to_string(shape.samples_per_variant - 1) + ") r WHERE h.kind = 'bench'");
  step("bench results",
       "INSERT INTO bench_results (job_id, attempt, variant_idx, variant, n, min_s, max_s,"
       " mean_s, median_s, ratio, ci_low, ci_high, p_value, verdict, mde, measure, method)"
       " SELECT j.id, 1, v, CASE v WHEN 0 THEN 'default' ELSE 'mold' END, " +
           std::to_string(shape.samples_per_variant) +
           ", 1, 1.06, 1.03, 1.03 - v * 0.1, CASE v WHEN 1 THEN 0.9 END,"
           " CASE v WHEN 1 THEN 0.88 END, CASE v WHEN 1 THEN 0.92 END,"
           " CASE v WHEN 1 THEN 0.0002 END, CASE v WHEN 1 THEN 'faster' END,"
           " CASE v WHEN 1 THEN 0.03 END, 'wall', 'wilcoxon-signed-rank'"
           " FROM jobs j JOIN hist_jobs h ON h.id = j.id, generate_series(0, 1) v"
           " WHERE h.kind = 'bench'");
  step("metrics",
       "INSERT INTO metrics (job_id, attempt, seq, step_idx, name, value, unit)"
       " SELECT j.id, 1, x, 2, CASE WHEN x = 0 THEN 'ccache.hit_rate'"
       " ELSE 'cargo.crate.crate-' || x END,"
       " CASE WHEN x = 0 THEN 0.5 + 0.05 * (h.i % 9) ELSE x * (1 + 0.01 * (h.i % 11)) END,"
       " CASE WHEN x = 0 THEN '' ELSE 's' END"
       " FROM jobs j JOIN hist_jobs h ON h.id = j.id, generate_series(0, " +
           std::to_string(shape.metrics_per_build - 1) + ") x WHERE h.kind = 'build'");
  // One chunk a job: its lines as a build prints them, each different.
  step("log chunks",
       "INSERT INTO log_chunks (job_id, attempt, seq, stream, step_idx, data, at)"
       " SELECT j.id, 1, 0, 'stdout', 2, convert_to((SELECT string_agg(format("
       " '[%s/%s] Compiling crate-%s v0.%s.%s (%s)', l, " +
           std::to_string(shape.log_lines_per_job) +
           ", (h.i * 31 + l) % 997, l % 13, h.i % 101, md5((h.i * 64 + l)::text)),"
           " E'\\n') FROM generate_series(1, " +
           std::to_string(shape.log_lines_per_job) +
           ") l), 'UTF8'), j.ended_at FROM jobs j JOIN hist_jobs h ON h.id = j.id");
  step("cleanup", "DROP TABLE hist_jobs; DROP TABLE hist_pipelines");
  pqxx::nontransaction(conn).exec("ANALYZE");
  if (progress) progress("analyze");
}

}  // namespace yardstick::test
