#include "common/job_spec.hpp"

#include <capnp/compat/json.h>
#include <capnp/message.h>
#include <kj/exception.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "common/wire.hpp"

namespace yardstick::job_spec {

namespace {

using json = nlohmann::json;

// RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(kj::StringPtr text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.begin());
  const auto* end = p + text.size();
  while (p < end) {
    unsigned char c = *p;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c < 0x80) {
      ++p;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) < len) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (size_t i = 2; i < len; ++i)
      if (p[i] < 0x80 || p[i] > 0xBF) return false;
    p += len;
  }
  return true;
}

void check_text(kj::StringPtr text, const std::string& where) {
  if (!valid_utf8(text))
    throw std::invalid_argument("job spec: " + where + " is not valid UTF-8 text");
}

// jsonb refuses invalid UTF-8, which the JSON encoder would write as given.
// Checked on the encoded tree so that no field is missed. (jsonb also refuses
// \u0000, but a Text set from a std::string already ends at its first NUL.)
void check_storable(capnp::JsonValue::Reader value, const std::string& where) {
  switch (value.which()) {
    case capnp::JsonValue::STRING:
      check_text(value.getString(), where);
      break;
    case capnp::JsonValue::ARRAY: {
      auto items = value.getArray();
      for (unsigned i = 0; i < items.size(); ++i)
        check_storable(items[i], where + "[" + std::to_string(i) + "]");
      break;
    }
    case capnp::JsonValue::OBJECT:
      for (auto field : value.getObject()) {
        std::string name = field.getName();
        std::string path = where.empty() ? name : where + "." + name;
        check_text(field.getName(), "the key of " + path);
        check_storable(field.getValue(), path);
      }
      break;
    default:
      break;
  }
}

// --- The format written before the spec went through the wire struct. ---
// Read only, so that rows stored by an older coordinator still load.

// An unsigned field of the old format. nlohmann would convert a float or an
// out-of-range number by a cast, which is undefined behaviour (found by
// fuzzing): those are the wrong type.
template <typename T>
T legacy_uint(const json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key)) return j.value(key, fallback);
  const json& v = j[key];
  if (v.is_number_unsigned() && v.get<uint64_t>() <= std::numeric_limits<T>::max())
    return static_cast<T>(v.get<uint64_t>());
  if (v.is_number_integer() && v.get<int64_t>() >= 0 &&
      static_cast<uint64_t>(v.get<int64_t>()) <= std::numeric_limits<T>::max())
    return static_cast<T>(v.get<int64_t>());
  throw std::runtime_error(std::string("job spec (old format): ") + key +
                           " is not an unsigned integer in range");
}

std::optional<Budget> legacy_budget(const json& j) {
  if (j.is_null()) return std::nullopt;
  Budget b;
  b.wall_ms = legacy_uint(j, "wall_ms", uint64_t{0});
  b.fail = j.value("fail", false);
  for (const auto& m : j.value("metrics", json::array()))
    b.metrics.push_back({m.value("metric", ""), m.value("op", ">="), m.value("value", 0.0)});
  return b;
}

JobAssignment legacy_from_json(const json& j) {
  JobAssignment a;
  a.pipeline_name = j.value("pipeline_name", "");
  a.job_name = j.value("job_name", "");
  a.kind = parse_job_kind(j.value("kind", "build")).value_or(JobKind::kBuild);
  a.revision = j.value("revision", "");
  a.branch = j.value("branch", "");
  a.checkout_repo = j.value("checkout_repo", "");
  a.workdir = j.value("workdir", "");
  a.env = j.value("env", EnvVars{});
  for (const auto& s : j.value("steps", json::array())) {
    StepSpec step;
    step.name = s.value("name", "");
    step.run = s.value("run", "");
    step.env = s.value("env", EnvVars{});
    step.timed = s.value("timed", true);
    step.timeout_ms = legacy_uint(s, "timeout_ms", uint64_t{0});
    step.collect = s.value("collect", std::vector<std::string>{});
    step.budget = legacy_budget(s.value("budget", json()));
    a.steps.push_back(std::move(step));
  }
  a.timeout_ms = legacy_uint(j, "timeout_ms", uint64_t{0});
  a.slots = legacy_uint(j, "slots", 1u);
  if (j.contains("bench") && !j["bench"].is_null()) {
    const json& b = j["bench"];
    BenchSpec s;
    s.run = b.value("run", "");
    s.setup = b.value("setup", "");
    s.prepare = b.value("prepare", "");
    s.conclude = b.value("conclude", "");
    s.cleanup = b.value("cleanup", "");
    s.warmup = legacy_uint(b, "warmup", 0u);
    s.runs = legacy_uint(b, "runs", 0u);
    s.min_runs = legacy_uint(b, "min_runs", 10u);
    s.max_runs = legacy_uint(b, "max_runs", 0u);
    s.max_time_ms = legacy_uint(b, "max_time_ms", uint64_t{3000});
    s.ignore_failure = b.value("ignore_failure", false);
    s.interleave = b.value("interleave", true);
    s.collect = b.value("collect", std::vector<std::string>{});
    s.alpha = b.value("alpha", 0.05);
    s.noise_floor = b.value("noise_floor", 0.01);
    a.bench = s;
  }
  for (const auto& v : j.value("variants", json::array()))
    a.variants.push_back({v.value("name", ""), v.value("env", EnvVars{}), v.value("run", "")});
  a.budget = legacy_budget(j.value("budget", json()));
  return a;
}

