#pragma once
// The LV2 plugin's port indices, shared by the plugin, its .ttl (legato_effect.ttl.in lists the
// same numbers) and the test host.

#include <cstdint>

namespace legato::examples::lv2 {

/// The plugin URI (any stable URI works; hosts store it in sessions).
inline constexpr const char* plugin_uri = "https://legato.dev/plugins/model-effect";

enum Port : std::uint32_t {
    input_left = 0,   ///< audio in
    input_right = 1,  ///< audio in
    output_left = 2,  ///< audio out
    output_right = 3, ///< audio out
    mix = 4,          ///< control in, 0 = dry .. 1 = wet (default 1)
    offline = 5,      ///< control in, toggled: render exactly at any speed (lv2apply: set to 1)
    freewheel = 6,    ///< control in, lv2:freeWheeling designation (connection optional)
    latency = 7,      ///< control out, lv2:latency designation, samples
    late_inferences = 8,  ///< control out, late inferences since instantiate()
    port_count = 9,
};

}  // namespace legato::examples::lv2
