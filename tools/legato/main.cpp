// `legato`: inspect a model, render audio through it, benchmark it (docs/cli.md).

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
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
        legato::cli::add_check_command(app),
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
        // Prefixed like every other message of the command it concerns ("legato run: --block:
        // ..."), which is the first argument naming a subcommand.
        std::string prefix = "legato";
        bool found = false;
        for (int a = 1; a < argc && !found; ++a)
            for (const CLI::App* command : app.get_subcommands([](CLI::App*) { return true; }))
                if (!found && command->get_name() == argv[a]) {
                    prefix += " " + command->get_name();
                    found = true;
                }
        std::fprintf(stderr, "%s: %s\nRun with --help for more information.\n", prefix.c_str(),
                     e.what());
        return legato::cli::exit_usage;
    }
    try {
        const std::vector<CLI::App*> subcommands = app.get_subcommands({});  // in order added
        for (std::size_t i = 0; i < subcommands.size(); ++i)
            if (subcommands[i]->parsed())
                return commands[i]();
    } catch (const legato::Error& e) {
        std::fprintf(stderr, "legato: %s\n", e.what());
        return legato::cli::exit_failure;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "legato: unexpected error: %s\n", e.what());
        return legato::cli::exit_failure;
    }
    return legato::cli::exit_usage;
}
