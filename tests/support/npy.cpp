#include "npy.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

namespace legato::test {

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
    throw std::runtime_error(path.string() + ": " + what);
}

// The value of `key` in the header's Python dict literal, e.g. 'descr': '<f4'.
std::string header_value(const std::string& header, const std::string& key,
                         const std::filesystem::path& path) {
    const auto at = header.find("'" + key + "'");
    if (at == std::string::npos)
        fail(path, "header has no '" + key + "'");
    auto start = header.find(':', at);
    if (start == std::string::npos)
        fail(path, "malformed header");
    ++start;
    while (start < header.size() && header[start] == ' ')
        ++start;
    std::size_t end = start;
    if (header[start] == '(') {
        end = header.find(')', start) + 1;
    } else if (header[start] == '\'') {
        end = header.find('\'', start + 1) + 1;
    } else {
        while (end < header.size() && header[end] != ',' && header[end] != '}')
            ++end;
    }
    return header.substr(start, end - start);
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        fail(path, "cannot open");
    char magic[8];
    if (!file.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
        fail(path, "not a .npy file");
    std::uint32_t header_size = 0;
    if (magic[6] == 1) {
        unsigned char bytes[2];
        file.read(reinterpret_cast<char*>(bytes), 2);
        header_size = bytes[0] | (bytes[1] << 8);
    } else if (magic[6] == 2 || magic[6] == 3) {
        unsigned char bytes[4];
        file.read(reinterpret_cast<char*>(bytes), 4);
        header_size = bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) |
                      (static_cast<std::uint32_t>(bytes[3]) << 24);
    } else {
        fail(path, "unsupported .npy version " + std::to_string(magic[6]));
    }
    std::string header(header_size, '\0');
    if (!file.read(header.data(), header_size))
        fail(path, "truncated header");
    const std::string descr = header_value(header, "descr", path);
    if (descr != "'<f4'")
        fail(path, "dtype " + descr + ", expected '<f4' (float32, little-endian)");
    if (header_value(header, "fortran_order", path) != "False")
        fail(path, "Fortran order is not supported");

    NpyArray array;
    const std::string shape =
        header_value(header, "shape", path);  // "(2, 96000)" or "(5,)" or "()"
    std::size_t count = 1;
    for (std::size_t i = 1; i < shape.size();) {
        while (i < shape.size() && (shape[i] == ' ' || shape[i] == ','))
            ++i;
        if (i >= shape.size() || shape[i] == ')')
            break;
        std::size_t end = i;
        while (end < shape.size() && shape[end] >= '0' && shape[end] <= '9')
            ++end;
        if (end == i)
            fail(path, "malformed shape " + shape);
        array.shape.push_back(std::stoul(shape.substr(i, end - i)));
        count *= array.shape.back();
        i = end;
    }
    array.data.resize(count);
    if (!file.read(reinterpret_cast<char*>(array.data.data()),
                   static_cast<std::streamsize>(count * sizeof(float))))
        fail(path, "truncated data: expected " + std::to_string(count) + " float32 values");
    return array;
}

std::vector<std::vector<float>> read_npy_channels(const std::filesystem::path& path) {
    const NpyArray array = read_npy(path);
    if (array.shape.size() != 2)
        fail(path, "expected a [channels, frames] array, got " +
                       std::to_string(array.shape.size()) + " dimensions");
    const std::size_t frames = array.shape[1];
    std::vector<std::vector<float>> channels(array.shape[0]);
    for (std::size_t c = 0; c < channels.size(); ++c)
        channels[c].assign(array.data.begin() + static_cast<std::ptrdiff_t>(c * frames),
                           array.data.begin() + static_cast<std::ptrdiff_t>((c + 1) * frames));
    return channels;
}

}  // namespace legato::test
