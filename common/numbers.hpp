// Numbers as text: exact for programs (JSON, CSV, stored budgets), and
// rounded to significant digits, with a unit, for people (as hyperfine
// prints: "11.04 ms", not "0.0110").
#pragma once

#include <string>
#include <string_view>

namespace yardstick {

// The shortest text that reads back as the same double ("0.0110423",
// "1e-07"); "Infinity", "-Infinity" and "NaN" as PostgreSQL writes them.
std::string exact_number(double value);

// `value` with `digits` significant digits, never in exponent form for
// values from 1e-6 to 1e15, and never dropping integer digits (12345.6 is
// "12346" at 4 digits); trailing zeros kept, as a measured figure's
// precision ("1.200").
std::string significant(double value, int digits = 4);

// A duration in seconds scaled to s, ms, µs or ns, with `digits`
// significant digits: 0.0110423 is "11.04 ms", 432.1 is "432.1 s".
std::string human_seconds(double seconds, int digits = 4);

// A number read from text (a report's cell) shown for people: as a
// duration when `unit` is "s" or "ms", else with significant digits; text
// that is no number comes back unchanged.
std::string human_cell(std::string_view text, std::string_view unit, int digits = 4);

}  // namespace yardstick
