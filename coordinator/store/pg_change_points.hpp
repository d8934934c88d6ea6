// The change points' reads and writes (migration 0017), on a connection of
// the change detector's own (coordinator/change_detector.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "common/change_points.hpp"

namespace yardstick {

// One series: a step's wall time, a benchmark variant's median wall time or
// a metric, of one job of a pipeline name on one machine.
struct SeriesKey {
  std::string pipeline, job, kind, what, unit;
  uint64_t machine_id = 0;
  std::string machine;  // its name, for what is told
};

// Its points, oldest first: one per pipeline.
struct SeriesPoints {
  std::vector<uint64_t> pipeline_ids;
  std::vector<std::string> revisions;
  std::vector<double> values;
};

// A change point as stored and told.
struct FoundChange {
  SeriesKey series;
  ChangePoint change;
  uint64_t last_good_pipeline_id = 0, first_bad_pipeline_id = 0;
  std::string last_good_revision, first_bad_revision;
  std::string direction;  // "regressed" or "improved"
};

// "regressed" when the series moved the wrong way: up for times and most
// metrics, down for a metric in % (a hit rate).
std::string change_direction(const SeriesKey& series, double ratio);

struct PipelineToSearch {
  uint64_t id = 0;
  std::string name, file_name, definition;
};

class PgChangePoints {
 public:
  explicit PgChangePoints(pqxx::connection& conn) : conn_(conn) {}
  // Pipelines whose jobs have all ended and whose series were not searched,
  // oldest first.
  std::vector<PipelineToSearch> ended_unsearched(size_t limit);
  // The jobs of the pipeline that succeeded, with their machines: the
  // series' owners (pipeline, job and machine set; kind, what, unit empty).
  std::vector<SeriesKey> jobs_of(pqxx::transaction_base& tx, uint64_t pipeline_id);
  // Every series of `owner` (its steps, variants and metrics) over its
  // newest `max_points` pipelines up to the pipeline `upto`, read
  // together: the points a pipeline end needs, in one pass over the
  // owner's newest jobs.
  std::vector<std::pair<SeriesKey, SeriesPoints>> series_points(pqxx::transaction_base& tx,
                                                                const SeriesKey& owner,
                                                                uint64_t upto, size_t max_points);
  // Replaces the series' change points after its first point with `found`,
  // and returns those of `found` that were not stored before (to be told).
  // In the caller's transaction.
  std::vector<FoundChange> replace(pqxx::work& tx, const SeriesKey& series, uint64_t first_point,
                                   const std::vector<FoundChange>& found, uint64_t found_by);
  void mark_searched(pqxx::work& tx, uint64_t pipeline_id);

 private:
  pqxx::connection& conn_;
};

}  // namespace yardstick