// The old writer always wrote both keys; the Cap'n Proto codec writes
// camelCase ("pipelineName"), so neither can appear in the current format.
bool is_legacy(const json& j) {
  return j.contains("pipeline_name") || j.contains("job_name");
}

// Cap'n Proto 0.9's JSON parser reads the hex letters of a \u escape
// wrongly ("\u001b" became U+0011), and both its encoder and jsonb write
// control characters that way: a command holding ESC changed when read back.
// So the text is parsed here and handed to the codec as a JsonValue tree.
constexpr int kMaxDepth = 64;  // as the codec's own parser

void to_json_value(const json& j, capnp::JsonValue::Builder out, int depth) {
  if (depth > kMaxDepth)
    throw std::runtime_error("job spec: nested deeper than " + std::to_string(kMaxDepth) +
                             " levels");
  switch (j.type()) {
    case json::value_t::boolean:
      out.setBoolean(j.get<bool>());
      break;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      out.setNumber(j.get<double>());
      break;
    case json::value_t::string: {
      const auto& text = j.get_ref<const std::string&>();
      out.setString(kj::StringPtr(text.c_str(), text.size()));
      break;
    }
    case json::value_t::array: {
      auto items = out.initArray(static_cast<unsigned>(j.size()));
      for (unsigned i = 0; i < j.size(); ++i) to_json_value(j[i], items[i], depth + 1);
      break;
    }
    case json::value_t::object: {
      auto fields = out.initObject(static_cast<unsigned>(j.size()));
      unsigned i = 0;
      for (const auto& [key, value] : j.items()) {
        fields[i].setName(kj::StringPtr(key.c_str(), key.size()));
        to_json_value(value, fields[i].initValue(), depth + 1);
        ++i;
      }
      break;
    }
    default:  // null; nlohmann's binary and discarded never come from parse()
      out.setNull();
      break;
  }
}

}  // namespace

std::string to_json(const JobAssignment& spec) {
  try {
    capnp::MallocMessageBuilder message;
    auto assign = message.initRoot<wire::Assign>();
    wire_io::fill(assign, spec);
    capnp::JsonCodec codec;
    capnp::MallocMessageBuilder encoded;
    auto root = encoded.initRoot<capnp::JsonValue>();
    codec.encode(assign.asReader(), root);
    check_storable(root.asReader(), "");
    return codec.encodeRaw(root.asReader()).cStr();
  } catch (const kj::Exception& e) {
    throw std::runtime_error(std::string("job spec: cannot encode: ") + e.getDescription().cStr());
  }
}

JobAssignment from_json(const std::string& text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, and out_of_range for a number beyond a double (found by fuzzing).
    throw std::runtime_error(std::string("job spec: not valid JSON: ") + e.what());
  }
  if (!doc.is_object())
    throw std::runtime_error(std::string("job spec: expected a JSON object, got ") +
                             doc.type_name());
  if (is_legacy(doc)) {
    try {
      return legacy_from_json(doc);
    } catch (const json::exception& e) {
      throw std::runtime_error(std::string("job spec (old format): ") + e.what());
    }
  }
  try {
    capnp::JsonCodec codec;
    capnp::MallocMessageBuilder message;
    capnp::MallocMessageBuilder tree;
    auto root = tree.initRoot<capnp::JsonValue>();
    to_json_value(doc, root, 0);
    auto assign = message.initRoot<wire::Assign>();
    codec.decode(root.asReader(), assign);
    return wire_io::read(assign.asReader());
  } catch (const kj::Exception& e) {
    throw std::runtime_error(std::string("job spec: ") + e.getDescription().cStr());
  }
}

}  // namespace yardstick::job_spec
