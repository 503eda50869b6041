// libFuzzer target: the native engine's importers (RTNeural JSON and NAM .nam, told apart by
// content as native::load_model does). A broken file must end in legato::Error naming the
// problem; a file that loads must stream and reset without a crash or sanitizer report. A
// slimmable NAM model is also slimmed to its smallest size and to each size where it changes
// (the first few), each of which must load or be refused the same way.

#include <cstdint>
#include <vector>

#include "engines/native/native_model_file.hpp"
#include "fuzz_stream_model.hpp"
#include "legato/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const legato::ModelSource source =
        legato::ModelSource::memory(std::vector<std::uint8_t>(data, data + size));
    std::vector<double> sizes;
    try {
        auto model = legato::native::load_model(source);
        legato::fuzz::exercise(*model);
        sizes = model->info().size_breakpoints;
    } catch (const legato::Error&) {
        // The expected outcome for a broken model: a clear error.
        return 0;
    }
    if (sizes.empty())
        return 0;
    sizes.insert(sizes.begin(), 0.0);
    for (std::size_t i = 0; i < sizes.size() && i < 4; ++i) {
        try {
            legato::native::NamOptions options;
            options.slimmable_size = sizes[i];
            auto slim = legato::native::load_model(source, options);
            legato::fuzz::exercise(*slim);
        } catch (const legato::Error&) {
            // A size outside [0, 1] (a container's max_value) or an array that cannot be slimmed.
        }
    }
    return 0;
}
