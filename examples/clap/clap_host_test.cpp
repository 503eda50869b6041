// A minimal CLAP host that loads legato_effect.clap the way a DAW does (dlopen, clap_entry,
// plugin factory) and checks it: descriptor, audio ports, parameters, the latency it reports
// (against an InferenceHandler built from the same config), and the audio it renders offline
// against the model references in models/ (README there): with mix 1 the reference delayed by
// the latency (every engine), with mix 0 the input delayed by exactly the latency (bit-exact),
// with mix 0.5 the average, and a model parameter (gain.json's "gain") mapped to the model.
//
//   legato_clap_host_test PLUGIN.clap MODELS_DIR WORK_DIR
//
// Exits non-zero with a message at the first mismatch.

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
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

#include <legato/config_file.hpp>
#include <legato/context.hpp>
#include <legato/host_config.hpp>
#include <legato/inference_handler.hpp>

#include "clap_render.h"
#include "npy.hpp"

namespace {

constexpr double sample_rate = 48000.0;
constexpr std::uint32_t block = 256;
constexpr float tolerance = 1e-5F;

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void expect(bool condition, const std::string& message) {
    if (!condition) throw Failure(message);
}

// ---- the host side ---------------------------------------------------------------------------

struct Host {
    clap_host_t clap{};
    int latency_changes = 0;
};

int& latency_changes(const clap_host_t* host) {
    return static_cast<Host*>(host->host_data)->latency_changes;
}

const clap_host_latency_t host_latency = {
    [](const clap_host_t* host) { ++latency_changes(host); },
};
const clap_host_params_t host_params = {
    [](const clap_host_t*, clap_param_rescan_flags) {},
    [](const clap_host_t*, clap_id, clap_param_clear_flags) {},
    [](const clap_host_t*) {},
};

void init_host(Host& host) {
    host.clap.clap_version = CLAP_VERSION;
    host.clap.host_data = &host;
    host.clap.name = "legato_clap_host_test";
    host.clap.vendor = "Legato";
    host.clap.url = "";
    host.clap.version = "0.1.0";
    host.clap.get_extension = [](const clap_host_t*, const char* id) -> const void* {
        if (std::strcmp(id, CLAP_EXT_LATENCY) == 0) return &host_latency;
        if (std::strcmp(id, CLAP_EXT_PARAMS) == 0) return &host_params;
        return nullptr;
    };
    host.clap.request_restart = [](const clap_host_t*) {};
    host.clap.request_process = [](const clap_host_t*) {};
    host.clap.request_callback = [](const clap_host_t*) {};
}

// Parameter changes for one block, all at sample 0.
struct EventList {
    std::vector<clap_event_param_value_t> events;
    clap_input_events_t clap{};

    EventList() {
        clap.ctx = this;
        clap.size = [](const clap_input_events_t* list) {
            return static_cast<std::uint32_t>(static_cast<EventList*>(list->ctx)->events.size());
        };
        clap.get = [](const clap_input_events_t* list,
                      std::uint32_t index) -> const clap_event_header_t* {
            auto& list_events = static_cast<EventList*>(list->ctx)->events;
            return index < list_events.size() ? &list_events[index].header : nullptr;
        };
    }
    void add(clap_id id, double value) {
        clap_event_param_value_t event{};
        event.header.size = sizeof(event);
        event.header.time = 0;
        event.header.space_id = CLAP_CORE_EVENT_SPACE_ID;
        event.header.type = CLAP_EVENT_PARAM_VALUE;
        event.param_id = id;
        event.note_id = -1;
        event.port_index = -1;
        event.channel = -1;
        event.key = -1;
        event.value = value;
        events.push_back(event);
    }
};

const clap_output_events_t no_output_events = {
    nullptr, [](const clap_output_events_t*, const clap_event_header_t*) { return true; }};

// ---- the plugin, through its C ABI --------------------------------------------------------

class Library {
public:
    explicit Library(const std::filesystem::path& file) {
        // dlopen() searches the library path for a name without a slash; hosts pass full paths.
        const auto path = std::filesystem::absolute(file);
        handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle_ == nullptr) throw Failure(std::string("dlopen failed: ") + dlerror());
        entry_ = static_cast<const clap_plugin_entry_t*>(dlsym(handle_, "clap_entry"));
        expect(entry_ != nullptr, "the plugin exports no clap_entry");
        expect(clap_version_is_compatible(entry_->clap_version), "clap_entry: incompatible version");
        expect(entry_->init(path.c_str()), "clap_entry.init() returned false");
    }
    ~Library() {
        if (entry_ != nullptr) entry_->deinit();
        if (handle_ != nullptr) dlclose(handle_);
    }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;

