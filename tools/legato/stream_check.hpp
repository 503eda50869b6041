#pragma once
// Does a model stream correctly with this config? (`legato check`, and `legato info`'s starter
// config.) Everything is measured by running the model through the real InferenceHandler,
// offline, on a deterministic test signal:
// - the config prepares (a window shorter than the model needs is found here, with the value);
// - the output is the same at every host block size (1, a prime, the hop, more than the hop);
// - hidden state: a stateless config run with the model's state kept between inferences gives
//   another output (TorchScript attributes forward() assigns, TFLite variable tensors);
// - a one-shot reference (the whole signal as one window) where the model takes any length:
//   the streamed output must equal it; if it does not, the past context the model needs is
//   probed (the receptive field), or the model is found to carry state through its whole input
//   (a recurrent layer whose initial state is a constant or absent resets every inference).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "legato/config_file.hpp"

namespace legato::cli {

/// One thing found wrong, in plain words, with how the fixed config differs.
struct Finding {
    std::string problem;  ///< what is wrong and how it shows
    std::string fix;      ///< what the suggested config changes ("" if the config cannot fix it)
};

/// What check_stream() found.
struct StreamReport {
    bool prepared = false;           ///< the config (possibly after fixes) could be prepared
    std::string fatal;               ///< why nothing could be checked ("" if something was)
    bool fatal_is_config = false;    ///< fatal is a config problem (exit 3), else engine (4)
    std::vector<Finding> findings;   ///< empty: the model streams correctly with the config
    std::vector<std::string> notes;  ///< what was checked, what could not be, and how
    ModelConfig fixed;               ///< the config with every fix applied
    std::optional<std::size_t> receptive_field_past;  ///< past context found needed, if probed
    bool hidden_state = false;
};

/// How hard to look.
struct StreamCheckOptions {
    std::size_t signal_length = 12000;  ///< test signal samples (the probe runs it many times)
    std::size_t max_probe_past = 8192;  ///< the longest past context the probe tries
    double tolerance = 1e-5;            ///< max |difference| / max(1, peak) counted as equal
};

/// [setup thread] Runs the checks on `config` (already loaded and validated; its engines are
/// used in order, the first that prepares is checked). Never throws for a model or config
/// problem: those are reported.
StreamReport check_stream(const ModelConfig& config, const StreamCheckOptions& options = {});

}  // namespace legato::cli
