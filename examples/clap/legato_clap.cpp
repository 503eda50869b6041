// "Legato Model Effect" as a CLAP plugin: the shared ModelEffect (examples/effect) behind the
// CLAP C ABI. The model comes from a JSON config: $LEGATO_MODEL_CONFIG, else the path compiled
// in as LEGATO_CLAP_DEFAULT_CONFIG (models/cnn_past.json of the source tree).
//
// Where the host's calls go:
//   init()        [main thread]   reads and validates the config (ModelEffect constructor)
//   activate()    [main thread]   ModelEffect::prepare(): loads the models, warms them up,
//                                 computes the latency, sizes every buffer; reports the latency
//   process()     [audio thread]  parameter events, then ModelEffect::process() between them
//   latency.get() [main thread]   the latency computed by the last activate()
//   render.set()  [main thread]   offline rendering on/off (exact output at any speed)
//
// No C++ exception crosses the C ABI: main-thread entry points catch everything and report it
// on stderr; audio-thread entry points call only noexcept, wait-free functions.

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <clap/entry.h>
#include <clap/events.h>
#include <clap/ext/audio-ports.h>
#include <clap/ext/latency.h>
#include <clap/ext/params.h>
#include <clap/ext/state.h>
#include <clap/host.h>
#include <clap/plugin-factory.h>
#include <clap/plugin.h>
#include <clap/process.h>

#include "clap_render.h"
#include "model_effect.hpp"

#ifndef LEGATO_CLAP_DEFAULT_CONFIG
#error "LEGATO_CLAP_DEFAULT_CONFIG must name the default model config (examples/clap/CMakeLists.txt)"
#endif

namespace {

using legato::examples::ModelEffect;

constexpr const char* plugin_id = "org.legato.model-effect";
constexpr std::uint32_t stereo = 2;
// Channel pointer arrays live on the stack in process(): no host sends more than this to a
// stereo port, and extra channels are left alone.
constexpr std::size_t max_channels = 8;

const char* features[] = {CLAP_PLUGIN_FEATURE_AUDIO_EFFECT, CLAP_PLUGIN_FEATURE_STEREO,
                                nullptr};

const clap_plugin_descriptor_t descriptor = {
    CLAP_VERSION_INIT,
    plugin_id,
    "Legato Model Effect",
    "Legato",
    "",
    "",
    "",
    "0.1.0",
    "Runs a neural network model from a JSON config ($LEGATO_MODEL_CONFIG) in real time",
    features,
};

// Parameter ids: the mix, the engine, then one per model parameter (config order).
constexpr clap_id mix_id = 0;
constexpr clap_id engine_id = 1;
constexpr clap_id first_model_parameter_id = 2;

// [main thread] Messages from the plugin; never called from process().
void log_error(std::string_view what, std::string_view message) {
    std::fprintf(stderr, "legato_effect.clap: %.*s: %.*s\n", static_cast<int>(what.size()),
                 what.data(), static_cast<int>(message.size()), message.data());
}

std::filesystem::path config_path() {
    if (const char* path = std::getenv("LEGATO_MODEL_CONFIG"); path != nullptr && *path != '\0')
        return path;
    return LEGATO_CLAP_DEFAULT_CONFIG;
}

class Plugin {
public:
    // [main thread] Nothing is loaded until init().
    explicit Plugin(const clap_host_t* host) : host_(host) {
        clap_.desc = &descriptor;
        clap_.plugin_data = this;
        clap_.init = [](const clap_plugin_t* p) { return self(p).init(); };
        clap_.destroy = [](const clap_plugin_t* p) { delete &self(p); };
        clap_.activate = [](const clap_plugin_t* p, double rate, std::uint32_t min_frames,
                            std::uint32_t max_frames) {
            return self(p).activate(rate, min_frames, max_frames);
        };
        clap_.deactivate = [](const clap_plugin_t* p) { self(p).active_ = false; };
        clap_.start_processing = [](const clap_plugin_t*) { return true; };
        clap_.stop_processing = [](const clap_plugin_t*) {};
        clap_.reset = [](const clap_plugin_t* p) { self(p).reset(); };
        clap_.process = [](const clap_plugin_t* p, const clap_process_t* process) {
            return self(p).process(*process);
        };
        clap_.get_extension = [](const clap_plugin_t*, const char* id) { return extension(id); };
        clap_.on_main_thread = [](const clap_plugin_t*) {};
    }

