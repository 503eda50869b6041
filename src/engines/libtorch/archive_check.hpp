#pragma once
// Checks a TorchScript archive's zip structure and integrity before LibTorch reads it. Found by
// fuzzing, LibTorch 1.13 (a) allocates each record at the size the central directory claims
// before reading it, so a corrupt size makes it try to allocate gigabytes, and (b) verifies no
// CRC, so damaged TorchScript source reaches its compiler, which can crash on it. This check
// bounds every entry by the archive and verifies every entry's CRC-32 (inflating deflated ones).
// Regression inputs: fuzz/regressions/libtorch/.

#include <cstdint>
#include <functional>
#include <string>

namespace legato::torch_check {

/// Reads `count` bytes at `offset` into `out`; false if they are not all there.
using ReadAt = std::function<bool(std::uint64_t offset, std::uint64_t count, std::uint8_t* out)>;

/// [setup thread] Empty if the `size`-byte archive's zip directory is consistent (every entry
/// inside the archive, stored or deflated with a plausible ratio) and every entry matches its
/// CRC; otherwise what is wrong,
/// e.g. "entry 'model/data/0' claims 4294836551 bytes in a 16781-byte archive".
std::string archive_problem(std::uint64_t size, const ReadAt& read_at);

}  // namespace legato::torch_check
