// The JavaScript inference workers' threads: each is a pthread of the module (so it can call
// the module's exports: it claims its handlers' requests from the pool itself,
// legato/external_runner.hpp) whose start routine imports the package's worker code
// (web/src/inference-worker.ts) and returns to the thread's event loop, which then runs it
// for the life of the module. The main thread talks to it over a BroadcastChannel; the C++
// side through its mailbox (js_bridge.hpp).

#include <emscripten/emscripten.h>
#include <pthread.h>

#include <cstdint>
#include <string>

namespace {

// Runs in the new thread's JavaScript context (a module worker: dynamic import works there).
// clang-format off
EM_JS(void, legato_js_worker_boot,
      (const char* url, const char* channel, int box, int index, int async_wait), {
  const moduleUrl = UTF8ToString(url);
  const channelName = UTF8ToString(channel);
  import(moduleUrl)
      .then((worker) => worker.hostedStart(Module, {box, index, channel: channelName,
                                                    wait: async_wait ? "async" : "blocking"}))
      .catch((e) => {
        new BroadcastChannel(channelName).postMessage({kind: "failed", error: String(e && e.stack || e)});
      });
});
// clang-format on

struct Boot {
    std::string url;
    std::string channel;
    int box;
    int index;
    int async_wait;
};

void* worker_main(void* argument) {
    Boot* boot = static_cast<Boot*>(argument);
    legato_js_worker_boot(boot->url.c_str(), boot->channel.c_str(), boot->box, boot->index,
                          boot->async_wait);
    delete boot;
    emscripten_exit_with_live_runtime();  // the thread lives on in its event loop
    return nullptr;
}

}  // namespace

extern "C" {

/// [main thread] Starts JavaScript inference worker `index` (registered with
/// legato_js_register_worker(box)): a pthread that imports `url` (dist/inference-worker.js)
/// and answers on the BroadcastChannel `channel`. Returns 0, or the pthread_create error.
EMSCRIPTEN_KEEPALIVE int legato_js_worker_spawn(const char* url, const char* channel, void* box,
                                                int index, int async_wait) {
    auto* boot = new Boot{url, channel, static_cast<int>(reinterpret_cast<std::uintptr_t>(box)),
                          index, async_wait};
    pthread_t thread;
    const int error = pthread_create(&thread, nullptr, &worker_main, boot);
    if (error != 0) {
        delete boot;
        return error;
    }
    pthread_detach(thread);
    return 0;
}

}  // extern "C"