    const clap_plugin_t* clap() const noexcept { return &clap_; }

private:
    static Plugin& self(const clap_plugin_t* plugin) {
        return *static_cast<Plugin*>(plugin->plugin_data);
    }

    // [main thread]
    bool init() noexcept {
        try {
            const auto path = config_path();
            effect_ = std::make_unique<ModelEffect>(path);
            const auto& parameters = effect_->config().parameters;
            parameter_count_ = first_model_parameter_id + parameters.size();
            values_ = std::make_unique<std::atomic<double>[]>(parameter_count_);
            values_[mix_id].store(1.0);
            values_[engine_id].store(static_cast<double>(effect_->handler().engine()));
            for (std::size_t i = 0; i < parameters.size(); ++i)
                values_[first_model_parameter_id + i].store(parameters[i].default_value);
            engine_names_ = effect_->config().engine_names();
        } catch (const std::exception& e) {
            log_error("init", e.what());
            return false;
        } catch (...) {
            log_error("init", "unknown error");
            return false;
        }
        if (host_->get_extension != nullptr)
            host_latency_ = static_cast<const clap_host_latency_t*>(
                host_->get_extension(host_, CLAP_EXT_LATENCY));
        return true;
    }

    // [main thread] Loads and warms the models, sizes the buffers: nothing of that is left for
    // process(). A fixed block size (min == max) buys less latency (docs/latency.md).
    bool activate(double sample_rate, std::uint32_t min_frames, std::uint32_t max_frames) noexcept {
        if (effect_ == nullptr) return false;  // init() failed or was not called
        try {
            effect_->prepare(sample_rate, max_frames, min_frames != max_frames, 2);
            // Every activation starts the stream from silence (not concurrent with process()).
            effect_->reset();
        } catch (const std::exception& e) {
            log_error("activate", e.what());
            return false;
        } catch (...) {
            log_error("activate", "unknown error");
            return false;
        }
        // The latency is only computed now; CLAP lets a plugin report it while being activated.
        const std::uint32_t latency = static_cast<std::uint32_t>(effect_->latency());
        if (latency != latency_ && host_latency_ != nullptr && host_latency_->changed != nullptr) {
            latency_ = latency;
            host_latency_->changed(host_);
        }
        latency_ = latency;
        active_ = true;
        return true;
    }

    // [audio thread, wait-free] The model's stream and the dry delay line restart from silence.
    void reset() noexcept {
        if (effect_ != nullptr) effect_->reset();
    }

    // [audio thread, wait-free] Sample-accurate parameter changes: the block is processed in
    // pieces between the events' times.
    clap_process_status process(const clap_process_t& process) noexcept {
        if (!active_ || process.audio_outputs_count == 0) return CLAP_PROCESS_CONTINUE;
        const clap_audio_buffer_t& out = process.audio_outputs[0];
        const clap_audio_buffer_t* in =
            process.audio_inputs_count > 0 ? &process.audio_inputs[0] : nullptr;
        const std::uint32_t frames = process.frames_count;

        std::uint32_t done = 0;
        const clap_input_events_t* events = process.in_events;
        const std::uint32_t event_count = events != nullptr ? events->size(events) : 0;
        for (std::uint32_t i = 0; i < event_count; ++i) {
            const clap_event_header_t* event = events->get(events, i);
            if (event == nullptr || event->space_id != CLAP_CORE_EVENT_SPACE_ID ||
                event->type != CLAP_EVENT_PARAM_VALUE)
                continue;
            const std::uint32_t time = std::min(event->time, frames);
            if (time > done) {
                run(in, out, done, time - done);
                done = time;
            }
            const auto& change = *reinterpret_cast<const clap_event_param_value_t*>(event);
            apply(change.param_id, change.value);
        }
        if (done < frames) run(in, out, done, frames - done);
        return CLAP_PROCESS_CONTINUE;
    }

