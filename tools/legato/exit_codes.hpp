#pragma once
// The `legato` tool's exit codes (documented in docs/cli.md).

namespace legato::cli {

enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,   ///< ran, but something failed while processing (e.g. failed inferences)
    exit_usage = 2,     ///< bad command line: unknown option, malformed value
    exit_input = 3,     ///< a file is missing or invalid: config, model, audio
    exit_engine = 4,    ///< an engine could not load or prepare the model
    exit_mismatch = 5,  ///< the audio does not fit the config (sample rate, channels)
};

}  // namespace legato::cli
