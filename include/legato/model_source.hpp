#pragma once
// Where a model comes from: a file or bytes in memory.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace legato {

/// A model file path or the model's bytes. Engines that need no model (bypass, custom) take an
/// empty source.
struct ModelSource {
    std::filesystem::path path;       ///< used when bytes is empty
    std::vector<std::uint8_t> bytes;  ///< the model file's contents, if loaded by the caller

    static ModelSource file(std::filesystem::path p) { return {std::move(p), {}}; }
    static ModelSource memory(std::vector<std::uint8_t> b) { return {{}, std::move(b)}; }

    bool empty() const noexcept { return path.empty() && bytes.empty(); }
    /// For messages: the path, or "<N bytes in memory>".
    std::string describe() const;
};

}  // namespace legato
