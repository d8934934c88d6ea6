#include "common/zmq_util.hpp"

#include <cerrno>

#include "common/wire.hpp"

namespace yardstick {

void configure_router(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::router_mandatory, 1);
  socket.set(zmq::sockopt::maxmsgsize, wire_io::kMaxFrameBytes);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
}

void configure_dealer(zmq::socket_t& socket) {
  socket.set(zmq::sockopt::maxmsgsize, wire_io::kMaxFrameBytes);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::sndhwm, 100000);
  socket.set(zmq::sockopt::rcvhwm, 100000);
}

std::string last_endpoint(zmq::socket_t& socket) {
  return socket.get(zmq::sockopt::last_endpoint);
}

int poll(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout) {
  try {
    return zmq::poll(items, count, timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() == EINTR) return 0;
    throw;
  }
}

bool is_local_endpoint(const std::string& endpoint) {
  return endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0 ||
         endpoint.rfind("tcp://127.", 0) == 0 || endpoint.rfind("tcp://localhost", 0) == 0 ||
         endpoint.rfind("tcp://[::1]", 0) == 0;
}

std::string endpoint_problem(const std::string& endpoint) {
  if (endpoint.find(',') != std::string::npos)
    return "endpoint '" + endpoint + "' is a list: give one endpoint here";
  const auto scheme = endpoint.find("://");
  if (scheme == std::string::npos)
    return "endpoint '" + endpoint + "' has no scheme: write tcp://" + endpoint +
           " (or ipc://PATH)";
  const std::string kind = endpoint.substr(0, scheme), rest = endpoint.substr(scheme + 3);
  if (kind == "ipc" || kind == "inproc")
    return rest.empty() ? "endpoint '" + endpoint + "' names no path" : "";
  if (kind != "tcp")
    return "endpoint '" + endpoint + "': unknown scheme '" + kind + "' (tcp://, ipc://)";
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    return "endpoint '" + endpoint + "' needs a host and a port: tcp://HOST:PORT";
  const std::string port = rest.substr(colon + 1);
  if (port != "*" && port.find_first_not_of("0123456789") != std::string::npos)
    return "endpoint '" + endpoint + "': the port '" + port + "' is not a number";
  return "";
}

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t comma = list.find(',', start);
    std::string item =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    out.push_back(first == std::string::npos ? "" : item.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string endpoint_list_problem(const std::string& list) {
  const auto items = split_endpoints(list);
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].empty())
      return "endpoint list '" + list + "': item " + std::to_string(i + 1) +
             " is empty (write tcp://a:7401,tcp://b:7401)";
    if (auto problem = endpoint_problem(items[i]); !problem.empty()) return problem;
  }
  return "";
}

bool is_local_endpoint_list(const std::string& list) {
  for (const auto& item : split_endpoints(list))
    if (!is_local_endpoint(item)) return false;
  return true;
}

void connect_all(zmq::socket_t& socket, const std::string& list) {
  const auto items = split_endpoints(list);
  if (items.size() > 1) socket.set(zmq::sockopt::immediate, 1);
  for (const auto& item : items) socket.connect(item);
}

}  // namespace yardstick
