// The dashboard's pages: each renders from one read-only transaction and
// the request's parameters, and throws HttpError for a request that names
// nothing (404) or is malformed (400). No page writes.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include <pqxx/pqxx>

namespace yardstick::web {

struct HttpError : std::runtime_error {
  HttpError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

using Params = std::multimap<std::string, std::string>;

// A positive id from a path or a parameter; HttpError 400 otherwise.
int64_t parse_id(const std::string& text, const char* what);

std::string home_page(pqxx::transaction_base& tx, const Params& params);
std::string pipeline_page(pqxx::transaction_base& tx, int64_t id);
std::string job_page(pqxx::transaction_base& tx, int64_t id, const Params& params);
// {"state", "done", "more", "chunks": [{"seq", "stream", "text"}]}: log after `after`.
std::string job_log_json(pqxx::transaction_base& tx, int64_t id, const Params& params);
std::string compare_page(pqxx::transaction_base& tx, int64_t pipeline_id);
std::string trends_page(pqxx::transaction_base& tx, const Params& params);
std::string machines_page(pqxx::transaction_base& tx, const Params& params);
std::string deploys_page(pqxx::transaction_base& tx, const Params& params);
std::string reports_index();
// A report of sql/reports as a page with its form, or as CSV when `csv`.
std::string report_page(pqxx::transaction_base& tx, const std::string& name, const Params& params,
                        bool csv);

// An error page with `message` (escaped).
std::string error_page(int status, const std::string& message);

}  // namespace yardstick::web