    // [audio thread, wait-free]
    void run(const clap_audio_buffer_t* in, const clap_audio_buffer_t& out, std::uint32_t offset,
             std::uint32_t frames) noexcept {
        std::array<const float*, max_channels> inputs{};
        std::array<float*, max_channels> outputs{};
        std::size_t input_channels = 0;
        if (in != nullptr && in->data32 != nullptr) {
            input_channels = std::min<std::size_t>(in->channel_count, max_channels);
            for (std::size_t c = 0; c < input_channels; ++c)
                inputs[c] = in->data32[c] != nullptr ? in->data32[c] + offset : nullptr;
        }
        if (out.data32 == nullptr) return;
        const std::size_t output_channels = std::min<std::size_t>(out.channel_count, max_channels);
        for (std::size_t c = 0; c < output_channels; ++c)
            outputs[c] = out.data32[c] != nullptr ? out.data32[c] + offset : nullptr;
        effect_->process(inputs.data(), input_channels, outputs.data(), output_channels, frames);
    }

    // [any thread, wait-free] A parameter's new plain value.
    void apply(clap_id id, double value) noexcept {
        if (id >= parameter_count_) return;
        double low = 0.0;
        double high = 0.0;
        range(id, low, high);
        value = std::clamp(value, low, high);
        if (id == engine_id) value = std::round(value);
        values_[id].store(value, std::memory_order_relaxed);
        if (id == mix_id) {
            effect_->set_mix(static_cast<float>(value));
        } else if (id == engine_id) {
            effect_->set_engine(static_cast<std::size_t>(value));
        } else {
            const auto& parameter = effect_->config().parameters[id - first_model_parameter_id];
            effect_->set_parameter(parameter.name, static_cast<float>(value));
        }
    }

    // [any thread] A parameter's plain range (id < parameter_count_).
    void range(clap_id id, double& low, double& high) const noexcept {
        if (id == mix_id) {
            low = 0.0;
            high = 1.0;
        } else if (id == engine_id) {
            low = 0.0;
            high = static_cast<double>(engine_names_.empty() ? 0 : engine_names_.size() - 1);
        } else {
            const auto& parameter = effect_->config().parameters[id - first_model_parameter_id];
            low = parameter.minimum;
            high = parameter.maximum;
        }
    }

    // ---- extensions ------------------------------------------------------------------------

public:
    // [any thread]
    static const void* extension(const char* id) noexcept;

    // audio-ports [main thread]: one stereo main input, one stereo main output, in place.
    static std::uint32_t audio_port_count(const clap_plugin_t*, bool) noexcept { return 1; }
    static bool audio_port_info(const clap_plugin_t*, std::uint32_t index, bool is_input,
                                clap_audio_port_info_t* info) noexcept {
        if (index != 0 || info == nullptr) return false;
        *info = {};
        info->id = 0;
        std::snprintf(info->name, sizeof(info->name), "%s", is_input ? "Input" : "Output");
        info->flags = CLAP_AUDIO_PORT_IS_MAIN;
        info->channel_count = stereo;
        info->port_type = CLAP_PORT_STEREO;
        info->in_place_pair = 0;
        return true;
    }

    // latency [main thread]: valid after activate().
    static std::uint32_t latency(const clap_plugin_t* p) noexcept { return self(p).latency_; }

    // render [main thread]: offline rendering waits for every inference (exact output however
    // fast the host renders); real time substitutes late ones (the config's late_policy).
    static bool hard_realtime(const clap_plugin_t*) noexcept { return false; }
    static bool set_render_mode(const clap_plugin_t* p, clap_plugin_render_mode mode) noexcept {
        Plugin& plugin = self(p);
        if (plugin.effect_ == nullptr) return false;
        if (mode != CLAP_RENDER_REALTIME && mode != CLAP_RENDER_OFFLINE) return false;
        plugin.effect_->set_offline_rendering(mode == CLAP_RENDER_OFFLINE);
        return true;
    }

