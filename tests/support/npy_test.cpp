// The .npy reader: the formats it accepts and the files it refuses.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "npy.hpp"

namespace legato::test {
namespace {

// Writes a version-1 .npy with the given header dict and raw payload.
std::filesystem::path write_npy(const std::string& name, const std::string& dict,
                                const std::string& payload) {
    std::string header = dict;
    while ((10 + header.size() + 1) % 64 != 0)
        header += ' ';
    header += '\n';
    const auto path = std::filesystem::temp_directory_path() / name;
    std::ofstream file(path, std::ios::binary);
    file.write("\x93NUMPY\x01\x00", 8);
    const char size[2] = {static_cast<char>(header.size() & 0xff),
                          static_cast<char>(header.size() >> 8)};
    file.write(size, 2);
    file << header << payload;
    return path;
}

std::string floats(std::initializer_list<float> values) {
    std::string bytes;
    for (const float v : values)
        bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
    return bytes;
}

TEST(Npy, ReadsShapeAndData) {
    const auto path = write_npy("legato_npy_2x3.npy",
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                floats({1, 2, 3, 4, 5, 6}));
    const NpyArray array = read_npy(path);
    EXPECT_EQ(array.shape, (std::vector<std::size_t>{2, 3}));
    EXPECT_EQ(array.data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    const NpyArray vector = read_npy(
        write_npy("legato_npy_5.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                  floats({7, 8})));
    EXPECT_EQ(vector.shape, (std::vector<std::size_t>{2}));
    const NpyArray scalar =
        read_npy(write_npy("legato_npy_scalar.npy",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", floats({9})));
    EXPECT_TRUE(scalar.shape.empty());
    EXPECT_EQ(scalar.data, std::vector<float>{9});
}

TEST(Npy, RefusesWhatItCannotRead) {
    auto message = [](const std::filesystem::path& path) {
        try {
            read_npy(path);
        } catch (const std::runtime_error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(write_npy("legato_npy_f8.npy",
                                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                                std::string(8, '\0')))
                  .find("expected '<f4'"),
              std::string::npos);
    EXPECT_NE(
        message(write_npy("legato_npy_fortran.npy",
                          "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", floats({1})))
            .find("Fortran"),
        std::string::npos);
    EXPECT_NE(
        message(write_npy("legato_npy_short.npy",
                          "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floats({1})))
            .find("truncated data"),
        std::string::npos);
    EXPECT_NE(message(std::filesystem::temp_directory_path() / "legato_npy_missing.npy")
                  .find("cannot open"),
              std::string::npos);
    const auto garbage = std::filesystem::temp_directory_path() / "legato_npy_garbage.npy";
    std::ofstream(garbage) << "hello";
    EXPECT_NE(message(garbage).find("not a .npy file"), std::string::npos);
}

}  // namespace
}  // namespace legato::test
