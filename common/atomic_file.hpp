// Files that other programs read while they may be written: a ready file
// (the endpoints a daemon bound), a result file a parent process waits for.
#pragma once

#include <string>
#include <string_view>

namespace yardstick {

// Replaces `path` with `contents` in one step: written to `path`.tmp,
// synced to disk, then renamed over `path`, so that a reader sees the old
// file or the whole new one, never a part. False, with `error` naming the
// file and what failed ("cannot write x.tmp: No space left on device"),
// when any step fails; the .tmp file is then removed and `path` is as it was.
bool write_file_atomically(const std::string& path, std::string_view contents, std::string* error);

}  // namespace yardstick