    // params: [main thread] except flush (audio thread while active, else main thread).
    static std::uint32_t parameter_count(const clap_plugin_t* p) noexcept {
        return static_cast<std::uint32_t>(self(p).parameter_count_);
    }
    static bool parameter_info(const clap_plugin_t* p, std::uint32_t index,
                               clap_param_info_t* info) noexcept {
        return self(p).parameter_info(index, info);
    }
    static bool parameter_value(const clap_plugin_t* p, clap_id id, double* value) noexcept {
        const Plugin& plugin = self(p);
        if (id >= plugin.parameter_count_ || value == nullptr) return false;
        *value = plugin.values_[id].load(std::memory_order_relaxed);
        return true;
    }
    static bool value_to_text(const clap_plugin_t* p, clap_id id, double value, char* text,
                              std::uint32_t size) noexcept {
        return self(p).value_to_text(id, value, text, size);
    }
    static bool text_to_value(const clap_plugin_t* p, clap_id id, const char* text,
                              double* value) noexcept {
        return self(p).text_to_value(id, text, value);
    }
    static void flush(const clap_plugin_t* p, const clap_input_events_t* in,
                      const clap_output_events_t*) noexcept {
        const std::uint32_t count = in != nullptr ? in->size(in) : 0;
        for (std::uint32_t i = 0; i < count; ++i) {
            const clap_event_header_t* event = in->get(in, i);
            if (event != nullptr && event->space_id == CLAP_CORE_EVENT_SPACE_ID &&
                event->type == CLAP_EVENT_PARAM_VALUE) {
                const auto& change = *reinterpret_cast<const clap_event_param_value_t*>(event);
                self(p).apply(change.param_id, change.value);
            }
        }
    }

    // state [main thread]: "legato-clap 1" then one "<id> <value>" line per parameter. Ids are
    // stable for a given config (mix, engine, then the config's parameters in order).
    static bool save_state(const clap_plugin_t* p, const clap_ostream_t* stream) noexcept {
        return self(p).save(stream);
    }
    static bool load_state(const clap_plugin_t* p, const clap_istream_t* stream) noexcept {
        return self(p).load(stream);
    }

private:
    bool parameter_info(std::uint32_t index, clap_param_info_t* info) const noexcept {
        if (index >= parameter_count_ || info == nullptr) return false;
        *info = {};
        info->id = index;
        info->flags = CLAP_PARAM_IS_AUTOMATABLE;
        range(index, info->min_value, info->max_value);
        if (index == mix_id) {
            std::snprintf(info->name, sizeof(info->name), "Mix");
            info->default_value = 1.0;
        } else if (index == engine_id) {
            std::snprintf(info->name, sizeof(info->name), "Engine");
            info->flags |= CLAP_PARAM_IS_STEPPED;
            info->default_value = 0.0;
        } else {
            const auto& parameter = effect_->config().parameters[index - first_model_parameter_id];
            std::snprintf(info->name, sizeof(info->name), "%s", parameter.label.c_str());
            std::snprintf(info->module, sizeof(info->module), "Model");
            info->default_value = parameter.default_value;
        }
        return true;
    }

    bool value_to_text(clap_id id, double value, char* text, std::uint32_t size) const noexcept {
        if (id >= parameter_count_ || text == nullptr || size == 0) return false;
        if (id == mix_id) {
            std::snprintf(text, size, "%.0f %%", 100.0 * value);
        } else if (id == engine_id) {
            const auto index = static_cast<std::size_t>(std::max(0.0, std::round(value)));
            if (index >= engine_names_.size()) return false;
            std::snprintf(text, size, "%s", engine_names_[index].c_str());
        } else {
            std::snprintf(text, size, "%.3f", value);
        }
        return true;
    }

    bool text_to_value(clap_id id, const char* text, double* value) const noexcept {
        if (id >= parameter_count_ || text == nullptr || value == nullptr) return false;
        if (id == engine_id) {
            for (std::size_t i = 0; i < engine_names_.size(); ++i) {
                if (engine_names_[i] == text) {
                    *value = static_cast<double>(i);
                    return true;
                }
            }
        }
        char* end = nullptr;
        const double number = std::strtod(text, &end);
        if (end == text) return false;
        *value = id == mix_id ? number / 100.0 : number;  // the mix is shown in percent
        return true;
    }

    bool save(const clap_ostream_t* stream) const noexcept {
        try {
            std::string text = "legato-clap 1\n";
            for (clap_id id = 0; id < parameter_count_; ++id) {
                char line[64];
                std::snprintf(line, sizeof(line), "%u %.17g\n", id, values_[id].load());
                text += line;
            }
            std::size_t written = 0;
            while (written < text.size()) {
                const std::int64_t n =
                    stream->write(stream, text.data() + written, text.size() - written);
                if (n <= 0) return false;
                written += static_cast<std::size_t>(n);
            }
            return true;
        } catch (const std::exception& e) {
            log_error("state save", e.what());
            return false;
        }
    }