    const clap_plugin_factory_t& factory() const {
        const auto* factory = static_cast<const clap_plugin_factory_t*>(
            entry_->get_factory(CLAP_PLUGIN_FACTORY_ID));
        expect(factory != nullptr, "no plugin factory");
        return *factory;
    }

private:
    void* handle_ = nullptr;
    const clap_plugin_entry_t* entry_ = nullptr;
};

// A created plugin, destroyed on scope exit.
struct Instance {
    const clap_plugin_t* plugin = nullptr;
    Instance(const clap_plugin_factory_t& factory, const Host& host, const char* id)
        : plugin(factory.create_plugin(&factory, &host.clap, id)) {
        expect(plugin != nullptr, "create_plugin returned null");
    }
    ~Instance() { plugin->destroy(plugin); }
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    template <typename Extension>
    const Extension& extension(const char* id) const {
        const auto* ext = static_cast<const Extension*>(plugin->get_extension(plugin, id));
        expect(ext != nullptr, std::string("the plugin lacks the extension ") + id);
        return *ext;
    }
};

clap_param_info_t find_param(const Instance& instance, const char* name) {
    const auto& params = instance.extension<clap_plugin_params_t>(CLAP_EXT_PARAMS);
    for (std::uint32_t i = 0; i < params.count(instance.plugin); ++i) {
        clap_param_info_t info{};
        expect(params.get_info(instance.plugin, i, &info), "params.get_info failed");
        if (std::strcmp(info.name, name) == 0) return info;
    }
    throw Failure(std::string("no parameter named \"") + name + "\"");
}

// Renders `input` (two channels) offline in blocks of 256 after one activation; the parameter
// changes go with the first block. Returns the two output channels.
std::vector<std::vector<float>> render(const Instance& instance, std::uint32_t expected_latency,
                                       const std::vector<std::vector<float>>& input,
                                       const std::vector<std::pair<clap_id, double>>& changes) {
    const clap_plugin_t* plugin = instance.plugin;
    expect(plugin->activate(plugin, sample_rate, block, block), "activate() returned false");
    const auto& latency = instance.extension<clap_plugin_latency_t>(CLAP_EXT_LATENCY);
    const std::uint32_t reported = latency.get(plugin);
    expect(reported == expected_latency,
           "latency.get() = " + std::to_string(reported) + ", an InferenceHandler with the same " +
               "config reports " + std::to_string(expected_latency));
    const auto& render_ext = instance.extension<clap_plugin_render_t>(CLAP_EXT_RENDER);
    expect(render_ext.set(plugin, CLAP_RENDER_OFFLINE), "render.set(offline) returned false");
    expect(plugin->start_processing(plugin), "start_processing() returned false");

    const std::size_t length = input[0].size();
    std::vector<std::vector<float>> output(2, std::vector<float>(length, -7.0F));
    std::vector<float> in_l(block), in_r(block), out_l(block), out_r(block);
    float* in_channels[] = {in_l.data(), in_r.data()};
    float* out_channels[] = {out_l.data(), out_r.data()};
    clap_audio_buffer_t in_buffer{in_channels, nullptr, 2, 0, 0};
    clap_audio_buffer_t out_buffer{out_channels, nullptr, 2, 0, 0};
    for (std::size_t start = 0; start < length; start += block) {
        const std::size_t n = std::min<std::size_t>(block, length - start);
        std::copy_n(input[0].begin() + static_cast<std::ptrdiff_t>(start), n, in_l.begin());
        std::copy_n(input[1].begin() + static_cast<std::ptrdiff_t>(start), n, in_r.begin());
        EventList events;
        if (start == 0)
            for (const auto& [id, value] : changes) events.add(id, value);
        clap_process_t process{};
        process.steady_time = static_cast<std::int64_t>(start);
        process.frames_count = static_cast<std::uint32_t>(n);
        process.audio_inputs = &in_buffer;
        process.audio_outputs = &out_buffer;
        process.audio_inputs_count = 1;
        process.audio_outputs_count = 1;
        process.in_events = &events.clap;
        process.out_events = &no_output_events;
        expect(plugin->process(plugin, &process) == CLAP_PROCESS_CONTINUE,
               "process() did not return CLAP_PROCESS_CONTINUE");
        std::copy_n(out_l.begin(), n, output[0].begin() + static_cast<std::ptrdiff_t>(start));
        std::copy_n(out_r.begin(), n, output[1].begin() + static_cast<std::ptrdiff_t>(start));
    }
    plugin->stop_processing(plugin);
    plugin->deactivate(plugin);
    return output;
}

