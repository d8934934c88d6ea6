// What more than one command prints: aligned tables, a report's rows in
// each format, and a pipeline's status (a table, or JSON). Everything goes
// to standard output.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/wire.hpp"

namespace yardstick {

// Prints rows as aligned columns, two spaces apart.
void print_table(const std::vector<std::vector<std::string>>& rows);

enum class Format { kTable, kJson, kCsv, kMarkdown };

// A report's rows: a table (headings upper-cased; "(no rows)" when empty),
// a JSON array of objects, CSV or a Markdown table. `kinds` ("integer",
// "number", "boolean", else text) and `nulls`, per column and per cell,
// shape the JSON only; missing ones mean text and not NULL.
void print_rows(const std::vector<std::string>& columns,
                const std::vector<std::vector<std::string>>& rows, Format format,
                const std::vector<std::string>& kinds = {},
                const std::vector<std::vector<bool>>& nulls = {});

// One job as `status --json` and `submit --json` show it; times in µs
// since the epoch, durations in seconds.
nlohmann::json job_json(wire::JobSummary::Reader j);

// A pipeline's own wall budget in `status`: null without one, else
// {wall_s (the budget), actual_s (null while a job runs), over_budget};
// as text, one line "pipeline budget: wall <= 420s: ✓ 12.3s" (✗ when
// breached, … while a job runs), nothing without one (status_budget.cpp).
nlohmann::json pipeline_budget_json(wire::StatusReply::Reader r);
void print_pipeline_budget(wire::StatusReply::Reader r);

// A pipeline's status: its jobs, steps and deploy phases as a table and
// then each job's messages, or with `as_json` one JSON object.
void print_status(wire::StatusReply::Reader r, bool as_json);

}  // namespace yardstick
