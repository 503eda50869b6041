#include "archive_check.hpp"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <vector>

namespace legato::torch_check {

namespace {

std::uint64_t le(const std::uint8_t* p, int bytes) {
    std::uint64_t value = 0;
    for (int i = bytes - 1; i >= 0; --i)
        value = value << 8 | p[i];
    return value;
}

constexpr std::uint32_t end_signature = 0x06054b50;        // end of central directory
constexpr std::uint32_t zip64_end_signature = 0x06064b50;  // zip64 end of central directory
constexpr std::uint32_t zip64_locator_signature = 0x07064b50;
constexpr std::uint32_t entry_signature = 0x02014b50;  // central directory file header
constexpr std::uint32_t local_signature = 0x04034b50;  // local file header

// CRC-32 of `data` (zlib's, in chunks: its length parameter is 32-bit).
std::uint32_t crc_of(const std::vector<std::uint8_t>& data) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (std::size_t done = 0; done < data.size();) {
        const auto chunk = static_cast<uInt>(
            std::min<std::size_t>(data.size() - done, std::numeric_limits<uInt>::max()));
        crc = crc32(crc, data.data() + done, chunk);
        done += chunk;
    }
    return static_cast<std::uint32_t>(crc);
}

// Inflates raw deflate data into exactly `size` bytes; false if it does not fit exactly.
bool inflate_exactly(std::vector<std::uint8_t>& in, std::uint64_t size,
                     std::vector<std::uint8_t>& out) {
    if (in.size() > std::numeric_limits<uInt>::max() || size > std::numeric_limits<uInt>::max())
        return false;
    out.assign(size, 0);
    z_stream stream{};
    if (inflateInit2(&stream, -MAX_WBITS) != Z_OK)
        return false;
    stream.next_in = in.data();
    stream.avail_in = static_cast<uInt>(in.size());
    std::uint8_t spare = 0;  // a non-empty target even for size 0, to see excess output
    stream.next_out = size > 0 ? out.data() : &spare;
    stream.avail_out = size > 0 ? static_cast<uInt>(size) : 1;
    const int result = inflate(&stream, Z_FINISH);
    const bool exact = result == Z_STREAM_END && stream.total_out == size;
    inflateEnd(&stream);
    return exact;
}
// Deflate cannot expand data by more than about 1032:1.
constexpr std::uint64_t max_deflate_ratio = 1032;

}  // namespace

