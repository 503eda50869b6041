// The native engine's speed on the staged upstream models: ns per sample, inline, one sample
// per call and blocks of 64, exact activations. Models come from $LEGATO_NATIVE_MODELS
// (normally ../shared/models-native); missing ones are reported as skipped.
//
//   LEGATO_NATIVE_MODELS=../shared/models-native build/release/bench/legato_native_bench
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true   (one command line)

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engines/native/kernels.hpp"
#include "engines/native/native_model_file.hpp"

namespace {

std::unique_ptr<legato::native::StreamModel> load(const std::string& relative,
                                                  benchmark::State& state) {
    const char* root = std::getenv("LEGATO_NATIVE_MODELS");
    const std::filesystem::path path =
        std::filesystem::path(root != nullptr ? root : "../shared/models-native") / relative;
    if (!std::filesystem::exists(path)) {
        state.SkipWithError(("no " + path.string() + " (set LEGATO_NATIVE_MODELS)").c_str());
        return nullptr;
    }
    return legato::native::load_model(legato::ModelSource::file(path));
}

// state.range(0): samples per call (1 or 64); range(1): channels; range(2): 1 = the channels
// as one batch (StreamModel::with_channels), 0 = a model copy per channel.
void run(benchmark::State& state, const std::string& model_file) {
    auto first = load(model_file, state);
    if (!first)
        return;
    const auto block = static_cast<std::size_t>(state.range(0));
    const auto channels = static_cast<std::size_t>(state.range(1));
    const bool batched = state.range(2) != 0;
    std::vector<std::unique_ptr<legato::native::StreamModel>> models;
    if (batched) {
        models.push_back(first->with_channels(channels));
        if (!models.front()) {
            state.SkipWithError("the model cannot batch channels");
            return;
        }
    } else {
        models.push_back(std::move(first));
        for (std::size_t c = 1; c < channels; ++c)
            models.push_back(models.front()->clone());
    }
    const std::size_t total = 9600;  // 0.2 s at 48 kHz per iteration
    // Batched: every frame holds all channels (interleaved); else one mono stream per copy.
    const std::size_t width = batched ? channels : 1;
    std::vector<float> in(total * width), out(total * width);
    for (std::size_t n = 0; n < in.size(); ++n)
        in[n] =
            0.3f * std::sin(0.013f * static_cast<float>(n / width) + static_cast<float>(n % width));
    for (auto _ : state) {
        for (std::size_t at = 0; at < total; at += block)
            for (auto& model : models)
                model->process(in.data() + at * width, out.data() + at * width, block);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    const double samples = static_cast<double>(state.iterations()) * static_cast<double>(total);
    // Per sample of the stream (all channels together): stereo vs mono is the channels cost.
    state.counters["ns_per_sample"] =
        benchmark::Counter(samples, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["x_realtime"] =
        benchmark::Counter(samples / 48000.0, benchmark::Counter::kIsRate);
}

void BM_NativeLstm40(benchmark::State& s) {
    run(s, "rtneural-lstm40-random/lstm40_random_seed40.json");
}
void BM_NativeGru40(benchmark::State& s) {
    run(s, "rtneural-gru40-random/gru40_random_seed41.json");
}
void BM_NativeNamA1Standard(benchmark::State& s) {
    run(s, "nam-wavenet-a1-standard/wavenet_a1_standard.nam");
}
void BM_NativeNamLstmH3(benchmark::State& s) {
    run(s, "nam-lstm-h3/lstm.nam");
}

// {samples per call, channels, batched}
// Blocks of 128: the web's render quantum (npm run bench's in-worklet ratio). Stereo both ways:
// a copy per channel and one batch (the stereo-vs-mono figure is the batch's).
BENCHMARK(BM_NativeLstm40)
    ->Args({1, 1, 0})
    ->Args({1, 2, 1})
    ->Args({64, 1, 0})
    ->Args({64, 2, 0})
    ->Args({64, 2, 1})
    ->Args({128, 1, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeGru40)
    ->Args({1, 1, 0})
    ->Args({1, 2, 1})
    ->Args({64, 1, 0})
    ->Args({64, 2, 0})
    ->Args({64, 2, 1})
    ->Args({128, 1, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeNamA1Standard)
    ->Args({1, 1, 0})
    ->Args({64, 1, 0})
    ->Args({128, 1, 0})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NativeNamLstmH3)->Args({1, 1, 0})->Args({64, 1, 0})->Unit(benchmark::kMillisecond);

// The WaveNet's product kernel alone: {rows, columns}, 64 frames (a chunk), weights and inputs
// in cache; counter: multiply-adds per ns. 16 x 49 is an A1-standard layer's convolution (three
// taps of 16 channels and the input mixin), 16 x 16 its 1x1, 8 x 25 and 8 x 8 the second array.
void BM_NativeMatmul(benchmark::State& state) {
    const auto rows = static_cast<std::size_t>(state.range(0));
    const auto cols = static_cast<std::size_t>(state.range(1));
    constexpr std::size_t frames = 64;
    legato::native::Floats w(rows * cols, 0.01f), x(frames * cols, 0.5f), y(frames * rows);
    for (auto _ : state) {
        legato::native::matmul(w.data(), rows, cols, x.data(), cols, y.data(), rows, frames, false);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["macs_per_ns"] = benchmark::Counter(
        static_cast<double>(rows * cols * frames) * static_cast<double>(state.iterations()) * 1e-9,
        benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NativeMatmul)
    ->Args({16, 49})
    ->Args({16, 16})
    ->Args({8, 25})
    ->Args({8, 8})
    ->Args({32, 49});

// An LSTM cell's two halves per sample, as the layer runs them: {hidden, part}; part 0: the
// gate product over [x; h] (4 hidden x (1 + hidden)) and the cell update writing h back where
// the next product reads it (the recurrence), 1: the product alone, 2: the update alone. Against
// the model rows above, the remainder is the per-sample calls and the output Dense; the
// product alone is bound by its weight loads (one 64-byte load per FMA for one channel).
void BM_NativeLstmCell(benchmark::State& state) {
    using namespace legato::native;
    const auto hidden = static_cast<std::size_t>(state.range(0));
    const auto part = state.range(1);
    const std::size_t rows = padded_rows(4 * hidden), cols = 1 + hidden;
    Floats w(rows * cols), b(rows + kernel_pad), g(rows + kernel_pad),
        xh(padded_rows(cols + kernel_pad)), c(padded_rows(hidden + kernel_pad));
    for (std::size_t n = 0; n < w.size(); ++n)
        w[n] = 0.2f * std::sin(0.7f * static_cast<float>(n));
    constexpr int steps = 1000;
    for (auto _ : state) {
        for (int step = 0; step < steps; ++step) {
            xh[0] = 0.01f * static_cast<float>(step % 7);
            if (part != 2)
                matvec(w.data(), xh.data(), b.data(), g.data(), rows, cols);
            if (part != 1)
                lstm_update(g.data(), c.data(), xh.data() + 1, hidden);
        }
        benchmark::DoNotOptimize(xh.data());
        benchmark::DoNotOptimize(g.data());
    }
    state.counters["ns_per_step"] =
        benchmark::Counter(static_cast<double>(state.iterations()) * steps,
                           benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_NativeLstmCell)->Args({40, 0})->Args({40, 1})->Args({40, 2});

}  // namespace

BENCHMARK_MAIN();
