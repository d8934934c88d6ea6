// The requests that more than one command makes through a Client: a
// pipeline's (or a job's) status, and a job's log since a cursor. Each
// throws what Client::call throws (Unreachable, RemoteError) unless it
// says otherwise.
#pragma once

#include <capnp/message.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/wire.hpp"
#include "coordinator/cli/client.hpp"

namespace yardstick {

// Who submits, as the CLI claims it: $USER, else the account's name, else
// "unknown" (with CURVE the coordinator names the key instead).
std::string submitter_login();
// Replaces `b` with a new builder and returns it: one per request.
capnp::MallocMessageBuilder& fresh(std::unique_ptr<capnp::MallocMessageBuilder>& b);

// The status of pipeline or job `id`; its StatusReply is in the frame.
std::unique_ptr<wire_io::Frame> fetch_status(Client& client, uint64_t id);

// fetch_status for a command that waits: through a coordinator restart or a
// database outage it says so once and asks again (the jobs keep running and
// their results are delivered afterwards), and says when the coordinator
// answers again.
std::unique_ptr<wire_io::Frame> fetch_status_waiting(Client& client, uint64_t id);

// How a job's log is printed: to `out` (standard error when standard
// output carries JSON), each line after `prefix` when one is given, with a
// header whenever the step or the attempt changes
// (`── step build · attempt 2 on ci-1 ──`), only attempt `attempt` (0:
// every one) and only step `step` (empty: every line). Keeps what it
// printed last between calls, so that headers follow a followed log.
struct LogPrinter {
  std::ostream* out = nullptr;
  std::string prefix;
  uint32_t attempt = 0;
  std::string step;
  // What was printed last.
  uint32_t last_attempt = 0;
  int32_t last_step = -2;
  bool at_line_start = true;
  bool printed = false;
};

// One chunk of a job's log as the coordinator sent it.
struct LogPiece {
  uint64_t id = 0;
  uint32_t attempt = 0;
  int32_t step_index = -1;
  std::string step_name, agent, data;
};

// Reads every new chunk of `job_id` after `*cursor` and moves the cursor
// on; returns whether the job ended.
bool read_logs(Client& client, uint64_t job_id, uint64_t* cursor, std::vector<LogPiece>* out);
// Prints `pieces` in order through `printer`.
void print_pieces(const std::vector<LogPiece>& pieces, LogPrinter& printer);
// read_logs, then print_pieces: for a log followed as it comes.
bool print_logs(Client& client, uint64_t job_id, uint64_t* cursor, LogPrinter& printer);

}  // namespace yardstick
