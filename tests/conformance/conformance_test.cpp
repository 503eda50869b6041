// The real-model conformance suite: third-party audio models (../shared/models, found through
// the LEGATO_CONFORMANCE_MODELS environment variable) streamed through the full real-time path
// must reproduce references computed offline. See the suite's README for the case format.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "npy.hpp"
#include "stream_support.hpp"

namespace legato::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<fs::path> suite_root() {
    const char* root = std::getenv("LEGATO_CONFORMANCE_MODELS");
    if (root == nullptr || !fs::exists(fs::path(root) / "cases.json"))
        return std::nullopt;
    return fs::path(root);
}

std::vector<json> load_cases() {
    const auto root = suite_root();
    if (!root)
        return {};
    std::ifstream file(*root / "cases.json");
    return json::parse(file).get<std::vector<json>>();
}

std::string engine_of(const json& c) {
    const std::string format = c.at("format");
    return format == "onnx" ? "onnxruntime" : format == "torchscript" ? "libtorch" : "tflite";
}

bool engine_built(const std::string& engine) {
    const auto names = available_engines();
    return std::find(names.begin(), names.end(), engine) != names.end();
}

// The case's layout in words, e.g. "[1,C,T] ...", "[1,T,1] ...", "[B,W,1] sliding windows".
AudioLayout layout_of(const json& c) {
    const std::string layout = c.at("layout");
    if (layout.rfind("[B,1,W]", 0) == 0)
        return AudioLayout::sliding_windows_channels_first;
    if (layout.rfind("[B,W,1]", 0) == 0)
        return AudioLayout::sliding_windows_channels_last;
    if (layout.rfind("[1,T,", 0) == 0)
        return AudioLayout::channels_last;
    return AudioLayout::channels_first;
}

std::vector<std::int64_t> shape_of(const json& tensor) {
    std::vector<std::int64_t> shape;
    for (const auto& dim : tensor.at("run_shape"))
        shape.push_back(dim.get<std::int64_t>());
    return shape;
}

TensorRole role_of(const json& tensor) {
    const std::string role = tensor.at("role");
    return role == "audio"   ? TensorRole::audio
           : role == "state" ? TensorRole::state
                             : TensorRole::parameter;
}

// True if the case's audio tensors have a dynamic time axis (a free hop).
bool free_hop(const json& c) {
    for (const auto& dim : c.at("inputs").at(0).at("shape"))
        if (dim.is_string())
            return true;
    return false;
}

// An InferenceConfig for the case at its recommended hop, or at `hop_override` (a multiple of
// it) where the time axis is dynamic.
InferenceConfig config_for(const json& c, const fs::path& root, std::size_t hop_override = 0) {
    const std::string kind = c.at("kind");
    const auto hop = hop_override != 0 ? hop_override : c.at("hop").get<std::size_t>();
    const auto receptive_field = c.at("receptive_field").get<std::size_t>();
    const auto channels = c.at("stream_channels").size();
    const AudioLayout layout = layout_of(c);
    InferenceConfig config;
    config.engines.push_back({make_backend(engine_of(c)),
                              ModelSource::file(root / c.at("folder").get<std::string>() /
                                                c.at("model").get<std::string>()),
                              {},
                              {},
                              {}});
    auto make_tensor = [&](const json& tensor, bool input) {
        TensorSpec spec;
        spec.name = tensor.at("name");
        spec.role = role_of(tensor);
        spec.shape = shape_of(tensor);
        if (spec.role != TensorRole::audio) {
            if (input && spec.role == TensorRole::parameter) {
                // The value named like the input, or the only one (TFLite names its inputs
                // args_0, args_0_1, ... where the suite says "gain").
                const json& values = c.at("parameters");
                const float value = values.contains(spec.name) ? values.at(spec.name).get<float>()
                                                               : values.begin()->get<float>();
                spec.initial_value.assign(element_count(spec.shape), value);
            }
            return spec;
        }
        spec.channels = channels;
        spec.hop = hop;
        if (hop_override != 0) {  // let the dynamic time axis follow the hop
            const auto& declared = tensor.at("shape");
            for (std::size_t d = 0; d < declared.size(); ++d)
                if (declared[d].is_string())
                    spec.shape[d] = -1;
        }
        if (kind == "sliding_windows_batch") {
            if (input) {
                spec.layout = layout;
                spec.window_length = receptive_field;
                spec.window_hop = 1;
                spec.past_context = receptive_field - 1;
            } else {
                spec.layout = AudioLayout::channels_last;  // [B, 1]: one sample per window
            }
        } else {
            spec.layout = layout == AudioLayout::channels_last ? AudioLayout::channels_last
                                                               : AudioLayout::channels_first;
            if (input && kind == "stateless_window")
                spec.past_context = receptive_field - 1;
        }
        return spec;
    };
    for (const auto& tensor : c.at("inputs"))
        config.inputs.push_back(make_tensor(tensor, true));
    for (const auto& tensor : c.at("outputs"))
        config.outputs.push_back(make_tensor(tensor, false));
    for (const auto& pair : c.at("state_pairs"))
        config.state_pairs.push_back({pair.at(0), pair.at(1)});
    config.stateful = !config.state_pairs.empty();
    return config;
}

