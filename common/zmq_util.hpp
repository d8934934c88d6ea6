// Small helpers around cppzmq socket setup shared by every role.
#pragma once

#include <chrono>
#include <string>
#include <vector>
#include <zmq.hpp>

namespace yardstick {

// A ROUTER facing peers we do not trust: bounded frames, sends to gone
// peers fail instead of vanishing, no linger on close.
void configure_router(zmq::socket_t& socket);
// A DEALER: bounded frames, no linger, bounded send queue.
void configure_dealer(zmq::socket_t& socket);
// The endpoint a socket is bound to, with the port a wildcard bind chose.
std::string last_endpoint(zmq::socket_t& socket);
// zmq::poll that returns 0 when a signal interrupts it (EINTR) instead of throwing.
int poll(zmq::pollitem_t* items, size_t count, std::chrono::milliseconds timeout);
// True for tcp://127.x, tcp://localhost, tcp://[::1] and ipc:// endpoints.
bool is_local_endpoint(const std::string& endpoint);
// Empty when `endpoint` is one ZeroMQ can use (tcp://HOST:PORT, ipc://PATH,
// inproc://NAME); else what is wrong with it, naming it.
std::string endpoint_problem(const std::string& endpoint);

// Agents and the CLI may be given every coordinator of a leader and its
// standbys: "tcp://a:7401,tcp://b:7401". The items, trimmed.
std::vector<std::string> split_endpoints(const std::string& list);
// endpoint_problem() of each item; an empty list or item is a problem too.
std::string endpoint_list_problem(const std::string& list);
// True when every item is local.
bool is_local_endpoint_list(const std::string& list);
// Connects a DEALER to every item. With more than one, messages go only to
// connections that completed (ZMQ_IMMEDIATE): standbys do not bind, so
// only the leader receives them; a send may then have to wait for one.
void connect_all(zmq::socket_t& socket, const std::string& list);

}  // namespace yardstick
