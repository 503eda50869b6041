// libFuzzer target: configuration validation and set-up. Random InferenceConfigs (tensor
// counts, roles, shapes with -1/0/huge dimensions, hops, past context, layouts, sliding
// windows, state pairs, parameters, timing fields) and HostConfigs (rates, block sizes,
// latency overrides) go through the InferenceHandler constructor, prepare() and a few process()
// calls on the bypass backend. A bad config must end in legato::Error; anything else that
// escapes (std::bad_alloc, std::length_error), a crash, an ASan/UBSan report or an allocation
// above libFuzzer's -malloc_limit_mb is a bug.

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "legato/legato.hpp"

namespace {

std::int64_t dimension(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
        case 0:
            return -1;
        case 1:
            return 0;
        case 2:
            return in.ConsumeIntegral<std::int64_t>();  // anything, negative and huge included
        case 3:
            return std::int64_t{1} << in.ConsumeIntegralInRange<int>(16, 62);
        default:
            return in.ConsumeIntegralInRange<std::int64_t>(1, 64);
    }
}

std::size_t size(FuzzedDataProvider& in, std::size_t usual) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
            return 0;
        case 1:
            return in.ConsumeIntegral<std::size_t>();
        case 2:
            return std::size_t{1} << in.ConsumeIntegralInRange<int>(10, 63);
        default:
            return in.ConsumeIntegralInRange<std::size_t>(1, usual);
    }
}

double time_value(FuzzedDataProvider& in) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
        case 0:
            return std::numeric_limits<double>::quiet_NaN();
        case 1:
            return in.ConsumeBool() ? std::numeric_limits<double>::infinity() : -1.0;
        case 2:
            return in.ConsumeFloatingPoint<double>();
        default:
            return in.ConsumeFloatingPointInRange<double>(0.0, 20.0);
    }
}

legato::TensorSpec tensor(FuzzedDataProvider& in, std::size_t index, bool input) {
    legato::TensorSpec spec;
    spec.name = (input ? "in" : "out") + std::to_string(index);
    spec.role = static_cast<legato::TensorRole>(in.ConsumeIntegralInRange<int>(0, 2));
    const int rank = in.ConsumeIntegralInRange<int>(0, 5);
    for (int d = 0; d < rank; ++d)
        spec.shape.push_back(dimension(in));
    spec.channels = size(in, 4);
    spec.hop = size(in, 512);
    spec.past_context = in.ConsumeBool() ? 0 : size(in, 256);
    spec.layout = static_cast<legato::AudioLayout>(in.ConsumeIntegralInRange<int>(0, 3));
    spec.window_length = in.ConsumeBool() ? 0 : size(in, 64);
    spec.window_hop = in.ConsumeBool() ? 1 : size(in, 8);
    const std::size_t values = in.ConsumeIntegralInRange<std::size_t>(0, 4);
    for (std::size_t v = 0; v < values; ++v)
        spec.initial_value.push_back(in.ConsumeFloatingPoint<float>());
    return spec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t bytes) {
    FuzzedDataProvider in(data, bytes);
    legato::InferenceConfig config;
    const std::size_t engines = in.ConsumeIntegralInRange<std::size_t>(0, 2);
    for (std::size_t e = 0; e < engines; ++e)
        config.engines.push_back({legato::make_bypass_backend(), {}, {}, {}, {}});
    const std::size_t inputs = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    const std::size_t outputs = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    for (std::size_t i = 0; i < inputs; ++i)
        config.inputs.push_back(tensor(in, i, true));
    for (std::size_t o = 0; o < outputs; ++o)
        config.outputs.push_back(tensor(in, o, false));
    if (in.ConsumeBool() && inputs > 0 && outputs > 0)
        config.state_pairs.push_back(
            {"out" + std::to_string(in.ConsumeIntegralInRange<std::size_t>(0, outputs)),
             "in" + std::to_string(in.ConsumeIntegralInRange<std::size_t>(0, inputs))});
    if (in.ConsumeBool())
        config.max_inference_time_ms = time_value(in);
    config.measure_percentile = in.ConsumeBool() ? 0.99 : time_value(in);
    config.measure_safety_factor = in.ConsumeBool() ? 1.5 : time_value(in);
    config.measure_wake_allowance_ms = in.ConsumeBool() ? 0.2 : time_value(in);
    config.warm_up = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    config.parallel_instances = in.ConsumeBool() ? 1 : size(in, 70);
    config.stateful = in.ConsumeBool();
    config.late_policy = static_cast<legato::LatePolicy>(in.ConsumeIntegralInRange<int>(0, 2));

    legato::HostConfig host;
    host.sample_rate = in.ConsumeBool() ? 48000.0 : time_value(in) * 20000.0;
    host.max_block_size = size(in, 4096);
    host.variable_block_size = in.ConsumeBool();
    host.offline_rendering = in.ConsumeBool();
    if (in.ConsumeBool())
        host.latency_override = size(in, 100000);
    try {
        legato::InferenceHandler handler(config);
        handler.prepare(host);
        std::vector<float> buffer(4096, 0.25f);
        const std::size_t channels = in.ConsumeIntegralInRange<std::size_t>(0, 3);
        std::vector<float*> pointers(channels, buffer.data());
        for (int call = 0; call < 4; ++call) {
            const std::size_t frames = in.ConsumeIntegralInRange<std::size_t>(0, 4096);
            handler.process(pointers.data(), channels, frames);
        }
        (void)handler.statistics();
    } catch (const legato::Error&) {
        // The expected outcome for a bad config: a clear error.
    }
    return 0;
}
