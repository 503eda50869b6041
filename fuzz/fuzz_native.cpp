// libFuzzer target: the native engine's importers (RTNeural JSON and NAM .nam, told apart by
// content as native::load_model does). A broken file must end in legato::Error naming the
// problem; a file that loads must stream and reset without a crash or sanitizer report.

#include <cstdint>
#include <vector>

#include "engines/native/native_model_file.hpp"
#include "fuzz_stream_model.hpp"
#include "legato/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        auto model = legato::native::load_model(
            legato::ModelSource::memory(std::vector<std::uint8_t>(data, data + size)));
        legato::fuzz::exercise(*model);
    } catch (const legato::Error&) {
        // The expected outcome for a broken model: a clear error.
    }
    return 0;
}