std::string archive_problem(std::uint64_t size, const ReadAt& read_at) {
    if (size < 22)
        return "it is too small to be a zip archive (TorchScript archives are zip files)";
    // The end record is in the last 22 + 65535 (its comment) bytes.
    const std::uint64_t tail_size = std::min<std::uint64_t>(size, 22 + 65535);
    std::vector<std::uint8_t> tail(tail_size);
    if (!read_at(size - tail_size, tail_size, tail.data()))
        return "it cannot be read";
    std::int64_t end = -1;
    for (std::int64_t i = static_cast<std::int64_t>(tail_size) - 22; i >= 0; --i) {
        if (le(&tail[static_cast<std::size_t>(i)], 4) == end_signature) {
            end = i;
            break;
        }
    }
    if (end < 0)
        return "it is not a zip archive (no end-of-central-directory record; TorchScript "
               "archives are zip files)";
    const std::uint8_t* record = &tail[static_cast<std::size_t>(end)];
    std::uint64_t entries = le(record + 10, 2);
    std::uint64_t directory_size = le(record + 12, 4);
    std::uint64_t directory_offset = le(record + 16, 4);
    if (entries == 0xffff || directory_size == 0xffffffff || directory_offset == 0xffffffff) {
        const std::uint64_t end_position = size - tail_size + static_cast<std::uint64_t>(end);
        std::uint8_t locator[20];
        if (end_position < 20 || !read_at(end_position - 20, 20, locator) ||
            le(locator, 4) != zip64_locator_signature)
            return "its zip64 end-of-directory locator is missing";
        const std::uint64_t zip64_end = le(locator + 8, 8);
        std::uint8_t zip64[56];
        if (zip64_end > size || size - zip64_end < 56 || !read_at(zip64_end, 56, zip64) ||
            le(zip64, 4) != zip64_end_signature)
            return "its zip64 end-of-directory record is missing";
        entries = le(zip64 + 32, 8);
        directory_size = le(zip64 + 40, 8);
        directory_offset = le(zip64 + 48, 8);
    }
    if (directory_offset > size || directory_size > size - directory_offset)
        return "its zip directory (" + std::to_string(directory_size) + " bytes at " +
               std::to_string(directory_offset) + ") lies outside the " + std::to_string(size) +
               "-byte archive";
    std::vector<std::uint8_t> directory(directory_size);
    if (!read_at(directory_offset, directory_size, directory.data()))
        return "its zip directory cannot be read";
    std::uint64_t position = 0;
    for (std::uint64_t e = 0; e < entries; ++e) {
        if (directory_size - position < 46 || le(&directory[position], 4) != entry_signature)
            return "its zip directory is truncated at entry " + std::to_string(e) + " of " +
                   std::to_string(entries);
        const std::uint8_t* header = &directory[position];
        const std::uint64_t method = le(header + 10, 2);
        std::uint64_t compressed = le(header + 20, 4);
        std::uint64_t uncompressed = le(header + 24, 4);
        const std::uint64_t name_length = le(header + 28, 2);
        const std::uint64_t extra_length = le(header + 30, 2);
        const std::uint64_t comment_length = le(header + 32, 2);
        std::uint64_t local_offset = le(header + 42, 4);
        const auto expected_crc = static_cast<std::uint32_t>(le(header + 16, 4));
        if (directory_size - position - 46 < name_length + extra_length + comment_length)
            return "its zip directory is truncated at entry " + std::to_string(e);
        const std::string name(reinterpret_cast<const char*>(header + 46), name_length);
        // Zip64 sizes and offset, for the fields that hold 0xffffffff, in this order.
        const std::uint8_t* extra = header + 46 + name_length;
        for (std::uint64_t x = 0; x + 4 <= extra_length;) {
            const std::uint64_t id = le(extra + x, 2);
            const std::uint64_t length = le(extra + x + 2, 2);
            if (x + 4 + length > extra_length)
                break;
            if (id == 0x0001) {
                const std::uint8_t* field = extra + x + 4;
                std::uint64_t left = length;
                for (std::uint64_t* value : {&uncompressed, &compressed, &local_offset}) {
                    if (*value != 0xffffffff)
                        continue;
                    if (left < 8)
                        return "entry '" + name + "' has a truncated zip64 field";
                    *value = le(field, 8);
                    field += 8;
                    left -= 8;
                }
            }
            x += 4 + length;
        }
        const std::string entry = "entry '" + name + "'";
        if (local_offset > size || compressed > size || size - local_offset < 30 + compressed)
            return entry + " claims " + std::to_string(compressed) + " bytes at offset " +
                   std::to_string(local_offset) + " in a " + std::to_string(size) +
                   "-byte archive";
        if (method == 0 && uncompressed != compressed)
            return entry + " is stored (uncompressed) but claims " +
                   std::to_string(uncompressed) + " bytes for " + std::to_string(compressed);
        if (method == 8 && uncompressed / max_deflate_ratio > compressed + 1)
            return entry + " claims " + std::to_string(uncompressed) + " bytes from " +
                   std::to_string(compressed) + " compressed ones, beyond what deflate can do";
        if (method != 0 && method != 8)
            return entry + " uses zip compression method " + std::to_string(method) +
                   ", which LibTorch cannot read";
        // The entry's data and its CRC: LibTorch does not verify CRCs, so a corrupted archive
        // would reach its TorchScript compiler, which can crash on damaged source.
        std::uint8_t local[30];
        if (!read_at(local_offset, 30, local) || le(local, 4) != local_signature)
            return entry + " has no local header at offset " + std::to_string(local_offset);
        const std::uint64_t data_offset = local_offset + 30 + le(local + 26, 2) + le(local + 28, 2);
        if (data_offset > size || size - data_offset < compressed)
            return entry + "'s data runs past the end of the archive";
        std::vector<std::uint8_t> data(compressed);
        if (!read_at(data_offset, compressed, data.data()))
            return entry + "'s data cannot be read";
        if (method == 8) {
            std::vector<std::uint8_t> inflated;
            if (!inflate_exactly(data, uncompressed, inflated))
                return entry + " does not inflate to its " + std::to_string(uncompressed) +
                       " bytes (corrupt)";
            data.swap(inflated);
        }
        if (crc_of(data) != expected_crc)
            return entry + " fails its CRC check (the archive is corrupt)";
        position += 46 + name_length + extra_length + comment_length;
    }
    return {};
}

}  // namespace legato::torch_check
