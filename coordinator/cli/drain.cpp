#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "coordinator/cli/client.hpp"
#include "coordinator/cli/commands.hpp"
#include "coordinator/cli/requests.hpp"

namespace yardstick {

namespace {
using json = nlohmann::json;
}  // namespace

int cmd_drain(const Options& o, const std::string& agent, bool undo) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  auto d = client.request(fresh(b)).getBody().initDrain();
  d.setAgent(agent);
  d.setUndo(undo);
  client.call(*b);
  if (o.json)
    std::cout << json{{"agent", agent}, {"draining", !undo}}.dump() << "\n";
  else
    std::cout << "agent " << agent
              << (undo ? " takes jobs again\n"
                       : " is draining: its running jobs finish, it takes no new one\n");
  return kOk;
}

}  // namespace yardstick
