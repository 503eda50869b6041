#pragma once
// Counts the system calls one thread makes, to show that the audio thread makes none in steady
// state. Linux only: a perf event on the kernel's raw_syscalls:sys_enter tracepoint, attached
// to the calling thread (needs root or CAP_PERFMON, and tracefs; as root it mounts tracefs at
// /sys/kernel/tracing when nothing is mounted there). Where that is not possible, available()
// is false and reason() says why, so callers can skip, saying so.

#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace legato::tools {

class ThreadSyscallCounter {
public:
    /// [the thread to count] Opens the counter for the calling thread.
    ThreadSyscallCounter() {
        const long id = tracepoint_id();
        if (id < 0)
            return;
        perf_event_attr attr{};
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_TRACEPOINT;
        attr.config = static_cast<std::uint64_t>(id);
        attr.sample_period = 0;
        fd_ =
            static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
        if (fd_ < 0)
            reason_ = std::string("perf_event_open(raw_syscalls:sys_enter) failed: ") +
                      std::strerror(errno);
    }
    ~ThreadSyscallCounter() {
        if (fd_ >= 0)
            close(fd_);
    }
    ThreadSyscallCounter(const ThreadSyscallCounter&) = delete;
    ThreadSyscallCounter& operator=(const ThreadSyscallCounter&) = delete;

    bool available() const noexcept { return fd_ >= 0; }
    const std::string& reason() const noexcept { return reason_; }

    /// [the counted thread] System calls the thread has entered so far. The read is itself a
    /// system call and counts: between two reads, calls made in between = difference - 1.
    std::uint64_t read() const noexcept {
        std::uint64_t count = 0;
        if (fd_ < 0 || ::read(fd_, &count, sizeof count) != static_cast<ssize_t>(sizeof count))
            return 0;
        return count;
    }

private:
    long tracepoint_id() {
        static const char* const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
        for (int attempt = 0; attempt < 2; ++attempt) {
            for (const char* root : roots) {
                std::ifstream file(std::string(root) + "/events/raw_syscalls/sys_enter/id");
                long id = -1;
                if (file >> id)
                    return id;
            }
            // Not mounted: mount tracefs once, where permitted.
            if (attempt == 0 && mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) != 0)
                break;
        }
        reason_ =
            "the raw_syscalls:sys_enter tracepoint is not readable (tracefs not mounted "
            "and cannot be mounted without root)";
        return -1;
    }

    int fd_ = -1;
    std::string reason_;
};

}  // namespace legato::tools
