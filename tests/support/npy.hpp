#pragma once
// Reading NumPy .npy files (float32, little-endian, C order): the reference data of the test
// models and of the real-model conformance suite.

#include <cstddef>
#include <filesystem>
#include <vector>

namespace legato::test {

struct NpyArray {
    std::vector<std::size_t> shape;
    std::vector<float> data;  ///< row-major

    std::size_t size() const noexcept { return data.size(); }
};

/// Reads `path`. Throws std::runtime_error naming the file for anything but a version 1/2/3
/// .npy holding '<f4' data in C order.
NpyArray read_npy(const std::filesystem::path& path);

/// Reads a 2-D [channels, frames] array as one vector per channel (the stream tests' layout).
/// Throws std::runtime_error as read_npy() does, and for another number of dimensions.
std::vector<std::vector<float>> read_npy_channels(const std::filesystem::path& path);

}  // namespace legato::test
