// Benchmarks of the inference engines through Legato, after Ackva & Schulz (2024), the ANIRA
// study: runtime per sample over block sizes 64..8192 for every engine of the project's models
// (models/cnn_past.json, models/hybrid.json), the direct engine call against the handler
// (Legato's overhead), and handlers paced in real time (multi-instance scaling, late
// inferences against the bypass backend). With LEGATO_CONFORMANCE_MODELS pointing at the real
// models (steerable-nafx TCNs, GuitarLSTM, a stateful GRU; their cases.json) those too.
//
//   build/release/bench/legato_engine_bench --benchmark_counters_tabular=true
//   LEGATO_CONFORMANCE_MODELS=/work/shared/models build/release/bench/legato_engine_bench
//       --benchmark_filter='Real' --benchmark_counters_tabular=true      (one command line)
//
// Each benchmark runs once (Iterations(1)); its time is the median through the handler, and
// the counters carry the medians and p99s (docs/benchmarks.md explains every counter).
// Environment: LEGATO_BENCH_ITERATIONS x LEGATO_BENCH_REPETITIONS inferences per block (default
// 50 x 10 for the project's models, 10 x 3 for the real ones), LEGATO_BENCH_BLOCKS (comma list,
// default 64..8192), LEGATO_BENCH_SECONDS per paced run (default 3).

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support/conformance_models.hpp"
#include "bench_support/engine_measure.hpp"
#include "legato/legato.hpp"

namespace {

namespace fs = std::filesystem;

std::size_t env_count(const char* name, std::size_t fallback) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0')
        return fallback;
    const long parsed = std::strtol(value, nullptr, 10);
    return parsed > 0 ? static_cast<std::size_t>(parsed) : fallback;
}

double env_seconds() {
    const char* value = std::getenv("LEGATO_BENCH_SECONDS");
    const double parsed = value != nullptr ? std::strtod(value, nullptr) : 0.0;
    return parsed > 0.0 ? parsed : 3.0;
}

std::vector<std::size_t> env_blocks() {
    std::vector<std::size_t> blocks;
    if (const char* value = std::getenv("LEGATO_BENCH_BLOCKS")) {
        std::stringstream stream(value);
        std::string item;
        while (std::getline(stream, item, ','))
            if (const long b = std::strtol(item.c_str(), nullptr, 10); b > 0)
                blocks.push_back(static_cast<std::size_t>(b));
    }
    if (blocks.empty())
        blocks = {64, 128, 256, 512, 1024, 2048, 4096, 8192};
    return blocks;
}

// The pool the offline (non-paced) measurements share.
const std::shared_ptr<legato::Context>& offline_context() {
    static const auto context = legato::Context::create({});
    return context;
}

struct Model {
    std::string name;
    legato::InferenceConfig config;
    double sample_rate = 48000.0;
    std::size_t iterations = 50;
    std::size_t repetitions = 10;
};

void runtime_per_sample(benchmark::State& state, const Model& model, std::size_t engine,
                        std::size_t block) {
    legato::bench::MeasureOptions options;
    options.iterations = model.iterations;
    options.repetitions = model.repetitions;
    options.sample_rate = model.sample_rate;
    options.realtime_priority = legato::ContextConfig{}.realtime_priority_level;
    legato::bench::BlockMeasurement m;
    for (auto _ : state) {
        m = legato::bench::measure_block(model.config, engine, block, options, offline_context());
        if (m.skipped)
            break;
        state.SetIterationTime(m.handler_us.p50 / 1e6);
    }
    if (m.skipped) {
        state.SkipWithError(("skipped: " + m.note).c_str());
        return;
    }
    state.counters["ns_per_sample_p50"] = m.per_sample_ns(m.handler_us.p50);
    state.counters["ns_per_sample_p99"] = m.per_sample_ns(m.handler_us.p99);
    state.counters["direct_ns_per_sample_p50"] = m.per_sample_ns(m.direct_us.p50);
    state.counters["direct_ns_per_sample_p99"] = m.per_sample_ns(m.direct_us.p99);
    state.counters["inference_us_p99"] = m.handler_us.p99;
    state.counters["cold_us"] = m.cold_us;
    state.counters["warm_us"] = m.direct_us.p50;
    state.counters["overhead_us"] = m.overhead_us;
    state.counters["overhead_pct"] = m.overhead_pct;
    state.counters["handover_us"] = m.round_trip_overhead_us;
    state.counters["engine_in_handler_us"] = m.engine_in_handler_us.p50;
    state.counters["rt_violations"] = static_cast<double>(m.violations);
}

