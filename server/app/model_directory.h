#pragma once
// Where /admin/model/load may take a model from (model.directory), and the checks a file passes
// before the model that works is unloaded for it. The admin's request names a file; the answer
// must tell nothing about the rest of the file system: a path that is missing, outside the
// directory, or a symlink out of it gets the same message, and no byte of a file that is not a
// model is quoted back.
//
// Both functions block on the file system (realpath, open, reading the GGUF header), so they run
// on a worker thread (file_worker.h), never on an HTTP I/O thread.

#include <string>
#include <string_view>

#include "core/result.h"

namespace tandem::server {

class ModelDirectory {
 public:
  explicit ModelDirectory(std::string directory) : directory_(std::move(directory)) {}

  bool configured() const { return !directory_.empty(); }
  const std::string& path() const { return directory_; }

  // The real path (symlinks resolved) of the file `requested` names: a path relative to the
  // directory ("m.gguf", "qwen/q4.gguf") or an absolute one inside it.
  Result<std::string> resolve(std::string_view requested) const;

 private:
  std::string directory_;
};

// Opens `path` (after realpath) with O_NONBLOCK | O_NOFOLLOW, so that a FIFO or a device cannot
// hang the open; fstat()s it and refuses anything but a regular file before a byte is read; then
// reads its GGUF header through that same descriptor to prove it is a model Tandem can serve.
// Returns the real path. Errors name the file as `shown` (what the client sent).
Result<std::string> vet_model_file(const std::string& path, std::string_view shown);

}  // namespace tandem::server