Signal rows(const NpyArray& array, const json& channels) {
    const std::size_t length = array.shape.back();
    Signal signal;
    for (const auto& row : channels) {
        const auto r = row.get<std::size_t>();
        signal.emplace_back(array.data.begin() + static_cast<std::ptrdiff_t>(r * length),
                            array.data.begin() + static_cast<std::ptrdiff_t>((r + 1) * length));
    }
    return signal;
}

struct StreamResult {
    double max_error = 0.0;  ///< over frames that were not substituted
    std::size_t wrong = 0;   ///< frames beyond tolerance that were not substituted
    Statistics stats;
    std::size_t latency = 0;
    std::size_t host_overruns = 0;
    std::vector<std::size_t> substituted_hops;  ///< indices, for the log
};

// Streams the case's input through a handler and compares with `reference` (aligned with the
// input) from latency() on. A hop that is entirely zero where the reference is not counts as
// substituted (the late policy is silence).
StreamResult stream_case(const InferenceConfig& config, const HostConfig& host,
                         const std::shared_ptr<Context>& context, const Signal& input,
                         const Signal& reference, double tolerance, bool paced) {
    InferenceHandler handler(config, context);
    handler.prepare(host);
    StreamResult run;
    run.latency = handler.latency();
    HostSimulation simulation;
    simulation.block_sizes = {host.max_block_size};
    simulation.paced = paced;
    simulation.host_overruns = &run.host_overruns;
    const std::size_t hop = config.inputs[0].hop;
    const Signal output =
        stream(handler, input, run.latency + host.max_block_size + hop, simulation);
    run.stats = handler.statistics();
    const std::size_t frames = reference[0].size();
    for (std::size_t j = 0; j * hop < frames; ++j) {
        const std::size_t end = std::min(frames, (j + 1) * hop);
        bool silent = true, reference_silent = true;
        double worst = 0.0;
        for (std::size_t c = 0; c < reference.size(); ++c) {
            for (std::size_t n = j * hop; n < end; ++n) {
                const float got = output[c][n + run.latency];
                silent = silent && got == 0.0f;
                reference_silent = reference_silent && reference[c][n] == 0.0f;
                worst = std::max(worst, std::abs(static_cast<double>(got) - reference[c][n]));
            }
        }
        if (silent && !reference_silent && run.stats.late_inferences > 0) {
            run.substituted_hops.push_back(j);
            continue;
        }
        run.max_error = std::max(run.max_error, worst);
        if (worst > tolerance)
            run.wrong += end - j * hop;
    }
    return run;
}

