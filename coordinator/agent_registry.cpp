#include "coordinator/agent_registry.hpp"

namespace yardstick {

AgentRegistry::Admission AgentRegistry::admit(const std::string& name,
                                              const std::string& incarnation,
                                              const std::string& route, int64_t now_ms,
                                              int64_t alive_ms) const {
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return Admission::kNew;
  const AgentSession& old = it->second;
  if (!incarnation.empty() && incarnation == old.incarnation) return Admission::kRepeat;
  if (old.route != route && now_ms - old.last_seen_ms < alive_ms) return Admission::kReject;
  return Admission::kReplace;
}

AgentSession& AgentRegistry::put(AgentSession session) {
  if (auto old = sessions_.find(session.name); old != sessions_.end()) {
    if (old->second.route != session.route) routes_.erase(old->second.route);
    session.acks.insert(session.acks.begin(), old->second.acks.begin(), old->second.acks.end());
    sessions_.erase(old);
  }
  routes_[session.route] = session.name;
  const std::string name = session.name;
  return sessions_.emplace(name, std::move(session)).first->second;
}

void AgentRegistry::remove(const std::string& name) {
  auto it = sessions_.find(name);
  if (it == sessions_.end()) return;
  routes_.erase(it->second.route);
  sessions_.erase(it);
}

void AgentRegistry::clear() {
  sessions_.clear();
  routes_.clear();
}

AgentSession* AgentRegistry::find(const std::string& name) {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

const AgentSession* AgentRegistry::find(const std::string& name) const {
  auto it = sessions_.find(name);
  return it == sessions_.end() ? nullptr : &it->second;
}

void AgentRegistry::set_admin_draining(const std::string& name, bool draining) {
  if (draining)
    admin_draining_.insert(name);
  else
    admin_draining_.erase(name);
  if (AgentSession* s = find(name)) s->draining_admin = draining;
}

AgentSession* AgentRegistry::by_route(const std::string& route) {
  auto r = routes_.find(route);
  if (r == routes_.end()) return nullptr;
  auto s = sessions_.find(r->second);
  return s != sessions_.end() && s->second.route == route ? &s->second : nullptr;
}

std::string AgentRegistry::name_of(const std::string& route, const std::string& fallback) const {
  auto r = routes_.find(route);
  return r == routes_.end() ? fallback : r->second;
}

std::vector<std::string> AgentRegistry::expired(int64_t now_ms, int64_t lease_ms) const {
  std::vector<std::string> out;
  for (const auto& [name, s] : sessions_)
    if (now_ms - s.last_seen_ms > lease_ms) out.push_back(name);
  return out;
}

void AgentRegistry::extend(int64_t gap_ms) {
  for (auto& [name, s] : sessions_) s.last_seen_ms += gap_ms;
}

}  // namespace yardstick
