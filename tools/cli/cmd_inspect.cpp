// `tandem inspect MODEL`: metadata and the tensor table of a GGUF file.

#include <cstdio>
#include <string>

#include "command_registry.h"
#include "gguf/gguf_reader.h"

namespace {

void add_inspect(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Print a GGUF file's metadata and tensor table");
  auto path = std::make_shared<std::string>();
  auto max_items = std::make_shared<size_t>(8);
  cmd->add_option("model", *path, "GGUF file")->required();
  cmd->add_option("--max-items", *max_items, "Array items shown per metadata value");
  cmd->callback([path, max_items] {
    auto file = tandem::gguf::GgufFile::open(*path);
    if (!file) {
      std::fprintf(stderr, "error: %s\n", file.error().c_str());
      throw tandem::cli::ExitCode{1};
    }
    std::printf("file: %s\nGGUF version %u, %zu bytes, alignment %zu, data at offset %zu\n\n", path->c_str(),
                file->version(), file->file_size(), file->alignment(), file->data_offset());
    std::printf("metadata (%zu keys):\n", file->metadata().size());
    for (const auto& [key, value] : file->metadata()) {
      std::string type(tandem::gguf::value_type_name(value.type()));
      if (const auto* a = value.as_array()) {
        type += "[" + std::string(tandem::gguf::value_type_name(a->element_type)) + "]";
      }
      std::printf("  %-40s %-9s %s\n", key.c_str(), type.c_str(), value.to_display_string(*max_items).c_str());
    }
    size_t total = 0;
    std::printf("\ntensors (%zu):\n  %-36s %-7s %-24s %12s\n", file->tensors().size(), "name", "type", "shape",
                "bytes");
    for (const auto& t : file->tensors()) {
      std::printf("  %-36s %-7s %-24s %12zu\n", t.name.c_str(),
                  std::string(tandem::ggml_type_name(t.type)).c_str(), t.shape_string().c_str(), t.n_bytes);
      total += t.n_bytes;
    }
    std::printf("  total tensor bytes: %zu\n", total);
  });
}

}  // namespace

TANDEM_REGISTER_COMMAND(add_inspect);