// One case of cases.json; printed by name in test output.
struct Case {
    json value;
};
void PrintTo(const Case& c, std::ostream* out) {
    *out << c.value.at("name").get<std::string>();
}

std::vector<Case> load_case_list() {
    std::vector<Case> list;
    for (auto& c : load_cases())
        list.push_back({std::move(c)});
    return list;
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, Case) {
    const json& c = GetParam().value;
    const auto root = suite_root();
    ASSERT_TRUE(root);
    const std::string engine = engine_of(c);
    if (!engine_built(engine))
        GTEST_SKIP() << engine << " is not built into this Legato";

    if (c.at("expected") != "ok") {
        // The file needs a newer TensorFlow Lite: loading must fail with an error that says so.
        InferenceHandler handler(config_for(c, *root));
        HostConfig host;
        host.max_block_size = 256;
        try {
            handler.prepare(host);
            FAIL() << "loading " << c.at("model") << " should have failed";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("newer TensorFlow Lite"), std::string::npos)
                << e.what();
        }
        return;
    }

    const fs::path folder = *root / c.at("folder").get<std::string>();
    const Signal input =
        rows(read_npy(folder / c.at("stream_input").get<std::string>()), c.at("stream_channels"));
    InferenceConfig config = config_for(c, *root);
    const double tolerance = c.at("tolerance_abs");
    // Offline rendering waits for every result, so any sustainable bound will do.
    const double hop_ms = static_cast<double>(c.at("hop").get<std::size_t>()) * 1000.0 / 48000.0;
    const double offline_max_ms = 0.9 * hop_ms;
    Signal reference;
    if (c.at("stream_output").is_null()) {
        // No streaming reference for this file: the same engine, run directly over consecutive
        // windows of the stream, is the reference (this checks windowing and alignment; the
        // engine's numbers are checked against block_golden by the engine tests).
        config.max_inference_time_ms = offline_max_ms;
        InferenceHandler offline(config, Context::create({}));
        HostConfig host;
        host.max_block_size = c.at("hop");
        host.offline_rendering = true;
        offline.prepare(host);
        HostSimulation simulation;
        simulation.block_sizes = {host.max_block_size};
        const Signal out =
            stream(offline, input, offline.latency() + host.max_block_size, simulation);
        reference = input;
        for (std::size_t ch = 0; ch < out.size(); ++ch)
            std::copy_n(out[ch].begin() + static_cast<std::ptrdiff_t>(offline.latency()),
                        input[0].size(), reference[ch].begin());
    } else {
        reference = rows(read_npy(folder / c.at("stream_output").get<std::string>()),
                         c.at("stream_channels"));
    }

    // Unpaced (offline rendering: every result waited for): exact within the tolerance.
    config.max_inference_time_ms = offline_max_ms;
    ContextConfig pool;
    pool.worker_threads = 3;
    const auto context = Context::create(pool);
    for (const std::size_t block : {64, 100, 256, 512, 2048}) {
        HostConfig host;
        host.max_block_size = block;
        host.offline_rendering = true;
        const StreamResult run =
            stream_case(config, host, context, input, reference, tolerance, false);
        EXPECT_EQ(run.wrong, 0u) << "block " << block << ": max error " << run.max_error;
        EXPECT_EQ(run.stats.late_inferences, 0u);
        std::printf("%s unpaced block %4zu: latency %zu, max abs error %.3g\n",
                    c.at("name").get<std::string>().c_str(), block, run.latency, run.max_error);
    }

    // Paced in real time, over the start of the stream (below): the maximum inference time is
    // measured during warm-up, with at least 4 ms for this machine's scheduling jitter.
    // Stateless models get enough instances; stateful ones with a free time axis get a longer
    // hop instead.
    config.max_inference_time_ms.reset();
    config.parallel_instances = config.stateful ? 1 : pool.worker_threads;
    double max_ms = 0.0;
    try {
        InferenceConfig probe_config = config;
        probe_config.max_inference_time_ms.reset();
        InferenceHandler probe(probe_config, context);
        HostConfig probe_host;
        probe_host.max_block_size = 256;
        probe_host.offline_rendering = true;
        probe.prepare(probe_host);
        max_ms = probe.max_inference_time_ms();
    } catch (const Error& e) {
        GTEST_SKIP() << "not real-time capable on this machine (paced part skipped): " << e.what();
    }
    max_ms = std::max(max_ms, paced_max_inference_time_ms);
    if (config.stateful && max_ms > hop_ms) {
        if (!free_hop(c))
            GTEST_SKIP() << "not real-time capable on this machine: " << max_ms << " ms per hop of "
                         << hop_ms << " ms (paced part skipped)";
        const auto hop = c.at("hop").get<std::size_t>() *
                         static_cast<std::size_t>(std::ceil(max_ms / hop_ms - 1e-9));
        config = config_for(c, *root, hop);
    }
    const double paced_hop_ms = static_cast<double>(config.inputs[0].hop) * 1000.0 / 48000.0;
    const auto instances = static_cast<std::size_t>(std::ceil(max_ms / paced_hop_ms - 1e-9));
    if (!config.stateful && instances > pool.worker_threads)
        GTEST_SKIP() << "needs " << instances
                     << " parallel instances to run in real time (paced part skipped)";
    config.max_inference_time_ms = max_ms;
    config.parallel_instances = config.stateful ? 1 : instances;
    // One second (release); half a second under ASan, where this part checks memory safety on
    // the real-time path (late hops, substitutions) and the release stage makes the timing claim.
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::size_t paced_samples = 24000;
#else
    constexpr std::size_t paced_samples = 48000;
