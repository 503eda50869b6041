#include "tools/legato/output_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace legato::cli {

OutputFile::OutputFile(std::filesystem::path destination) : destination_(std::move(destination)) {
    // mkstemp creates the file with a unique name, so a concurrent run cannot take it.
    std::string pattern = destination_.string() + ".legato-tmp-XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    const int fd = mkstemp(name.data());
    if (fd < 0)
        throw std::runtime_error(destination_.string() + ": cannot write beside it (" +
                                 std::strerror(errno) + ")");
    // mkstemp makes it private (0600); give it the mode the destination has, or the mode a
    // newly created file would get.
    std::error_code error;
    const auto existing = std::filesystem::status(destination_, error);
    mode_t mode = 0;
    if (!error && std::filesystem::exists(existing)) {
        mode = static_cast<mode_t>(existing.permissions()) & 07777;
    } else {
        const mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    fchmod(fd, mode);
    close(fd);
    temporary_ = name.data();
}

OutputFile::~OutputFile() {
    if (!committed_) {
        std::error_code ignored;
        std::filesystem::remove(temporary_, ignored);
    }
}

void OutputFile::commit() {
    std::error_code error;
    std::filesystem::rename(temporary_, destination_, error);
    if (error)
        throw std::runtime_error(destination_.string() + ": cannot replace it with the finished " +
                                 "output " + temporary_.string() + " (" + error.message() + ")");
    committed_ = true;
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code error;
    const bool same = std::filesystem::equivalent(a, b, error);
    return !error && same;
}

}  // namespace legato::cli
