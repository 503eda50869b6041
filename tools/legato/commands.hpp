#pragma once
// The `legato` tool's subcommands. Each adds itself to the app and returns what main() runs
// when it is chosen; that function returns the process exit code (exit_codes.hpp).

#include <functional>

#include <CLI/CLI.hpp>

namespace legato::cli {

std::function<int()> add_info_command(CLI::App& app);
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_bench_command(CLI::App& app);
std::function<int()> add_check_command(CLI::App& app);

}  // namespace legato::cli
