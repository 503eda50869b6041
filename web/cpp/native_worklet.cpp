// The C ABI of the in-worklet module (dist/legato-native.mjs + .wasm, built by
// scripts/build-wasm.sh): the native engine alone, with no core, no threads and no shared
// memory, so that it runs inside an AudioWorklet on a page that is not cross-origin isolated.
// Everything here runs on the worklet's thread: loading and freeing happen in the worklet's
// message handler or a processor's constructor, legato_native_process() in process().

#include <emscripten/emscripten.h>
#include <malloc.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engines/native/native_model_file.hpp"

namespace {

/// One loaded model and what it says about itself (kept as strings the caller reads). A
/// slimmable NAM model is loaded once per size range, all at load, so that a size change on
/// the audio thread is a switch to a model already built (upstream builds it on a setting
/// thread and swaps it in at the next process() call).
struct NativeModel {
    /// variants[i] runs the sizes in [sizes[i], sizes[i + 1]); one model has one variant.
    std::vector<std::unique_ptr<legato::native::StreamModel>> variants;
    std::vector<double> sizes;  ///< ascending, sizes[0] = 0
    std::size_t active = 0;     ///< the variant process() runs
    /// Each variant's description (legato_native_description is the last one's: the size
    /// slimmableSize's default of 1 selects).
    std::vector<std::string> descriptions;

    legato::native::StreamModel& model() const { return *variants[active]; }
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
/// (the caller's buffer; copied); a slimmable NAM model at every size it has between 0 and 1
/// (the largest selected). Returns a handle, or 0 with the native engine's message in
/// legato_native_last_error(). Allocates: never call it from process().
EMSCRIPTEN_KEEPALIVE NativeModel* legato_native_create(const std::uint8_t* bytes,
                                                       std::size_t size) {
    try {
        auto loaded = std::make_unique<NativeModel>();
        const legato::ModelSource source =
            legato::ModelSource::memory(std::vector<std::uint8_t>(bytes, bytes + size));
        std::unique_ptr<legato::native::StreamModel> model = legato::native::load_model(source);
        loaded->sizes.push_back(0.0);
        for (double point : model->info().size_breakpoints)
            if (point > 0.0 && point <= 1.0)
                loaded->sizes.push_back(point);
        // The model just loaded, at the default size, is the last range's model unless a
        // breakpoint above 1 (a container's max_value) was left out: reuse it then, rather than
        // load and pre-warm it a second time.
        const std::vector<double>& points = model->info().size_breakpoints;
        const bool reuse = points.empty() || points.back() == loaded->sizes.back();
        const std::size_t to_load = loaded->sizes.size() - (reuse ? 1 : 0);
        for (std::size_t i = 0; i < to_load; ++i) {
            legato::native::NamOptions options;
            options.slimmable_size = loaded->sizes[i];
            loaded->variants.push_back(legato::native::load_model(source, options));
        }
        if (reuse)
            loaded->variants.push_back(std::move(model));
        for (const auto& variant : loaded->variants)
            loaded->descriptions.push_back(legato::native::description(*variant).format_details);
        loaded->active = loaded->variants.size() - 1;
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
    model->model().process(in, out, static_cast<std::size_t>(frames));
}

/// [worklet thread, audio] Selects the variant of a slimmable model for `size` (NAM's
/// SetSlimmableSize: below 0 or NaN counts as 0). A different variant starts from its loaded
/// state (reset: a copy), as upstream's freshly built one does. Real-time safe; returns the
/// variant's index.
EMSCRIPTEN_KEEPALIVE int legato_native_set_size(NativeModel* model, double size) {
    if (!(size >= 0.0))
        size = 0.0;
    const auto above = std::upper_bound(model->sizes.begin(), model->sizes.end(), size);
    const auto chosen = static_cast<std::size_t>(above - model->sizes.begin()) - 1;
    if (chosen != model->active) {
        model->variants[chosen]->reset();
        model->active = chosen;
    }
    return static_cast<int>(chosen);
}

/// [worklet thread] How many sizes the model has (1 unless slimmable).
EMSCRIPTEN_KEEPALIVE int legato_native_size_count(const NativeModel* model) {
    return static_cast<int>(model->sizes.size());
}

/// [worklet thread] Where size range `index` starts (0 for the first).
EMSCRIPTEN_KEEPALIVE double legato_native_size_at(const NativeModel* model, int index) {
    return model->sizes[static_cast<std::size_t>(index)];
}

/// [worklet thread] The description of size range `index`'s model (a slimmable NAM model's
/// architecture names its channels there), as legato_native_description.
EMSCRIPTEN_KEEPALIVE const char* legato_native_size_description(const NativeModel* model,
                                                                int index) {
    return model->descriptions[static_cast<std::size_t>(index)].c_str();
}

/// [worklet thread, audio] Back to the state right after loading (NAM: a copy of the state the
/// load-time pre-warm left).
EMSCRIPTEN_KEEPALIVE void legato_native_reset(NativeModel* model) {
    model->model().reset();
}

/// [worklet thread] Values per input frame.
EMSCRIPTEN_KEEPALIVE int legato_native_input_size(const NativeModel* model) {
    return static_cast<int>(model->model().input_size());
}

/// [worklet thread] Values per output frame.
EMSCRIPTEN_KEEPALIVE int legato_native_output_size(const NativeModel* model) {
    return static_cast<int>(model->model().output_size());
}

/// [worklet thread] The format as the engine names it: "rtneural-json" or "nam".
EMSCRIPTEN_KEEPALIVE const char* legato_native_format(const NativeModel* model) {
    return model->model().info().format.c_str();
}

/// [worklet thread] One line for people (format, architecture, rate, receptive field, metadata),
/// of the model at size 1 (a slimmable one's full size).
EMSCRIPTEN_KEEPALIVE const char* legato_native_description(const NativeModel* model) {
    return model->descriptions.back().c_str();
}

/// [worklet thread] The rate the model was trained at, 0 when the file does not say.
EMSCRIPTEN_KEEPALIVE double legato_native_sample_rate(const NativeModel* model) {
    return model->model().info().sample_rate;
}

/// [worklet thread, setup] Frees the model. Null is ignored.
EMSCRIPTEN_KEEPALIVE void legato_native_destroy(NativeModel* model) {
    delete model;
}

/// [worklet thread] Bytes of the heap in use (malloc's count), for leak checks.
EMSCRIPTEN_KEEPALIVE double legato_native_heap_in_use() {
    return static_cast<double>(mallinfo().uordblks);
}

/// [worklet thread] The SIMD kernels compiled in (Highway's WASM target, with relaxed SIMD's
/// fused multiply-add in the relaxed build) or "scalar".
EMSCRIPTEN_KEEPALIVE const char* legato_native_kernels() {
#if LEGATO_NATIVE_SIMD && defined(__wasm_relaxed_simd__)
    return "Highway WASM (SIMD128) + relaxed-SIMD multiply-add";
#elif LEGATO_NATIVE_SIMD
    return "Highway WASM (SIMD128)";
#else
    return "scalar C++ (auto-vectorized, SIMD128)";
#endif
}

}  // extern "C"
