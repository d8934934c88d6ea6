#include "coordinator/outbox.hpp"

#include "common/wire.hpp"

namespace yardstick {

void Outbox::reply(Side side, const std::string& route, capnp::MessageBuilder& builder) {
  after_commit_.push_back({side, route, wire_io::to_message(builder)});
}

void Outbox::error(Side side, const std::string& route, uint64_t request_id, wire::ErrorCode code,
                   const std::string& message) {
  after_commit_.push_back({side, route, wire_io::error_message(request_id, code, message)});
}

void Outbox::now(Side side, const std::string& route, capnp::MessageBuilder& builder) {
  now_.push_back({side, route, wire_io::to_message(builder)});
}

void Outbox::rewind(size_t mark) {
  if (mark < after_commit_.size())
    after_commit_.erase(after_commit_.begin() + static_cast<std::ptrdiff_t>(mark),
                        after_commit_.end());
}

std::vector<Outgoing> Outbox::take_now() {
  std::vector<Outgoing> out;
  out.swap(now_);
  return out;
}

std::vector<Outgoing> Outbox::take_after_commit() {
  std::vector<Outgoing> out;
  out.swap(after_commit_);
  return out;
}

}  // namespace yardstick
