#include "coordinator/cli/requests.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

namespace yardstick {

std::string submitter_login() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return "unknown";
}

capnp::MallocMessageBuilder& fresh(std::unique_ptr<capnp::MallocMessageBuilder>& b) {
  b = std::make_unique<capnp::MallocMessageBuilder>();
  return *b;
}

std::unique_ptr<wire_io::Frame> fetch_status(Client& client, uint64_t id) {
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initStatus().setId(id);
  return client.call(*b);
}

std::unique_ptr<wire_io::Frame> fetch_status_waiting(Client& client, uint64_t id) {
  for (bool outage = false;;) {
    try {
      auto st = fetch_status(client, id);
      if (outage) std::cerr << "yardstick: the coordinator answers again\n";
      return st;
    } catch (const Unreachable& e) {
      if (!outage) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
    } catch (const RemoteError& e) {
      if (e.code() != wire::ErrorCode::UNAVAILABLE) throw;
      if (!outage) std::cerr << "yardstick: " << e.what() << "; still waiting\n";
    }
    outage = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

bool read_logs(Client& client, uint64_t job_id, uint64_t* cursor, std::vector<LogPiece>* out) {
  for (;;) {
    std::unique_ptr<capnp::MallocMessageBuilder> b;
    auto req = client.request(fresh(b)).getBody().initLogs();
    req.setJobId(job_id);
    req.setAfterId(*cursor);
    auto frame = client.call(*b);
    auto r = frame->envelope().getBody().getLogsReply();
    for (auto c : r.getChunks()) {
      auto d = c.getData();
      out->push_back({c.getId(), c.getAttempt(), c.getStepIndex(), c.getStepName().cStr(),
                      c.getAgent().cStr(),
                      std::string(reinterpret_cast<const char*>(d.begin()), d.size())});
    }
    *cursor = r.getLastId();
    if (r.getChunks().size() == 0) return r.getJobEnded();
  }
}

void print_pieces(const std::vector<LogPiece>& pieces, LogPrinter& p) {
  std::ostream& out = p.out ? *p.out : std::cout;
  for (const auto& piece : pieces) {
    if (p.attempt && piece.attempt != p.attempt) continue;
    if (!p.step.empty() && piece.step_name != p.step) continue;
    if (!p.printed || piece.attempt != p.last_attempt || piece.step_index != p.last_step) {
      if (!p.at_line_start) out << "\n";
      std::string head = "── ";
      if (piece.step_index >= 0)
        head += "step " +
                (piece.step_name.empty() ? std::to_string(piece.step_index) : piece.step_name) +
                " · ";
      head += "attempt " + std::to_string(piece.attempt);
      if (!piece.agent.empty()) head += " on " + piece.agent;
      out << p.prefix << head << " ──\n";
      p.printed = true;
      p.at_line_start = true;
      p.last_attempt = piece.attempt;
      p.last_step = piece.step_index;
    }
    if (piece.data.empty()) continue;
    if (p.prefix.empty()) {
      out << piece.data;
    } else {
      std::istringstream lines(piece.data);
      std::string line;
      while (std::getline(lines, line)) out << p.prefix << line << "\n";
    }
    p.at_line_start = p.prefix.size() || piece.data.back() == '\n';
  }
  out.flush();
}

bool print_logs(Client& client, uint64_t job_id, uint64_t* cursor, LogPrinter& printer) {
  std::vector<LogPiece> pieces;
  const bool ended = read_logs(client, job_id, cursor, &pieces);
  print_pieces(pieces, printer);
  return ended;
}

}  // namespace yardstick
