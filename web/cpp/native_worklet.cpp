// The C ABI of the in-worklet module (dist/legato-native.mjs + .wasm, built by
// scripts/build-wasm.sh): the native engine alone, with no core, no threads and no shared
// memory, so that it runs inside an AudioWorklet on a page that is not cross-origin isolated.
// Everything here runs on the worklet's thread: loading and freeing happen in the worklet's
// message handler or a processor's constructor, legato_native_process() in process().

#include <emscripten/emscripten.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engines/native/native_model_file.hpp"

namespace {

/// One loaded model and what it says about itself (kept as strings the caller reads).
struct NativeModel {
    std::unique_ptr<legato::native::StreamModel> model;
    std::string description;
};

// The last loading error; one thread (the worklet's) calls everything, so a global is enough.
std::string last_error;

}  // namespace

extern "C" {

/// [worklet thread, setup] The last error of legato_native_create(), as UTF-8.
EMSCRIPTEN_KEEPALIVE const char* legato_native_last_error() {
    return last_error.c_str();
}

/// [worklet thread, setup] Loads an RTNeural JSON or NAM model from `size` bytes at `bytes`
/// (the caller's buffer; copied). Returns a handle, or 0 with the native engine's message in
/// legato_native_last_error(). Allocates: never call it from process().
EMSCRIPTEN_KEEPALIVE NativeModel* legato_native_create(const std::uint8_t* bytes,
                                                       std::size_t size) {
    try {
        auto loaded = std::make_unique<NativeModel>();
        loaded->model = legato::native::load_model(
            legato::ModelSource::memory(std::vector<std::uint8_t>(bytes, bytes + size)));
        loaded->description = legato::native::description(*loaded->model).format_details;
        return loaded.release();
    } catch (const std::bad_alloc&) {
        last_error = "out of memory: the in-worklet module's heap cannot hold this model";
    } catch (const std::exception& e) {
        last_error = e.what();
    }
    return nullptr;
}

/// [worklet thread, audio] Runs `frames` frames (frames x input_size values at `in`, frames x
/// output_size values to `out`). Real-time safe: no allocation, lock or exception.
EMSCRIPTEN_KEEPALIVE void legato_native_process(NativeModel* model, const float* in, float* out,
                                                int frames) {
    model->model->process(in, out, static_cast<std::size_t>(frames));
}

/// [worklet thread, audio] Back to the state right after loading (NAM: runs the pre-warm again,
/// which costs the pre-warm's samples of processing).
EMSCRIPTEN_KEEPALIVE void legato_native_reset(NativeModel* model) {
    model->model->reset();
}

/// [worklet thread] Values per input frame.
EMSCRIPTEN_KEEPALIVE int legato_native_input_size(const NativeModel* model) {
    return static_cast<int>(model->model->input_size());
}

/// [worklet thread] Values per output frame.
EMSCRIPTEN_KEEPALIVE int legato_native_output_size(const NativeModel* model) {
    return static_cast<int>(model->model->output_size());
}

/// [worklet thread] The format as the engine names it: "rtneural-json" or "nam".
EMSCRIPTEN_KEEPALIVE const char* legato_native_format(const NativeModel* model) {
    return model->model->info().format.c_str();
}

/// [worklet thread] One line for people (format, architecture, rate, receptive field, metadata).
EMSCRIPTEN_KEEPALIVE const char* legato_native_description(const NativeModel* model) {
    return model->description.c_str();
}

/// [worklet thread] The rate the model was trained at, 0 when the file does not say.
EMSCRIPTEN_KEEPALIVE double legato_native_sample_rate(const NativeModel* model) {
    return model->model->info().sample_rate;
}

/// [worklet thread, setup] Frees the model. Null is ignored.
EMSCRIPTEN_KEEPALIVE void legato_native_destroy(NativeModel* model) {
    delete model;
}

/// [worklet thread] Bytes of the heap in use (malloc's count), for leak checks.
EMSCRIPTEN_KEEPALIVE double legato_native_heap_in_use() {
    return static_cast<double>(mallinfo().uordblks);
}

/// [worklet thread] The SIMD kernels compiled in ("WASM_SIMD128" via Highway) or "scalar".
EMSCRIPTEN_KEEPALIVE const char* legato_native_kernels() {
#if LEGATO_NATIVE_SIMD
    return "Highway WASM (SIMD128)";
#else
    return "scalar C++ (auto-vectorized, SIMD128)";
#endif
}

}  // extern "C"