void paced(benchmark::State& state, const Model& model, std::size_t engine, std::size_t handlers,
           bool bypass, bool bound_to_hop) {
    legato::bench::PacedOptions options;
    options.handlers = handlers;
    options.block = 256;
    options.seconds = env_seconds();
    options.sample_rate = model.sample_rate;
    options.bypass = bypass;
    // A bound measured during warm-up under load can exceed the hop, which prepare() refuses;
    // the real models then run with the largest bound one worker can keep up with (bypass too,
    // for the same latency). Inferences that take longer are late and counted.
    if (bound_to_hop)
        options.max_inference_time_ms = 0.98 * 256.0 * 1000.0 / model.sample_rate;
    legato::bench::PacedMeasurement m;
    try {
        for (auto _ : state) {
            m = legato::bench::run_paced(model.config, engine, options,
                                         legato::Context::create({}));
            state.SetIterationTime(m.process_us.p50 / 1e6);
        }
    } catch (const legato::Error& e) {
        state.SkipWithError(e.what());
        return;
    }
    state.counters["inferences"] = static_cast<double>(m.inferences);
    state.counters["late"] = static_cast<double>(m.late);
    state.counters["late_pct"] = m.late_pct;
    state.counters["process_p50_us"] = m.process_us.p50;
    state.counters["process_p99_us"] = m.process_us.p99;
    state.counters["process_max_us"] = m.process_us.max;
    state.counters["callback_p99_us"] = m.callback_us.p99;
    state.counters["latency"] = static_cast<double>(m.latency_samples);
    state.counters["overruns"] = static_cast<double>(m.host_overruns);
    state.SetLabel(std::to_string(m.worker_threads) + " workers, " + std::to_string(m.steal_ticks) +
                   " steal ticks");
}

// Registers runtime-per-sample benchmarks for every engine of `model` and every block size.
void register_blocks(const std::string& group, const std::shared_ptr<Model>& model,
                     const std::vector<std::size_t>& blocks) {
    for (std::size_t e = 0; e < model->config.engines.size(); ++e) {
        const std::string engine = model->config.engines[e].backend->name();
        for (const std::size_t block : blocks)
            benchmark::RegisterBenchmark(
                (group + "/" + model->name + "/" + engine + "/block:" + std::to_string(block))
                    .c_str(),
                [model, e, block](benchmark::State& state) {
                    runtime_per_sample(state, *model, e, block);
                })
                ->UseManualTime()
                ->Iterations(1)
                ->Unit(benchmark::kMicrosecond);
    }
}

void register_paced(const std::string& group, const std::shared_ptr<Model>& model,
                    std::size_t engine, const std::vector<std::size_t>& counts, bool with_bypass,
                    bool bound_to_hop) {
    const std::string engine_name = model->config.engines[engine].backend->name();
    for (const bool bypass : {false, true}) {
        if (bypass && !with_bypass)
            continue;
        for (const std::size_t count : counts)
            benchmark::RegisterBenchmark(
                (group + "/" + model->name + "/" + (bypass ? std::string("bypass") : engine_name) +
                 "/handlers:" + std::to_string(count))
                    .c_str(),
                [model, engine, count, bypass, bound_to_hop](benchmark::State& state) {
                    paced(state, *model, engine, count, bypass, bound_to_hop);
                })
                ->UseManualTime()
                ->Iterations(1)
                ->Unit(benchmark::kMicrosecond);
    }
}

std::shared_ptr<Model> make_model(const legato::ModelConfig& config, std::size_t iterations,
                                  std::size_t repetitions) {
    auto model = std::make_shared<Model>();
    model->name = config.name;
    model->config = config.inference;
    model->sample_rate = config.sample_rate.value_or(48000.0);
    model->iterations = env_count("LEGATO_BENCH_ITERATIONS", iterations);
    model->repetitions = env_count("LEGATO_BENCH_REPETITIONS", repetitions);
    return model;
}

void register_project_models(const std::vector<std::size_t>& blocks) {
    for (const char* name : {"cnn_past", "hybrid"}) {
        const fs::path file = fs::path(LEGATO_MODELS_DIR) / (std::string(name) + ".json");
        try {
            auto model = make_model(legato::load_model_config(file, true), 50, 10);
            register_blocks("RuntimePerSample", model, blocks);
            if (std::string(name) == "cnn_past")
                for (std::size_t e = 0; e < model->config.engines.size(); ++e)
                    register_paced("MultiInstance", model, e, {1, 2, 4, 8, 16}, e == 0, false);
        } catch (const legato::Error& e) {
            std::fprintf(stderr, "engine_bench: %s left out: %s\n", name, e.what());
        }
    }
}

void register_conformance_models(const std::vector<std::size_t>& blocks) {
    const fs::path directory = legato::bench::conformance_directory();
    if (directory.empty()) {
        std::fprintf(stderr,
                     "engine_bench: the real models are skipped: set LEGATO_CONFORMANCE_MODELS "
                     "to the conformance suite (a directory with cases.json)\n");
        return;
    }
    std::vector<std::string> notes;
    for (const auto& real : legato::bench::load_conformance_models(directory, &notes)) {
        auto model = make_model(real.config, 10, 3);
        model->name = real.name;
        register_blocks("Real/RuntimePerSample", model, blocks);
        // The targets: 4 and 8 handlers of the 3-block TCN against bypass; GuitarLSTM's
        // audio-thread cost at block 256.
        if (real.folder == "nafx-tcn-3blocks")
            register_paced("Real/MultiInstance", model, 0, {1, 4, 8}, true, true);
        if (real.folder == "guitarlstm-hybrid")
            register_paced("Real/MultiInstance", model, 0, {1}, false, true);
    }
    for (const auto& note : notes)
        std::fprintf(stderr, "engine_bench: %s\n", note.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    const std::vector<std::size_t> blocks = env_blocks();
    try {
        register_project_models(blocks);
        register_conformance_models(blocks);
    } catch (const legato::Error& e) {
        std::fprintf(stderr, "engine_bench: %s\n", e.what());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
