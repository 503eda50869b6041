// `legato check MODEL|CONFIG`: does this model stream correctly with this config? Runs it
// through the real-time path at several block sizes and against a one-shot reference, and says
// in plain words what is wrong and which config makes it right (stream_check.hpp, docs/cli.md).

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "legato/config_file.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "tools/legato/commands.hpp"
#include "tools/legato/config_argument.hpp"
#include "tools/legato/exit_codes.hpp"
#include "tools/legato/starter_config.hpp"
#include "tools/legato/stream_check.hpp"

namespace legato::cli {
namespace {

struct CheckOptions {
    std::string target;  // a config (.json) or a model file
    std::string entry_point;
    std::size_t signal_length = 12000;
};

// A model file for an engine other than the native one, checked with its starter config; every
// other file is a config or a native model file, told apart by content (config_argument.hpp).
bool is_starter_model(const std::filesystem::path& file) {
    const std::string engine = engine_for_model_file(file);
    return !engine.empty() && engine != "native";
}

void print_report(const std::string& what, const StreamReport& report,
                  const std::filesystem::path& base) {
    std::printf("legato check: %s\n\n", what.c_str());
    if (report.findings.empty()) {
        std::printf("Streams correctly with this config.\n");
    } else {
        std::printf("Does NOT stream correctly with this config: %zu problem%s.\n",
                    report.findings.size(), report.findings.size() == 1 ? "" : "s");
        for (std::size_t k = 0; k < report.findings.size(); ++k) {
            std::printf("\n  %zu. %s\n", k + 1, report.findings[k].problem.c_str());
            if (!report.findings[k].fix.empty())
                std::printf("     fix: %s\n", report.findings[k].fix.c_str());
            else
                std::printf("     (no config change fixes this)\n");
        }
    }
    std::printf("\nChecked:\n");
    for (const auto& note : report.notes)
        std::printf("  - %s\n", note.c_str());
    bool fixable = false;
    for (const auto& finding : report.findings)
        fixable = fixable || !finding.fix.empty();
    if (fixable) {
        std::printf("\nThe config with these fixes:\n");
        try {
            std::printf("%s\n", to_json(report.fixed, base).c_str());
        } catch (const Error& e) {
            std::printf("  (cannot be written: %s)\n", e.what());
        }
    }
}

int run_check(const CheckOptions& options) {
    const std::filesystem::path target = options.target;
    ModelConfig config;
    std::string what = options.target;
    try {
        if (!is_starter_model(target)) {
            bool derived = false;
            config = load_config_argument("check", target, true, &derived);
            if (derived)
                what += " (with the config derived from it)";
        } else {
            const StarterConfig starter = make_starter_config(target, options.entry_point, false);
            try {
                config = parse_model_config(starter.json, target.parent_path(), false,
                                            target.filename().string());
            } catch (const Error& e) {
                throw Error(std::string(e.what()) +
                            ": the starter config is incomplete (the file does not say enough, "
                            "e.g. TorchScript keeps no shapes); complete the config that `legato "
                            "info " +
                            target.filename().string() + "` prints and check that");
            }
            what += " (with the starter config its shapes suggest)";
        }
    } catch (const ModelFileRefused& e) {
        std::fprintf(stderr, "legato check: %s\n", e.what());
        return exit_engine;
    } catch (const Error& e) {
        std::fprintf(stderr, "legato check: %s\n", e.what());
        return exit_input;
    }
    what += " on " + config.engine_names().front();
    StreamCheckOptions check;
    check.signal_length = options.signal_length;
    StreamReport report;
    try {
        report = check_stream(config, check);
    } catch (const Error& e) {
        std::fprintf(stderr, "legato check: %s: %s\n", options.target.c_str(), e.what());
        return exit_engine;
    }
    if (!report.fatal.empty()) {
        std::fprintf(stderr, "legato check: %s: %s\n", options.target.c_str(),
                     report.fatal.c_str());
        return report.fatal_is_config ? exit_input : exit_engine;
    }
    print_report(what, report, target.parent_path());
    return report.findings.empty() ? exit_ok : exit_failure;
}

}  // namespace

std::function<int()> add_check_command(CLI::App& app) {
    auto options = std::make_shared<CheckOptions>();
    CLI::App* check = app.add_subcommand(
        "check", "Check that a model streams correctly: block sizes, hidden state, past context");
    check
        ->add_option("target", options->target,
                     "A config (.json), a native model file (.nam, RTNeural JSON: checked with "
                     "the config derived from it), or another model file (checked with `legato "
                     "info`'s starter config)")
        ->required();
    check->add_option("--entry-point", options->entry_point,
                      "TorchScript method, for a model file (default: forward)");
    check->add_option("--samples", options->signal_length, "Length of the test signal")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20));
    return [options] { return run_check(*options); };
}

}  // namespace legato::cli
