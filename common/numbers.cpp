#include "common/numbers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace yardstick {

std::string exact_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

std::string significant(double value, int digits) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  digits = std::clamp(digits, 1, 17);
  char buf[64];
  if (value == 0) return digits == 1 ? "0" : "0." + std::string(digits - 1, '0');
  const double magnitude = std::fabs(value);
  if (magnitude < 1e-6 || magnitude >= 1e15) {
    std::snprintf(buf, sizeof buf, "%.*e", digits - 1, value);
    return buf;
  }
  // Digits before the point, after rounding to `digits` significant ones
  // (9.9996 rounds to 10.00, not 9.9996 shown as "10.000").
  int before = static_cast<int>(std::floor(std::log10(magnitude))) + 1;
  int decimals = std::max(0, digits - before);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  const double rounded = std::fabs(std::strtod(buf, nullptr));
  if (rounded > 0 && static_cast<int>(std::floor(std::log10(rounded))) + 1 > before) {
    decimals = std::max(0, decimals - 1);
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  }
  return buf;
}

std::string human_seconds(double seconds, int digits) {
  if (!std::isfinite(seconds)) return significant(seconds, digits);
  const double magnitude = std::fabs(seconds);
  // Scaled first, then rounded: 0.99996 s is "1000 ms" at 4 digits.
  if (magnitude >= 1 || magnitude == 0) return significant(seconds, digits) + " s";
  if (magnitude >= 1e-3) return significant(seconds * 1e3, digits) + " ms";
  if (magnitude >= 1e-6) return significant(seconds * 1e6, digits) + " µs";
  return significant(seconds * 1e9, digits) + " ns";
}

std::string human_cell(std::string_view text, std::string_view unit, int digits) {
  if (text.empty()) return std::string(text);
  const std::string s(text);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return s;
  if (unit == "s") return human_seconds(v, digits);
  if (unit == "ms") return human_seconds(v / 1e3, digits);
  return significant(v, digits);
}

}  // namespace yardstick
