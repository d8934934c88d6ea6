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

int cmd_cancel(const Options& o, uint64_t id) {
  zmq::context_t ctx(1);
  Client client(ctx, o.endpoint, std::chrono::milliseconds(o.timeout_ms), client_security(o));
  std::unique_ptr<capnp::MallocMessageBuilder> b;
  client.request(fresh(b)).getBody().initCancelRequest().setId(id);
  auto frame = client.call(*b);
  uint32_t n = frame->envelope().getBody().getCancelReply().getCancelled();
  if (o.json)
    std::cout << json{{"cancelled", n}}.dump() << "\n";
  else
    std::cout << "cancelled " << n << " job" << (n == 1 ? "" : "s") << "\n";
  return kOk;
}

}  // namespace yardstick
