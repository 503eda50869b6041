#pragma once
// Files the `legato` tool writes are never lost or half-written: each is written to a
// temporary file beside its destination and renamed over it only when complete (a rename
// within one directory is atomic), so on any failure the destination is left exactly as it
// was, and an existing file is never deleted.

#include <filesystem>
#include <string>

namespace legato::cli {

class OutputFile {
public:
    /// [main thread] Reserves a new temporary file beside `destination` (same directory, so the
    /// final rename is atomic). Throws std::runtime_error naming `destination` if the directory
    /// does not exist or is not writable.
    explicit OutputFile(std::filesystem::path destination);
    /// Removes the temporary file unless commit() succeeded.
    ~OutputFile();
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    /// Where to write now.
    const std::filesystem::path& temporary() const noexcept { return temporary_; }
    const std::filesystem::path& destination() const noexcept { return destination_; }

    /// [main thread] Renames the complete temporary file over the destination. Throws
    /// std::runtime_error naming both on failure (the destination is then unchanged).
    void commit();

private:
    std::filesystem::path destination_;
    std::filesystem::path temporary_;
    bool committed_ = false;
};

/// True if `a` and `b` name the same existing file, also through symbolic or hard links.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace legato::cli
