#pragma once
// The CLAP render extension ("clap.render", stable since CLAP 1.0): the host tells the plugin
// whether it renders in real time or offline. Debian's dpf-source ships CLAP 1.1.1 headers
// without ext/render.h; this declares the same ABI when that header is missing.

#if __has_include(<clap/ext/render.h>)
#include <clap/ext/render.h>
#else
#include <clap/plugin.h>

static CLAP_CONSTEXPR const char CLAP_EXT_RENDER[] = "clap.render";

#ifdef __cplusplus
extern "C" {
#endif

enum {
    // Real time: process() must keep up with the audio interface.
    CLAP_RENDER_REALTIME = 0,
    // Offline: process() may take as long as it needs; the host waits.
    CLAP_RENDER_OFFLINE = 1,
};
typedef int32_t clap_plugin_render_mode;

typedef struct clap_plugin_render {
    // [main-thread] True if the plugin cannot render offline (e.g. it talks to hardware).
    bool(CLAP_ABI* has_hard_realtime_requirement)(const clap_plugin_t* plugin);
    // [main-thread] Returns true if the mode was applied.
    bool(CLAP_ABI* set)(const clap_plugin_t* plugin, clap_plugin_render_mode mode);
} clap_plugin_render_t;

#ifdef __cplusplus
}
#endif
#endif
