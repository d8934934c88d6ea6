// Text: what peers send, and small helpers for text read from files.
//
// Text that peers send: PostgreSQL's text columns take only valid UTF-8
// without NUL, so every name, label, message and metric from a peer passes
// through valid_text() before it is stored. Log bytes are stored as bytes
// (bytea) and never pass through here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace yardstick {

// The text with each byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), and
// each NUL, replaced by U+FFFD REPLACEMENT CHARACTER, so that the damage
// stays visible. Valid text comes back unchanged.
std::string valid_text(std::string_view text);

// True when valid_text(text) would return it unchanged.
bool is_valid_text(std::string_view text);

// `text` without the ASCII whitespace (space, \t, \n, \v, \f, \r) at its
// start and end.
std::string trim(std::string_view text);

// The candidate closest to `word` for a "did you mean": the fewest single
// edits (insert, delete, substitute, swap two neighbours), at most a third
// of the word's length and at least 1 (2 from 4 letters); "" when none is
// that close, or when `word` is itself a candidate. Ties go to the first.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace yardstick