// Compares a rendered channel with `expected(n)` (the value at output sample n), from sample
// `from` on.
template <typename Expected>
void compare(const std::string& what, const std::vector<float>& output, Expected expected,
             float max_error, std::size_t from = 0) {
    float worst = 0.0F;
    std::size_t worst_at = from;
    for (std::size_t n = from; n < output.size(); ++n) {
        const float error = std::fabs(output[n] - expected(n));
        if (!(error <= worst) || std::isnan(error)) {
            worst = std::isnan(error) ? INFINITY : error;
            worst_at = n;
        }
    }
    expect(worst <= max_error, what + ": max abs error " + std::to_string(worst) + " at sample " +
                                   std::to_string(worst_at) + " (output " +
                                   std::to_string(output[worst_at]) + ", expected " +
                                   std::to_string(expected(worst_at)) + "), allowed " +
                                   std::to_string(max_error));
    std::printf("  %s: max abs error %.3g\n", what.c_str(), static_cast<double>(worst));
}

// A copy of a model config with a fixed maximum inference time: the latency then depends only
// on the config and the host, so the plugin's and a separate handler's must agree exactly
// (a measured time differs from run to run).
std::filesystem::path fixed_time_config(const std::filesystem::path& source,
                                        const std::filesystem::path& work_dir) {
    auto config = legato::load_model_config(source, /*skip_unavailable_engines=*/true);
    config.inference.max_inference_time_ms = 2.0;
    std::filesystem::create_directories(work_dir);
    const auto path = work_dir / source.filename();
    std::ofstream(path) << legato::to_json(config, work_dir);
    return path;
}

std::uint32_t handler_latency(const std::filesystem::path& config_file) {
    const auto config = legato::load_model_config(config_file, true);
    legato::InferenceHandler handler(config.inference, legato::Context::shared(config.context));
    legato::HostConfig host;
    host.sample_rate = sample_rate;
    host.max_block_size = block;
    host.variable_block_size = false;  // the plugin is activated with min == max frames
    handler.prepare(host);
    return static_cast<std::uint32_t>(handler.latency());
}

