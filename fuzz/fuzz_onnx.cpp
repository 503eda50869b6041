// libFuzzer target: the native engine's ONNX importer (native::load_onnx, fed directly so that
// every mutation reaches the protobuf reader and the graph mapping). A broken model must end in
// legato::Error naming the problem; a model that loads must stream and reset without a crash
// or sanitizer report.

#include <cstdint>
#include <string_view>
#include <vector>

#include "engines/native/onnx_import.hpp"
#include "fuzz_stream_model.hpp"
#include "legato/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        auto model = legato::native::load_onnx(
            std::string_view(reinterpret_cast<const char*>(data), size), "<fuzz input>");
        legato::fuzz::exercise(*model);
    } catch (const legato::Error&) {
        // The expected outcome for a broken model: a clear error.
    }
    return 0;
}
