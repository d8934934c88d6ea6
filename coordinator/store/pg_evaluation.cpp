#include <pqxx/pqxx>

#include "coordinator/store/pg_batch.hpp"
#include "coordinator/store/pg_store.hpp"

namespace yardstick {

namespace {
// A PostgreSQL text[] literal.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t k = 0; k < items.size(); ++k) {
    out += k ? ",\"" : "\"";
    for (char c : items[k]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}
}  // namespace

std::vector<VariantRuns> PgEvaluation::bench_runs(uint64_t job_id, uint32_t attempt,
                                                  size_t variants) {
  s_.flush();
  std::vector<VariantRuns> out;
  pg_call(s_, [&] {
    auto rows = s_.tx().exec_params(
        "SELECT variant_idx, variant, wall_s, user_s + sys_s, instructions, contended"
        " FROM samples WHERE job_id = $1 AND attempt = $2 AND variant_idx >= 0"
        " AND variant_idx < $3 ORDER BY variant_idx, idx",
        job_id, attempt, static_cast<int64_t>(variants));
    for (const auto& r : rows) {
      const size_t v = r[0].as<size_t>();
      if (v >= variants) continue;  // never indexes past the job's variants
      if (out.size() <= v) out.resize(v + 1);
      out[v].name = r[1].as<std::string>();
      RunValues run;
      run.wall_s = r[2].as<double>();
      run.cpu_s = r[3].as<double>();
      if (!r[4].is_null()) run.instructions = r[4].as<double>();
      run.contended = r[5].as<bool>();
      out[v].runs.push_back(run);
    }
  });
  return out;
}

std::map<std::string, double> PgEvaluation::metric_values(uint64_t job_id, uint32_t attempt,
                                                          std::optional<int> step_index) {
  s_.flush();
  std::map<std::string, double> out;
  pg_call(s_, [&] {
    auto rows = s_.tx().exec_params(
        "SELECT DISTINCT ON (name) name, value FROM metrics WHERE job_id = $1 AND attempt = $2"
        " AND ($3 OR step_idx = $4) ORDER BY name, seq DESC",
        job_id, attempt, !step_index.has_value(), step_index.value_or(-1));
    for (const auto& r : rows) out[r[0].as<std::string>()] = r[1].as<double>();
  });
  return out;
}

std::map<int, double> PgEvaluation::step_walls(uint64_t job_id, uint32_t attempt) {
  std::map<int, double> out;
  pg_call(s_, [&] {
    auto rows = s_.tx().exec_params(
        "SELECT idx, wall_s FROM steps WHERE job_id = $1 AND attempt = $2 AND wall_s IS NOT NULL",
        job_id, attempt);
    for (const auto& r : rows) out[r[0].as<int>()] = r[1].as<double>();
  });
  return out;
}

void PgEvaluation::save_bench_results(uint64_t job_id, uint32_t attempt,
                                      const std::vector<VariantResult>& results,
                                      std::optional<uint64_t> order_seed,
                                      const std::string& stop_reason) {
  pg_call(s_, [&] {
    std::map<std::string, size_t> index_in_measure;  // results come measure by measure
    for (const auto& r : results) {
      const auto& s = r.summary;
      const bool has = r.vs_baseline.has_value();
      const Detectable none;
      const Detectable& d = has ? r.vs_baseline->detectable : none;
      const size_t variant_idx = index_in_measure[r.measure]++;
      // $19: a comparison exists; $26, $27: its MDE and run count are known.
      s_.tx().exec_params(
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
          has ? to_string(r.vs_baseline->verdict) : std::string(), has, text_array(r.warnings),
          r.measure, has ? r.vs_baseline->method : std::string(),
          static_cast<int64_t>(order_seed.value_or(0)), d.mde.value_or(0), d.power,
          d.mde.has_value(), d.runs_for_2pct.has_value(), order_seed.has_value(),
          static_cast<int64_t>(d.runs_for_2pct.value_or(0)), static_cast<int64_t>(r.contended),
          stop_reason);
    }
  });
}

void PgEvaluation::save_budget_breaches(uint64_t job_id, uint32_t attempt,
                                        const std::vector<BudgetBreach>& breaches) {
  pg_call(s_, [&] {
    for (const auto& b : breaches)
      s_.tx().exec_params(
          "INSERT INTO budget_breaches (job_id, attempt, step_idx, subject, budget, actual,"
          " fails_job) VALUES ($1, $2, NULLIF($3::integer, -1), $4, $5,"
          " CASE WHEN $6 THEN $7::float8 END, $8)",
          job_id, attempt, b.step_index.value_or(-1), b.subject, b.budget, b.actual.has_value(),
          b.actual.value_or(0), b.fails_job);
    if (!breaches.empty())
      s_.tx().exec_params("UPDATE jobs SET over_budget = true WHERE id = $1", job_id);
  });
}

GateFacts PgEvaluation::gate_facts(uint64_t job_id) {
  s_.flush();  // samples of this turn count too
  GateFacts out;
  out.samples.columns = {"machine", "benchmark",    "side",     "wall_s",
                         "cpu_s",   "instructions", "contended"};
  out.samples.kinds = {"text", "text", "text", "number", "number", "number", "boolean"};
  s_.in_savepoint("gate", [&] {
    // The job; the verdicts its attempt was given; the counted runs of it
    // and of the same job's latest earlier success on the same machine at
    // another revision (of a pipeline of the same name). The machine is
    // matched by name, as fan-out pins it: a new kernel makes a new row.
    // The runs' order is (variant, run) in bigint: an index past 2,147
    // variants must not overflow the product.
    auto rows = s_.tx().exec_params(
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
        "  false, 0::bigint AS ord FROM need"
        " UNION ALL"
        " SELECT 1, r.variant, r.measure, '', '', '', COALESCE(r.ratio, 1), COALESCE(r.ci_low, 1),"
        "  COALESCE(r.ci_high, 1), false, r.variant_idx::bigint"
        " FROM need JOIN bench_results r ON r.job_id = need.id AND r.attempt = need.attempt"
        " WHERE r.verdict = 'slower'"
        " UNION ALL"
        " SELECT 2, s.variant, CASE WHEN s.job_id = need.id THEN 'b' ELSE 'a' END, '', '', '',"
        "  s.wall_s, s.user_s + s.sys_s, s.instructions::float8, s.contended,"
        "  s.variant_idx::bigint * 4294967296 + s.idx"
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
    // Change points (migration 0017) of this job's variants on its machine:
    // of each series, the newest regression, and the level after the newest
    // change point of any direction.
    for (const auto& r : s_.tx().exec_params(
             "WITH cp AS (SELECT c.* FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id "
             " JOIN machines m ON m.id = j.machine_id JOIN machines cm ON cm.name = m.name "
             " JOIN change_points c ON c.pipeline_name = p.name AND c.job = j.name AND "
             " c.kind = 'variant' AND c.machine_id = cm.id WHERE j.id = $1)"
             " SELECT DISTINCT ON (reg.what) reg.what, reg.ratio, reg.last_good_revision,"
             "  reg.first_bad_revision, reg.median_before,"
             "  (SELECT n.median_after FROM cp n WHERE n.what = reg.what"
             "   ORDER BY n.first_bad_pipeline_id DESC LIMIT 1)"
             " FROM cp reg WHERE reg.direction = 'regressed'"
             " ORDER BY reg.what, reg.first_bad_pipeline_id DESC",
             job_id))
      out.regressed_series.push_back({r[0].as<std::string>(), r[1].as<double>(),
                                      r[2].as<std::string>(), r[3].as<std::string>(),
                                      r[4].as<double>(), r[5].as<double>()});
  });
  return out;
}

}  // namespace yardstick