void run(const std::filesystem::path& plugin_path, const std::filesystem::path& models,
         const std::filesystem::path& work_dir) {
    Library library(plugin_path);
    const auto& factory = library.factory();
    expect(factory.get_plugin_count(&factory) == 1, "the factory should offer exactly 1 plugin");
    const clap_plugin_descriptor_t* desc = factory.get_plugin_descriptor(&factory, 0);
    expect(desc != nullptr, "no descriptor for plugin 0");
    expect(std::strcmp(desc->id, "org.legato.model-effect") == 0,
           std::string("descriptor id is ") + desc->id);
    expect(std::strcmp(desc->name, "Legato Model Effect") == 0,
           std::string("descriptor name is ") + desc->name);
    bool audio_effect = false;
    for (const char* const* f = desc->features; f != nullptr && *f != nullptr; ++f)
        audio_effect = audio_effect || std::strcmp(*f, CLAP_PLUGIN_FEATURE_AUDIO_EFFECT) == 0;
    expect(audio_effect, "the descriptor's features lack \"audio-effect\"");
    std::printf("descriptor: %s (%s)\n", desc->name, desc->id);

    Host host;
    init_host(host);

    // A config that cannot be read: init() fails cleanly (the error goes to stderr).
    setenv("LEGATO_MODEL_CONFIG", (work_dir / "missing.json").c_str(), 1);
    {
        Instance broken(factory, host, desc->id);
        expect(!broken.plugin->init(broken.plugin), "init() succeeded with a missing config");
        expect(!broken.plugin->activate(broken.plugin, sample_rate, block, block),
               "activate() succeeded after a failed init()");
    }
    // No variable: the compiled-in default config (models/cnn_past.json).
    unsetenv("LEGATO_MODEL_CONFIG");
    {
        Instance fallback(factory, host, desc->id);
        expect(fallback.plugin->init(fallback.plugin), "init() failed with the default config");
        find_param(fallback, "Mix");
    }

    const auto stream = legato::test::read_npy(models / "stream_mono.npy");
    const auto reference = legato::test::read_npy(models / "cnn_past.out.npy");
    const std::size_t length = stream.data.size();
    expect(reference.data.size() == length, "cnn_past.out.npy and stream_mono.npy differ in length");
    // The right channel is the left one 1000 samples later: the mono model runs once per
    // channel, so the right output must be the reference 1000 samples later too (channels
    // dropped, swapped or mixed would show). Before that, the right model sees silence, whose
    // output (the model's biases) has no reference: its wet comparisons start after it.
    constexpr std::size_t right_shift = 1000;
    std::vector<std::vector<float>> input(2, std::vector<float>(length, 0.0F));
    input[0] = stream.data;
    std::copy_n(stream.data.begin(), length - right_shift, input[1].begin() + right_shift);
    std::vector<std::vector<float>> model_out(2, std::vector<float>(length, 0.0F));
    model_out[0] = reference.data;
    std::copy_n(reference.data.begin(), length - right_shift,
                model_out[1].begin() + right_shift);

    const auto config_file = fixed_time_config(models / "cnn_past.json", work_dir);
    const std::uint32_t latency = handler_latency(config_file);
    expect(latency > 0, "the handler reports no latency");
    setenv("LEGATO_MODEL_CONFIG", config_file.c_str(), 1);
    Instance instance(factory, host, desc->id);
    const clap_plugin_t* plugin = instance.plugin;
    expect(plugin->init(plugin), "init() returned false");

    const auto& ports = instance.extension<clap_plugin_audio_ports_t>(CLAP_EXT_AUDIO_PORTS);
    for (const bool is_input : {true, false}) {
        expect(ports.count(plugin, is_input) == 1, "expected one audio port each way");
        clap_audio_port_info_t port{};
        expect(ports.get(plugin, 0, is_input, &port), "audio_ports.get failed");
        expect(port.channel_count == 2 && (port.flags & CLAP_AUDIO_PORT_IS_MAIN) != 0,
               "expected a stereo main port");
    }

    const auto mix = find_param(instance, "Mix");
    expect(mix.min_value == 0.0 && mix.max_value == 1.0 && mix.default_value == 1.0,
           "Mix should range 0..1 with default 1");
    const auto engine = find_param(instance, "Engine");
    const auto engine_names = legato::load_model_config(config_file, true).engine_names();
    expect((engine.flags & CLAP_PARAM_IS_STEPPED) != 0 && engine.min_value == 0.0 &&
               engine.max_value == static_cast<double>(engine_names.size() - 1),
           "Engine should be stepped over the config's engines");

    std::printf("latency: %u samples (an InferenceHandler with the same config)\n", latency);
    const std::size_t wet_from[] = {0, latency + right_shift};
    const auto delayed = [&](const std::vector<float>& x, std::size_t n) {
        return n < latency ? 0.0F : x[n - latency];
    };

    // Mix 1 on every engine: each channel's model output delayed by the latency.
    for (std::size_t e = 0; e < engine_names.size(); ++e) {
        const auto out = render(instance, latency, input,
                                {{mix.id, 1.0}, {engine.id, static_cast<double>(e)}});
        for (int c = 0; c < 2; ++c)
            compare("mix 1, " + engine_names[e] + ", channel " + std::to_string(c), out[c],
                    [&](std::size_t n) { return delayed(model_out[c], n); }, tolerance,
                    wet_from[c]);
    }
    // Mix 0: the input delayed by exactly the latency, bit for bit.
    {
        const auto out = render(instance, latency, input, {{mix.id, 0.0}, {engine.id, 0.0}});
        for (int c = 0; c < 2; ++c)
            compare("mix 0, channel " + std::to_string(c), out[c],
                    [&](std::size_t n) { return delayed(input[c], n); }, 0.0F);
    }
    // Mix 0.5: the average of both.
    {
        const auto out = render(instance, latency, input, {{mix.id, 0.5}});
        for (int c = 0; c < 2; ++c)
            compare("mix 0.5, channel " + std::to_string(c), out[c],
                    [&](std::size_t n) {
                        return 0.5F * delayed(model_out[c], n) + 0.5F * delayed(input[c], n);
                    },
                    tolerance, wet_from[c]);
    }
    expect(host.latency_changes == 1, "latency->changed() was called " +
                                          std::to_string(host.latency_changes) +
                                          " times; expected once (first activation)");

    // A model parameter: gain.json's "gain" (0..2, default 0.5) reaches the model.
    const auto gain_file = fixed_time_config(models / "gain.json", work_dir);
    const auto gain_reference = legato::test::read_npy(models / "gain.out.npy");  // gain 0.5
    const std::uint32_t gain_latency = handler_latency(gain_file);
    setenv("LEGATO_MODEL_CONFIG", gain_file.c_str(), 1);
    Instance gain_instance(factory, host, desc->id);
    expect(gain_instance.plugin->init(gain_instance.plugin), "init() failed for gain.json");
    const auto gain = find_param(gain_instance, "Gain");
    expect(gain.min_value == 0.0 && gain.max_value == 2.0 && gain.default_value == 0.5,
           "Gain should range 0..2 with default 0.5 (gain.json)");
    const auto out = render(gain_instance, gain_latency, input, {{gain.id, 1.5}});
    compare("gain 1.5", out[0],
            [&](std::size_t n) {
                return n < gain_latency ? 0.0F : 3.0F * gain_reference.data[n - gain_latency];
            },
            tolerance);
    // The parameter reaches the right channel's handler too.
    compare("gain 1.5, channel 1", out[1],
            [&](std::size_t n) {
                return n < gain_latency + right_shift
                           ? 0.0F
                           : 3.0F * gain_reference.data[n - gain_latency - right_shift];
            },
            tolerance);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s PLUGIN.clap MODELS_DIR WORK_DIR\n", argv[0]);
        return 2;
    }
    try {
        run(argv[1], argv[2], argv[3]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "FAIL: %s\n", e.what());
        return 1;
    }
    std::printf("OK\n");
    return 0;
}
