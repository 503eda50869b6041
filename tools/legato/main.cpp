// `legato`: inspect a model, render audio through it, benchmark it (docs/cli.md).

#include <cstdio>
#include <exception>
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "legato/error.hpp"
#include "tools/legato/commands.hpp"
#include "tools/legato/exit_codes.hpp"

int main(int argc, char** argv) {
    CLI::App app{"legato: run neural audio models in real time"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "legato 0.1.0");
    const std::function<int()> commands[] = {
        legato::cli::add_info_command(app),
        legato::cli::add_run_command(app),
        legato::cli::add_bench_command(app),
    };
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return legato::cli::exit_usage;
    }
    try {
        const std::vector<CLI::App*> subcommands = app.get_subcommands({});  // in order added
        for (std::size_t i = 0; i < subcommands.size(); ++i)
            if (subcommands[i]->parsed()) return commands[i]();
    } catch (const legato::Error& e) {
        std::fprintf(stderr, "legato: %s\n", e.what());
        return legato::cli::exit_failure;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "legato: unexpected error: %s\n", e.what());
        return legato::cli::exit_failure;
    }
    return legato::cli::exit_usage;
}
