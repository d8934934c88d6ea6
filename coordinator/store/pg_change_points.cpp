#include "coordinator/store/pg_change_points.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

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

std::vector<SeriesKey> PgChangePoints::jobs_of(pqxx::transaction_base& tx, uint64_t pipeline_id) {
  std::vector<SeriesKey> out;
  for (const auto& row : tx.exec_params(
           "SELECT DISTINCT p.name, j.name, j.machine_id, m.name FROM jobs j JOIN pipelines p ON "
           "p.id = j.pipeline_id JOIN machines m ON m.id = j.machine_id WHERE j.pipeline_id = $1 "
           "AND j.state = 'succeeded' ORDER BY 2, 3",
           static_cast<int64_t>(pipeline_id))) {
    SeriesKey k;
    k.pipeline = row[0].as<std::string>();
    k.job = row[1].as<std::string>();
    k.machine_id = row[2].as<uint64_t>();
    k.machine = row[3].as<std::string>();
    out.push_back(std::move(k));
  }
  return out;
}

std::vector<std::pair<SeriesKey, SeriesPoints>> PgChangePoints::series_points(
    pqxx::transaction_base& tx, const SeriesKey& owner, uint64_t upto, size_t max_points) {
  // The owner's newest jobs, from the index on (name, machine_id, id)
  // read backwards, so that the scan stops after the jobs it needs however
  // long the history (room for a fan-out of two jobs a pipeline, and for
  // jobs of that name in pipelines of other names); then each job's steps,
  // variants' medians and metrics' means, by their keys.
  const auto rows = tx.exec_params(
      "WITH newest AS MATERIALIZED (SELECT j.id, j.attempt, j.pipeline_id, j.revision FROM jobs j "
      "  WHERE j.name = $2 AND j.machine_id = $3 AND j.state = 'succeeded' AND j.pipeline_id <= $4 "
      "  ORDER BY j.id DESC LIMIT $5), "
      "recent AS MATERIALIZED (SELECT n.id, n.attempt, n.pipeline_id, "
      "  COALESCE(NULLIF(n.revision, ''), p.revision) AS revision FROM newest n "
      "  JOIN pipelines p ON p.id = n.pipeline_id WHERE p.name = $1) "
      "SELECT r.id, r.pipeline_id, r.revision, 'step', s.name, 's', s.wall_s FROM recent r "
      "  JOIN steps s ON s.job_id = r.id AND s.attempt = r.attempt AND s.timed "
      "  WHERE s.wall_s IS NOT NULL "
      "UNION ALL SELECT r.id, r.pipeline_id, r.revision, 'variant', s.variant, 's', "
      "  percentile_cont(0.5) WITHIN GROUP (ORDER BY s.wall_s) FROM recent r "
      "  JOIN samples s ON s.job_id = r.id AND s.attempt = r.attempt "
      "  GROUP BY r.id, r.pipeline_id, r.revision, s.variant "
      "UNION ALL SELECT r.id, r.pipeline_id, r.revision, 'metric', x.name, max(x.unit), "
      "  avg(x.value) FROM recent r JOIN metrics x ON x.job_id = r.id AND x.attempt = r.attempt "
      "  AND x.run_idx IS NULL GROUP BY r.id, r.pipeline_id, r.revision, x.name",
      owner.pipeline, owner.job, static_cast<int64_t>(owner.machine_id), static_cast<int64_t>(upto),
      static_cast<int64_t>(2 * max_points));
  // Per series, per pipeline: its jobs' values (a step repeated in a job
  // counts once a job: the median of its runs).
  struct Point {
    std::string revision;
    std::map<uint64_t, std::vector<double>> by_job;
  };
  std::map<std::tuple<std::string, std::string, std::string>, std::map<uint64_t, Point>> series;
  for (const auto& row : rows) {
    auto& point = series[{row[3].as<std::string>(), row[4].as<std::string>(),
                          row[5].as<std::string>()}][row[1].as<uint64_t>()];
    if (point.revision.empty() && !row[2].is_null()) point.revision = row[2].as<std::string>();
    point.by_job[row[0].as<uint64_t>()].push_back(row[6].as<double>());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  };
  std::vector<std::pair<SeriesKey, SeriesPoints>> out;
  for (auto& [key, points] : series) {
    while (points.size() > max_points) points.erase(points.begin());
    SeriesKey k = owner;
    std::tie(k.kind, k.what, k.unit) = key;
    SeriesPoints pts;
    for (const auto& [id, p] : points) {
      std::vector<double> jobs;
      for (const auto& [job, values] : p.by_job) jobs.push_back(median(values));
      pts.pipeline_ids.push_back(id);
      pts.revisions.push_back(p.revision);
      pts.values.push_back(median(jobs));
    }
    out.emplace_back(std::move(k), std::move(pts));
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
