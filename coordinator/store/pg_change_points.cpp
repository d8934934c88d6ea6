#include "coordinator/store/pg_change_points.hpp"

#include <set>

namespace yardstick {

std::string change_direction(const SeriesKey& series, double ratio) {
  const bool higher_is_better = series.kind == "metric" && series.unit == "%";
  return (ratio > 1) != higher_is_better ? "regressed" : "improved";
}

std::vector<PipelineToSearch> PgChangePoints::ended_unsearched(size_t limit) {
  pqxx::nontransaction n(conn_);
  std::vector<PipelineToSearch> out;
  for (const auto& row : n.exec_params(
           "SELECT p.id, p.name, p.file_name, p.definition FROM pipelines p "
           "WHERE p.changes_checked_at IS NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE "
           "j.pipeline_id = p.id AND j.state IN ('pending', 'queued', 'assigned', 'running')) "
           "ORDER BY p.id LIMIT $1",
           static_cast<int64_t>(limit)))
    out.push_back({row[0].as<uint64_t>(), row[1].as<std::string>(), row[2].as<std::string>(),
                   row[3].as<std::string>()});
  return out;
}

std::vector<SeriesKey> PgChangePoints::series_of(pqxx::transaction_base& tx, uint64_t pipeline_id) {
  std::vector<SeriesKey> out;
  for (const auto& row : tx.exec_params(
           "WITH done AS (SELECT j.id, j.attempt, j.name, j.machine_id, p.name AS pipeline "
           "  FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id "
           "  WHERE j.pipeline_id = $1 AND j.state = 'succeeded' AND j.machine_id IS NOT NULL) "
           "SELECT DISTINCT d.pipeline, d.name, k.kind, k.what, k.unit, d.machine_id, m.name "
           "FROM done d JOIN machines m ON m.id = d.machine_id, LATERAL ("
           "  SELECT 'step' AS kind, s.name AS what, 's' AS unit FROM steps s "
           "    WHERE s.job_id = d.id AND s.attempt = d.attempt AND s.timed AND s.wall_s > 0 "
           "  UNION SELECT DISTINCT 'variant', s.variant, 's' FROM samples s "
           "    WHERE s.job_id = d.id AND s.attempt = d.attempt "
           "  UNION SELECT DISTINCT 'metric', x.name, x.unit FROM metrics x "
           "    WHERE x.job_id = d.id AND x.attempt = d.attempt AND x.run_idx IS NULL) k "
           "ORDER BY 2, 3, 4, 6",
           static_cast<int64_t>(pipeline_id))) {
    SeriesKey k;
    k.pipeline = row[0].as<std::string>();
    k.job = row[1].as<std::string>();
    k.kind = row[2].as<std::string>();
    k.what = row[3].as<std::string>();
    k.unit = row[4].as<std::string>();
    k.machine_id = row[5].as<uint64_t>();
    k.machine = row[6].as<std::string>();
    out.push_back(std::move(k));
  }
  return out;
}

SeriesPoints PgChangePoints::points(pqxx::transaction_base& tx, const SeriesKey& series,
                                    uint64_t upto, size_t max_points) {
  // One point per pipeline: the median over its jobs of that name on the
  // machine (a fan-out), of the final attempts that succeeded.
  std::string value, from;
  if (series.kind == "step") {
    value = "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s)";
    from = "JOIN steps s ON s.job_id = j.id AND s.attempt = j.attempt AND s.name = $4 AND s.timed";
  } else if (series.kind == "variant") {
    value = "percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s)";
    from = "JOIN samples s ON s.job_id = j.id AND s.attempt = j.attempt AND s.variant = $4";
  } else {
    value = "avg(s.value)";
    from =
        "JOIN metrics s ON s.job_id = j.id AND s.attempt = j.attempt AND s.name = $4 AND "
        "s.run_idx IS NULL";
  }
  const auto rows = tx.exec_params(
      "SELECT p.id, max(COALESCE(NULLIF(j.revision, ''), p.revision)), " + value +
          " FROM jobs j JOIN pipelines p ON p.id = j.pipeline_id " + from +
          " WHERE j.name = $2 AND j.machine_id = $3 AND p.name = $1 AND j.state = 'succeeded' "
          "AND p.id <= $5 GROUP BY p.id ORDER BY p.id DESC LIMIT $6",
      series.pipeline, series.job, static_cast<int64_t>(series.machine_id), series.what,
      static_cast<int64_t>(upto), static_cast<int64_t>(max_points));
  SeriesPoints out;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if ((*it)[2].is_null()) continue;
    out.pipeline_ids.push_back((*it)[0].as<uint64_t>());
    out.revisions.push_back((*it)[1].is_null() ? "" : (*it)[1].as<std::string>());
    out.values.push_back((*it)[2].as<double>());
  }
  return out;
}

std::vector<FoundChange> PgChangePoints::replace(pqxx::work& tx, const SeriesKey& series,
                                                 uint64_t first_point,
                                                 const std::vector<FoundChange>& found,
                                                 uint64_t found_by) {
  std::set<uint64_t> before;
  for (const auto& row : tx.exec_params(
           "DELETE FROM change_points WHERE pipeline_name = $1 AND job = $2 AND kind = $3 AND "
           "what = $4 AND machine_id = $5 AND first_bad_pipeline_id > $6 "
           "RETURNING first_bad_pipeline_id",
           series.pipeline, series.job, series.kind, series.what,
           static_cast<int64_t>(series.machine_id), static_cast<int64_t>(first_point)))
    before.insert(row[0].as<uint64_t>());
  std::vector<FoundChange> fresh;
  for (const FoundChange& f : found) {
    const ChangePoint& c = f.change;
    tx.exec_params(
        "INSERT INTO change_points (pipeline_name, job, kind, what, unit, machine_id, "
        "last_good_pipeline_id, first_bad_pipeline_id, last_good_revision, first_bad_revision, "
        "points_before, points_after, median_before, median_after, ratio, ratio_low, ratio_high, "
        "p_value, detectable, direction, found_by_pipeline_id) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
        series.pipeline, series.job, series.kind, series.what, series.unit,
        static_cast<int64_t>(series.machine_id), static_cast<int64_t>(f.last_good_pipeline_id),
        static_cast<int64_t>(f.first_bad_pipeline_id), f.last_good_revision, f.first_bad_revision,
        static_cast<int64_t>(c.n_before), static_cast<int64_t>(c.n_after), c.median_before,
        c.median_after, c.ratio, c.ci_low, c.ci_high, c.p, c.detectable, f.direction,
        static_cast<int64_t>(found_by));
    if (!before.count(f.first_bad_pipeline_id)) fresh.push_back(f);
  }
  return fresh;
}

void PgChangePoints::mark_searched(pqxx::work& tx, uint64_t pipeline_id) {
  tx.exec_params("UPDATE pipelines SET changes_checked_at = now() WHERE id = $1",
                 static_cast<int64_t>(pipeline_id));
}

}  // namespace yardstick
