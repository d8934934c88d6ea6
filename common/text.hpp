// Text that peers send: PostgreSQL's text columns take only valid UTF-8
// without NUL, so every name, label, message and metric from a peer passes
// through valid_text() before it is stored. Log bytes are stored as bytes
// (bytea) and never pass through here.
#pragma once

#include <string>
#include <string_view>

namespace yardstick {

// The text with each byte that is not part of a well-formed UTF-8 sequence
// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), and
// each NUL, replaced by U+FFFD REPLACEMENT CHARACTER, so that the damage
// stays visible. Valid text comes back unchanged.
std::string valid_text(std::string_view text);

// True when valid_text(text) would return it unchanged.
bool is_valid_text(std::string_view text);

}  // namespace yardstick