#endif
    Signal excerpt = input, excerpt_reference = reference;
    for (auto* signal : {&excerpt, &excerpt_reference})
        for (auto& channel : *signal)
            channel.resize(std::min<std::size_t>(channel.size(), paced_samples));
    for (const std::size_t block : {64, 100, 256, 512, 2048}) {
        HostConfig host;
        host.max_block_size = block;
        expect_on_time([&] {
            const StreamResult run =
                stream_case(config, host, context, excerpt, excerpt_reference, tolerance, true);
            // A stateful model's state skips a hop that was cancelled late, so after one, later
            // hops rightly differ from the reference (and the attempt counts as off time).
            if (!config.stateful || run.stats.late_inferences == 0) {
                EXPECT_EQ(run.wrong, 0u) << "block " << block << ": max error " << run.max_error;
            }
            std::string late_hops;
            for (const std::size_t j : run.substituted_hops)
                late_hops += (late_hops.empty() ? " (hop " : ", ") + std::to_string(j);
            if (!late_hops.empty())
                late_hops += " of " + std::to_string(run.stats.inferences_submitted) + ")";
            std::printf(
                "%s paced hop %zu block %4zu: latency %zu, late %llu%s, max abs error "
                "%.3g, slowest inference %.2f of %.2f ms\n",
                c.at("name").get<std::string>().c_str(), config.inputs[0].hop, block, run.latency,
                static_cast<unsigned long long>(run.stats.late_inferences), late_hops.c_str(),
                run.max_error, run.stats.max_inference_ms, max_ms);
            return PacedAttempt{run.stats.late_inferences, run.host_overruns,
                                run.stats.max_inference_ms > max_ms};
        });
    }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string name = info.param.value.at("name");
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(Suite, Conformance, ::testing::ValuesIn(load_case_list()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

TEST(ConformanceSuite, IsPresentOrSkippedSayingSo) {
    if (!suite_root())
        GTEST_SKIP() << "LEGATO_CONFORMANCE_MODELS is unset or has no cases.json: the real-model "
                        "conformance suite is skipped";
    EXPECT_FALSE(load_cases().empty());
}

}  // namespace
}  // namespace legato::test
