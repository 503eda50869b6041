// An LV2 plugin written directly against the LV2 C API (lv2-dev, no framework): the shared
// ModelEffect behind a stereo in/out plugin with a dry/wet mix, an offline switch and the latency
// reported through an lv2:latency output port. docs/integration.md ("LV2 plugin") explains it.
//
// Threads, as the LV2 spec assigns them:
//   instantiate / activate / deactivate / cleanup  [setup thread] ("Instantiation class")
//   connect_port / run                             [audio thread] ("Audio class")

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>

#include <legato/statistics.hpp>

#include "model_effect.hpp"
#include "ports.hpp"

namespace legato::examples::lv2 {
namespace {

// Without the options feature the host gives no block bound: prepare for blocks up to this many
// frames, any size (larger ones are split, counted as oversized, and may come out late unless
// the offline port is on). It costs latency (docs/latency.md), so hosts that know their block
// size should pass bufsz:maxBlockLength.
constexpr std::size_t default_max_block = 4096;

struct Plugin {
    std::unique_ptr<ModelEffect> effect;
    const float* ports_in[2] = {nullptr, nullptr};
    float* ports_out[2] = {nullptr, nullptr};
    const float* mix = nullptr;
    const float* offline = nullptr;
    const float* freewheel = nullptr;
    float* latency = nullptr;
    float* late_inferences = nullptr;
    bool offline_active = false;
};

const char* config_path() {
    const char* from_environment = std::getenv("LEGATO_MODEL_CONFIG");
    return from_environment != nullptr && from_environment[0] != '\0' ? from_environment
                                                                       : LEGATO_LV2_DEFAULT_CONFIG;
}

// What the host promises about block sizes: bufsz:maxBlockLength through the options feature
// (needs urid:map to read it) and bufsz:fixedBlockLength as a feature.
struct BlockBounds {
    std::size_t max_block = default_max_block;
    bool variable = true;
};

BlockBounds block_bounds(const LV2_Feature* const* features) {
    const LV2_URID_Map* map = nullptr;
    const LV2_Options_Option* options = nullptr;
    bool fixed = false;
    for (std::size_t i = 0; features != nullptr && features[i] != nullptr; ++i) {
        const char* uri = features[i]->URI;
        if (std::strcmp(uri, LV2_URID__map) == 0)
            map = static_cast<const LV2_URID_Map*>(features[i]->data);
        else if (std::strcmp(uri, LV2_OPTIONS__options) == 0)
            options = static_cast<const LV2_Options_Option*>(features[i]->data);
        else if (std::strcmp(uri, LV2_BUF_SIZE__fixedBlockLength) == 0)
            fixed = true;
    }
    BlockBounds bounds;
    if (map == nullptr || options == nullptr)
        return bounds;
    const LV2_URID max_block_key = map->map(map->handle, LV2_BUF_SIZE__maxBlockLength);
    const LV2_URID atom_int = map->map(map->handle, "http://lv2plug.in/ns/ext/atom#Int");
    const LV2_URID atom_long = map->map(map->handle, "http://lv2plug.in/ns/ext/atom#Long");
    for (const LV2_Options_Option* o = options; o->key != 0; ++o) {
        if (o->context != LV2_OPTIONS_INSTANCE || o->key != max_block_key || o->value == nullptr)
            continue;
        std::int64_t value = 0;
        if (o->type == atom_int && o->size == sizeof(std::int32_t))
            value = *static_cast<const std::int32_t*>(o->value);
        else if (o->type == atom_long && o->size == sizeof(std::int64_t))
            value = *static_cast<const std::int64_t*>(o->value);
        if (value > 0) {
            bounds.max_block = static_cast<std::size_t>(value);
            // A fixed block length only means something with a known length.
            bounds.variable = !fixed;
        }
    }
    return bounds;
}

LV2_Handle instantiate(const LV2_Descriptor* /*descriptor*/, double sample_rate,
                       const char* /*bundle_path*/, const LV2_Feature* const* features) {
    const char* path = config_path();
    try {
        auto plugin = std::make_unique<Plugin>();
        plugin->effect = std::make_unique<ModelEffect>(path);
        const auto& model_rate = plugin->effect->config().sample_rate;
        if (model_rate && *model_rate != sample_rate)
            std::fprintf(stderr,
                         "legato_effect.lv2: warning: %s was made for %.0f Hz, the host runs at "
                         "%.0f Hz (the model still runs, but may sound different)\n",
                         path, *model_rate, sample_rate);
        const BlockBounds bounds = block_bounds(features);
        plugin->effect->prepare(sample_rate, bounds.max_block, bounds.variable, 2);
        return plugin.release();
    } catch (const std::exception& error) {
        // The host gets NULL and reports the plugin as failing to load; say why.
        std::fprintf(stderr, "legato_effect.lv2: cannot load %s: %s\n", path, error.what());
    } catch (...) {
        std::fprintf(stderr, "legato_effect.lv2: cannot load %s: unknown error\n", path);
    }
    return nullptr;
}

void connect_port(LV2_Handle instance, std::uint32_t port, void* data) {
    auto& p = *static_cast<Plugin*>(instance);
    switch (port) {
        case Port::input_left: p.ports_in[0] = static_cast<const float*>(data); break;
        case Port::input_right: p.ports_in[1] = static_cast<const float*>(data); break;
        case Port::output_left: p.ports_out[0] = static_cast<float*>(data); break;
        case Port::output_right: p.ports_out[1] = static_cast<float*>(data); break;
        case Port::mix: p.mix = static_cast<const float*>(data); break;
        case Port::offline: p.offline = static_cast<const float*>(data); break;
        case Port::freewheel: p.freewheel = static_cast<const float*>(data); break;
        case Port::latency: p.latency = static_cast<float*>(data); break;
        case Port::late_inferences: p.late_inferences = static_cast<float*>(data); break;
        default: break;
    }
}

// The stream and the dry delay line restart from silence after (re)activation, as LV2 asks.
// activate() never runs concurrently with run(), so the audio-thread reset is safe here.
void activate(LV2_Handle instance) {
    static_cast<Plugin*>(instance)->effect->reset();
}

void run(LV2_Handle instance, std::uint32_t frames) {
    auto& p = *static_cast<Plugin*>(instance);
    if (p.mix != nullptr)
        p.effect->set_mix(std::clamp(*p.mix, 0.0F, 1.0F));
    // Offline rendering makes process() wait for late results: exact output at any speed, but
    // not real-time safe; only for hosts rendering faster (or slower) than real time.
    const bool offline = (p.offline != nullptr && *p.offline > 0.5F) ||
                         (p.freewheel != nullptr && *p.freewheel > 0.5F);
    if (offline != p.offline_active) {
        p.effect->set_offline_rendering(offline);
        p.offline_active = offline;
    }
    if (p.ports_out[0] != nullptr && p.ports_out[1] != nullptr)
        p.effect->process(p.ports_in, 2, p.ports_out, 2, frames);
    // Reading the counters is a handful of relaxed atomic loads: fine on the audio thread.
    if (p.latency != nullptr)
        *p.latency = static_cast<float>(p.effect->latency());
    if (p.late_inferences != nullptr)
        *p.late_inferences = static_cast<float>(p.effect->statistics().late_inferences);
}

void deactivate(LV2_Handle /*instance*/) {}

void cleanup(LV2_Handle instance) {
    delete static_cast<Plugin*>(instance);
}

const void* extension_data(const char* /*uri*/) {
    return nullptr;
}

const LV2_Descriptor descriptor = {plugin_uri, instantiate, connect_port, activate,
                                   run,        deactivate,  cleanup,      extension_data};

}  // namespace
}  // namespace legato::examples::lv2

/// [any thread] The library's entry point: the host enumerates plugins by index.
LV2_SYMBOL_EXPORT const LV2_Descriptor* lv2_descriptor(std::uint32_t index) {
    return index == 0 ? &legato::examples::lv2::descriptor : nullptr;
}