    bool load(const clap_istream_t* stream) noexcept {
        try {
            std::string text;
            char chunk[256];
            for (;;) {
                const std::int64_t n = stream->read(stream, chunk, sizeof(chunk));
                if (n < 0) return false;
                if (n == 0) break;
                text.append(chunk, static_cast<std::size_t>(n));
            }
            constexpr std::string_view magic = "legato-clap 1\n";
            if (text.compare(0, magic.size(), magic) != 0) {
                log_error("state load", "not a Legato CLAP state (expected \"legato-clap 1\")");
                return false;
            }
            const char* cursor = text.c_str() + magic.size();
            for (;;) {
                char* end = nullptr;
                const unsigned long id = std::strtoul(cursor, &end, 10);
                if (end == cursor) break;
                cursor = end;
                const double value = std::strtod(cursor, &end);
                if (end == cursor) return false;
                cursor = end;
                apply(static_cast<clap_id>(id), value);  // unknown ids are ignored
            }
            return true;
        } catch (const std::exception& e) {
            log_error("state load", e.what());
            return false;
        }
    }

    clap_plugin_t clap_{};
    const clap_host_t* host_;
    const clap_host_latency_t* host_latency_ = nullptr;
    std::unique_ptr<ModelEffect> effect_;
    std::size_t parameter_count_ = 0;
    std::unique_ptr<std::atomic<double>[]> values_;  // plain values by parameter id
    std::vector<std::string> engine_names_;
    std::uint32_t latency_ = 0;  // as last reported to the host
    bool active_ = false;        // set and cleared on the main thread while not processing
};

const clap_plugin_audio_ports_t audio_ports_extension = {Plugin::audio_port_count,
                                                         Plugin::audio_port_info};
const clap_plugin_latency_t latency_extension = {Plugin::latency};
const clap_plugin_render_t render_extension = {Plugin::hard_realtime, Plugin::set_render_mode};
const clap_plugin_params_t params_extension = {
    Plugin::parameter_count, Plugin::parameter_info, Plugin::parameter_value,
    Plugin::value_to_text,   Plugin::text_to_value,  Plugin::flush};
const clap_plugin_state_t state_extension = {Plugin::save_state, Plugin::load_state};

const void* Plugin::extension(const char* id) noexcept {
    if (id == nullptr) return nullptr;
    if (std::strcmp(id, CLAP_EXT_AUDIO_PORTS) == 0) return &audio_ports_extension;
    if (std::strcmp(id, CLAP_EXT_LATENCY) == 0) return &latency_extension;
    if (std::strcmp(id, CLAP_EXT_PARAMS) == 0) return &params_extension;
    if (std::strcmp(id, CLAP_EXT_STATE) == 0) return &state_extension;
    if (std::strcmp(id, CLAP_EXT_RENDER) == 0) return &render_extension;
    return nullptr;
}

// ---- factory and entry ---------------------------------------------------------------------

const clap_plugin_factory_t factory = {
    [](const clap_plugin_factory_t*) -> std::uint32_t { return 1; },
    [](const clap_plugin_factory_t*, std::uint32_t index) {
        return index == 0 ? &descriptor : nullptr;
    },
    [](const clap_plugin_factory_t*, const clap_host_t* host,
       const char* id) -> const clap_plugin_t* {
        if (host == nullptr || id == nullptr || std::strcmp(id, plugin_id) != 0 ||
            !clap_version_is_compatible(host->clap_version))
            return nullptr;
        auto* plugin = new (std::nothrow) Plugin(host);
        return plugin != nullptr ? plugin->clap() : nullptr;
    },
};

}  // namespace

extern "C" CLAP_EXPORT const clap_plugin_entry_t clap_entry = {
    CLAP_VERSION_INIT,
    [](const char*) { return true; },
    []() {},
    [](const char* id) -> const void* {
        return id != nullptr && std::strcmp(id, CLAP_PLUGIN_FACTORY_ID) == 0 ? &factory : nullptr;
    },
};
