// `legato run CONFIG IN OUT`: renders an audio file through a model along the exact real-time
// path: simulated audio callbacks of a fixed (or varying) block size call
// InferenceHandler::process on a rendering thread, either as fast as possible with offline
// rendering (results are waited for, so the output is exact) or paced in real time (late
// inferences are substituted and counted, as in a live host). docs/cli.md documents it.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "legato/config_file.hpp"
#include "legato/context.hpp"
#include "legato/error.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_handler.hpp"
#include "legato/statistics.hpp"
#include "support/run_support.hpp"
#include "tools/legato/audio_file.hpp"
#include "tools/legato/commands.hpp"
#include "tools/legato/config_argument.hpp"
#include "tools/legato/exit_codes.hpp"
#include "tools/legato/output_file.hpp"

namespace legato::cli {

namespace {

// SCHED_FIFO priority of the rendering thread when paced: above the inference workers (40 by
// default), like a host's audio thread.
constexpr int audio_thread_priority = 70;
// Seed of the block-size sequence for --variable-blocks: runs are reproducible.
constexpr std::uint32_t variable_block_seed = 20240601;

struct RunOptions {
    std::string config_file;
    std::string input_file;
    std::string output_file;
    std::size_t block_size = 256;
    std::string engine;
    bool paced = false;
    bool compensate_latency = false;
    std::vector<std::string> parameters;
    std::string late_policy;
    bool variable_blocks = false;
    bool allow_rate_mismatch = false;
    bool fail_on_late = false;
    bool no_progress = false;
    bool overwrite_input = false;
};

/// Ends the command with an exit code and a message for stderr.
struct CommandError {
    int exit_code;
    std::string message;
};

std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

std::string format_number(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%g", value);
    return text;
}

/// A "--param name=v[,v...]" request, parsed and checked against the config.
struct ParameterSetting {
    std::string name;
    std::vector<float> values;
};

std::string describe_parameters(const ModelConfig& config) {
    if (config.parameters.empty())
        return config.name + " has no parameters";
    std::string text = "known parameters: ";
    for (std::size_t i = 0; i < config.parameters.size(); ++i) {
        const ParameterInfo& p = config.parameters[i];
        text += (i ? ", " : "") + p.name + " (" + p.label + ", " + format_number(p.minimum) + ".." +
                format_number(p.maximum) + ", default " + format_number(p.default_value) + ")";
    }
    return text;
}

std::size_t parameter_size(const ModelConfig& config, const std::string& name) {
    for (const auto& spec : config.inference.inputs) {
        if (spec.role != TensorRole::parameter || spec.name != name)
            continue;
        std::size_t count = 1;
        for (const auto dimension : spec.shape)
            count *= dimension > 0 ? static_cast<std::size_t>(dimension) : 1;
        return count;
    }
    return 0;
}

ParameterSetting parse_parameter(const std::string& text, const ModelConfig& config) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == text.size())
        throw CommandError{exit_usage, "--param " + text + ": expected NAME=VALUE[,VALUE...]"};
    ParameterSetting setting;
    setting.name = text.substr(0, equals);
    std::string_view rest = std::string_view(text).substr(equals + 1);
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        float value = 0.0F;
        const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (item.empty() || error != std::errc() || end != item.data() + item.size() ||
            !std::isfinite(value))
            throw CommandError{exit_usage, "--param " + text + ": '" + std::string(item) +
                                               "' is not a finite number"};
        setting.values.push_back(value);
        if (comma == std::string_view::npos)
            break;
        rest = rest.substr(comma + 1);
    }
    const auto known = std::find_if(config.parameters.begin(), config.parameters.end(),
                                    [&](const ParameterInfo& p) { return p.name == setting.name; });
    if (known == config.parameters.end())
        throw CommandError{exit_usage, "--param " + text + ": unknown parameter '" + setting.name +
                                           "'; " + describe_parameters(config)};
    const std::size_t expected = parameter_size(config, setting.name);
    if (setting.values.size() != expected)
        throw CommandError{exit_usage, "--param " + text + ": " + setting.name + " expects " +
                                           std::to_string(expected) + " value(s), got " +
                                           std::to_string(setting.values.size())};
    for (const float value : setting.values)
        if (value < known->minimum || value > known->maximum)
            std::fprintf(stderr,
                         "legato run: warning: --param %s: %g is outside the range %g..%g\n",
                         setting.name.c_str(), static_cast<double>(value),
                         static_cast<double>(known->minimum), static_cast<double>(known->maximum));
    return setting;
}

LatePolicy parse_late_policy(const std::string& name) {
    if (name == "silence")
        return LatePolicy::silence;
    if (name == "dry")
        return LatePolicy::dry;
    return LatePolicy::repeat_last;  // CLI11 allowed only these three names
}

/// The frames of each simulated callback, in order, summing to at least `frames`: a fixed
/// block size (the last block is a whole block too, as a host's would be, reading zeros past
/// the end), or, with --variable-blocks, sizes drawn uniformly from 1..block_size.
std::vector<std::size_t> block_sequence(std::size_t frames, std::size_t block_size, bool variable) {
    std::vector<std::size_t> blocks;
    std::mt19937 random(variable_block_seed);
    std::uniform_int_distribution<std::size_t> size(1, block_size);
    for (std::size_t done = 0; done < frames;) {
        blocks.push_back(variable ? size(random) : block_size);
        done += blocks.back();
    }
    return blocks;
}

/// What the rendering thread measured.
struct RenderResult {
    std::vector<double> callback_us;  ///< time inside process() per callback
    double wall_seconds = 0.0;
    bool realtime_priority = false;
};

/// Drives the handlers like an audio driver: one callback per block, each calling process()
/// on every handler (one per file channel in per-channel mode, else one for all channels).
/// Everything it touches is allocated before it starts.
class Renderer {
public:
    Renderer(std::vector<std::unique_ptr<InferenceHandler>>& handlers, bool per_channel,
             std::vector<std::vector<float>>& input, std::vector<std::vector<float>>& output,
             std::vector<std::size_t> blocks, double sample_rate, bool paced)
        : handlers_(handlers),
          per_channel_(per_channel),
          input_(input),
          output_(output),
          blocks_(std::move(blocks)),
          sample_rate_(sample_rate),
          paced_(paced),
          input_pointers_(input.size()),
          output_pointers_(output.size()) {
        result_.callback_us.resize(blocks_.size());
    }

    /// [rendering thread] Runs every callback; publishes progress in frames_done().
    void run() {
        if (paced_)
            result_.realtime_priority = tools::make_current_thread_realtime(audio_thread_priority);
        const auto start = std::chrono::steady_clock::now();
        std::size_t position = 0;
        for (std::size_t b = 0; b < blocks_.size(); ++b) {
            const std::size_t frames = blocks_[b];
            if (paced_) {
                // A driver calls back when a block's worth of input has arrived.
                const std::chrono::duration<double> due(static_cast<double>(position) /
                                                        sample_rate_);
                std::this_thread::sleep_until(
                    start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(due));
            }
            for (std::size_t c = 0; c < input_.size(); ++c)
                input_pointers_[c] = input_[c].data() + position;
            for (std::size_t c = 0; c < output_.size(); ++c)
                output_pointers_[c] = output_[c].data() + position;
            const auto before = std::chrono::steady_clock::now();
            if (per_channel_) {
                for (std::size_t h = 0; h < handlers_.size(); ++h)
                    handlers_[h]->process(&input_pointers_[h], 1, &output_pointers_[h], 1, frames);
            } else {
                handlers_.front()->process(input_pointers_.data(), input_pointers_.size(),
                                           output_pointers_.data(), output_pointers_.size(),
                                           frames);
            }
            const auto after = std::chrono::steady_clock::now();
            result_.callback_us[b] =
                std::chrono::duration<double, std::micro>(after - before).count();
            position += frames;
            frames_done_.store(position, std::memory_order_relaxed);
        }
        result_.wall_seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        finished_.store(true, std::memory_order_release);
    }

    /// [any thread]
    std::size_t frames_done() const noexcept {
        return frames_done_.load(std::memory_order_relaxed);
    }
    bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    /// [after run() returned]
    const RenderResult& result() const noexcept { return result_; }

private:
    std::vector<std::unique_ptr<InferenceHandler>>& handlers_;
    bool per_channel_;
    std::vector<std::vector<float>>& input_;
    std::vector<std::vector<float>>& output_;
    std::vector<std::size_t> blocks_;
    double sample_rate_;
    bool paced_;
    std::vector<const float*> input_pointers_;
    std::vector<float*> output_pointers_;
    RenderResult result_;
    std::atomic<std::size_t> frames_done_{0};
    std::atomic<bool> finished_{false};
};

/// [main thread] A one-line progress bar on stderr, redrawn in place.
void draw_progress(std::size_t done, std::size_t total, double sample_rate) {
    constexpr int width = 40;
    const double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int filled = static_cast<int>(fraction * width);
    std::fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f / %.1f s", filled,
                 "########################################", width - filled, "",
                 static_cast<int>(fraction * 100.0), static_cast<double>(done) / sample_rate,
                 static_cast<double>(total) / sample_rate);
    std::fflush(stderr);
}

int run(const RunOptions& options) {
    // 0. Never lose the user's input: OUT naming the same file as IN (also through a symbolic
    //    or hard link) is refused before anything is opened for writing.
    if (same_file(options.input_file, options.output_file) && !options.overwrite_input)
        throw CommandError{exit_usage,
                           options.output_file + " is the input file " + options.input_file +
                               ": refusing to overwrite the input; choose another output file, "
                               "or pass --overwrite-input to replace it once the render has "
                               "succeeded"};

    // 1. The config, and everything on the command line that can be checked against it before
    //    the (slow) model loading.
    ModelConfig config;
    try {
        config = load_config_argument("run", options.config_file);
    } catch (const ModelFileRefused& e) {
        throw CommandError{exit_engine, e.what()};
    } catch (const Error& e) {
        throw CommandError{exit_input, e.what()};
    }
    const std::vector<std::string> engine_names = config.engine_names();
    if (!options.engine.empty() &&
        std::find(engine_names.begin(), engine_names.end(), options.engine) == engine_names.end())
        throw CommandError{
            exit_usage,
            "--engine " + options.engine + ": " + config.file.filename().string() +
                " has no such engine in this build; choose one of: " + join(engine_names)};
    std::vector<ParameterSetting> parameters;
    for (const auto& text : options.parameters)
        parameters.push_back(parse_parameter(text, config));

    // 2. The input file: its rate must be the model's (never resampled).
    PlanarAudio input;
    try {
        input = read_audio_file(options.input_file);
    } catch (const AudioFileError& e) {
        throw CommandError{exit_input, e.what()};
    }
    if (config.sample_rate && *config.sample_rate != input.sample_rate) {
        const std::string message = options.input_file + " is at " +
                                    format_number(input.sample_rate) + " Hz but " + config.name +
                                    " expects " + format_number(*config.sample_rate) +
                                    " Hz (config \"sample_rate\"); legato does not resample";
        if (!options.allow_rate_mismatch)
            throw CommandError{exit_mismatch, message +
                                                  ": resample the file, or pass "
                                                  "--allow-rate-mismatch to run it anyway"};
        std::fprintf(stderr, "legato run: warning: %s; running anyway (--allow-rate-mismatch)\n",
                     message.c_str());
    }

    // 3. The handlers. A mono model given a multichannel file runs one handler per channel
    //    (sharing the worker pool), like a mono plugin inserted on each channel.
    std::shared_ptr<Context> context = Context::shared(config.context);
    std::vector<std::unique_ptr<InferenceHandler>> handlers;
    try {
        handlers.push_back(std::make_unique<InferenceHandler>(config.inference, context));
    } catch (const Error& e) {
        throw CommandError{exit_input, options.config_file + ": " + e.what()};
    }
    const std::size_t model_inputs = handlers.front()->input_channels();
    const std::size_t model_outputs = handlers.front()->output_channels();
    const std::size_t file_channels = input.channel_count();
    bool per_channel = false;
    if (file_channels != model_inputs) {
        if (model_inputs != 1)
            throw CommandError{exit_mismatch, options.input_file + " has " +
                                                  std::to_string(file_channels) + " channels but " +
                                                  config.name + " takes " +
                                                  std::to_string(model_inputs)};
        if (model_outputs != 1)
            throw CommandError{exit_mismatch, options.input_file + " has " +
                                                  std::to_string(file_channels) + " channels; " +
                                                  config.name + " takes 1 but outputs " +
                                                  std::to_string(model_outputs) +
                                                  ", so it cannot run once per channel"};
        per_channel = true;
        for (std::size_t c = 1; c < file_channels; ++c)
            handlers.push_back(std::make_unique<InferenceHandler>(config.inference, context));
    }
    for (auto& handler : handlers) {
        if (!options.engine.empty())
            handler->set_engine(options.engine);  // checked against engine_names above
        if (!options.late_policy.empty())
            handler->set_late_policy(parse_late_policy(options.late_policy));
    }

    // The output goes to a temporary file beside OUT, created now so that a bad path fails
    // before the models load; it replaces OUT only when the whole run has succeeded, so on
    // any failure OUT is left exactly as it was (and the temporary file is removed once the
    // writer, declared later, has closed it).
    std::optional<OutputFile> output_file;
    std::optional<AudioFileWriter> writer;
    try {
        output_file.emplace(options.output_file);
        writer.emplace(output_file->temporary().string(), input.sample_rate,
                       per_channel ? file_channels : model_outputs);
    } catch (const AudioFileError& e) {
        throw CommandError{exit_input, e.what()};
    } catch (const std::runtime_error& e) {
        throw CommandError{exit_input, e.what()};
    }

    HostConfig host;
    host.sample_rate = input.sample_rate;
    host.max_block_size = options.block_size;
    host.variable_block_size = options.variable_blocks;
    host.offline_rendering = !options.paced;
    const auto prepare_start = std::chrono::steady_clock::now();
    std::size_t latency = 0;
    try {
        for (auto& handler : handlers) {
            handler->prepare(host);
            latency = std::max(latency, handler->latency());
        }
        // Handlers that measured their inference time may differ slightly: give every
        // channel the largest latency so the channels stay aligned.
        for (auto& handler : handlers) {
            if (handler->latency() != latency) {
                HostConfig aligned = host;
                aligned.latency_override = latency;
                handler->prepare(aligned);
            }
        }
    } catch (const ConfigError& e) {  // the config does not fit the model or the host
        throw CommandError{exit_input, options.config_file + ": " + e.what()};
    } catch (const Error& e) {
        throw CommandError{exit_engine, e.what()};
    }
    const double prepare_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - prepare_start).count();
    for (const auto& setting : parameters)
        for (auto& handler : handlers)
            if (!handler->set_parameter(setting.name, setting.values))
                throw CommandError{exit_usage,
                                   "--param " + setting.name + ": expects " +
                                       std::to_string(parameter_size(config, setting.name)) +
                                       " value(s), got " + std::to_string(setting.values.size())};

    // 4. Buffers: the input followed by `latency` zeros flushes the model's tail; the block
    //    sequence may run past that (a last whole block), reading more zeros.
    const std::size_t input_frames = input.frames();
    const std::size_t stream_frames = input_frames + latency;
    std::vector<std::size_t> blocks =
        block_sequence(stream_frames, options.block_size, options.variable_blocks);
    std::size_t rendered_frames = 0;
    for (const auto frames : blocks)
        rendered_frames += frames;
    for (auto& channel : input.channels)
        channel.resize(rendered_frames, 0.0F);
    const std::size_t output_channels = per_channel ? file_channels : model_outputs;
    std::vector<std::vector<float>> output(output_channels,
                                           std::vector<float>(rendered_frames, 0.0F));

    // 5. Render on a thread of its own (the "audio thread"); this thread draws the progress.
    Renderer renderer(handlers, per_channel, input.channels, output, std::move(blocks),
                      input.sample_rate, options.paced);
    const bool show_progress = !options.no_progress && isatty(STDERR_FILENO) == 1;
    std::thread audio_thread([&renderer] { renderer.run(); });
    if (show_progress) {
        while (!renderer.finished()) {
            draw_progress(std::min(renderer.frames_done(), stream_frames), stream_frames,
                          input.sample_rate);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        draw_progress(stream_frames, stream_frames, input.sample_rate);
        std::fputc('\n', stderr);
    }
    audio_thread.join();
    const RenderResult& result = renderer.result();

    // 6. Write: without compensation the whole stream (input + latency, the tail flushed);
    //    with it the stream from `latency` on, time-aligned with the input and as long.
    const std::size_t first = options.compensate_latency ? latency : 0;
    const std::size_t output_frames = options.compensate_latency ? input_frames : stream_frames;
    try {
        std::vector<std::span<const float>> views;
        for (const auto& channel : output)
            views.emplace_back(channel.data() + first, output_frames);
        writer->write(views, output_frames);
        writer->close();
    } catch (const AudioFileError& e) {
        throw CommandError{exit_input, e.what()};
    }

    // 7. Summary.
    Statistics total = handlers.front()->statistics();
    for (std::size_t c = 1; c < handlers.size(); ++c)
        total = combined(total, handlers[c]->statistics());
    std::vector<double> sorted = result.callback_us;
    std::sort(sorted.begin(), sorted.end());
    const double audio_seconds = static_cast<double>(stream_frames) / input.sample_rate;
    const double latency_ms = static_cast<double>(latency) * 1000.0 / input.sample_rate;

    std::printf("model:                %s (%s)\n", config.name.c_str(),
                options.config_file.c_str());
    std::printf("engine:               %s\n",
                handlers.front()->engine_name(handlers.front()->engine()).c_str());
    std::printf("sample rate:          %s Hz\n", format_number(input.sample_rate).c_str());
    std::printf("block size:           %zu frames%s\n", options.block_size,
                options.variable_blocks ? " (maximum; varying block sizes)" : "");
    std::printf("channels:             %zu in, %zu out%s\n", file_channels, output_channels,
                per_channel ? " (mono model, one handler per channel)" : "");
    std::printf("mode:                 %s\n",
                options.paced ? (result.realtime_priority
                                     ? "paced in real time (audio thread SCHED_FIFO)"
                                     : "paced in real time (audio thread at normal priority: "
                                       "SCHED_FIFO not permitted)")
                              : "offline (unpaced; late results are waited for)");
    std::printf("latency:              %zu samples (%.3f ms)\n", latency, latency_ms);
    std::printf("max inference time:   %.3f ms (latency bound), slowest seen %.3f ms\n",
                total.max_inference_time_ms, total.max_inference_ms);
    std::printf("prepare time:         %.3f s\n", prepare_seconds);
    std::printf("output:               %s, %zu frames (%s)\n", options.output_file.c_str(),
                output_frames,
                options.compensate_latency ? "latency compensated, aligned with the input"
                                           : "input + latency, delayed by the latency");
    std::printf("inferences submitted: %llu\n",
                static_cast<unsigned long long>(total.inferences_submitted));
    std::printf("inferences completed: %llu\n",
                static_cast<unsigned long long>(total.inferences_completed));
    std::printf("late inferences:      %llu\n",
                static_cast<unsigned long long>(total.late_inferences));
    std::printf("dropped inferences:   %llu\n",
                static_cast<unsigned long long>(total.dropped_inferences));
    std::printf("failed inferences:    %llu\n",
                static_cast<unsigned long long>(total.failed_inferences));
    std::printf("substituted frames:   %llu\n",
                static_cast<unsigned long long>(total.substituted_frames));
    std::printf(
        "audio-thread time per callback: p50 %.1f us, p99 %.1f us, max %.1f us "
        "(%zu callbacks)\n",
        tools::percentile_of_sorted(sorted, 0.50), tools::percentile_of_sorted(sorted, 0.99),
        sorted.empty() ? 0.0 : sorted.back(), sorted.size());
    std::printf("wall time:            %.3f s for %.3f s of audio\n", result.wall_seconds,
                audio_seconds);
    std::printf(
        "real-time factor:     %.4f (wall time / audio duration; below 1 is faster than "
        "real time)\n",
        audio_seconds > 0.0 ? result.wall_seconds / audio_seconds : 0.0);
    std::fflush(stdout);

    int exit_code = exit_ok;
    if (total.failed_inferences > 0) {
        for (const auto& handler : handlers) {
            const std::string error = handler->last_error();
            if (!error.empty()) {
                std::fprintf(stderr, "legato run: %llu inference(s) failed; last error: %s\n",
                             static_cast<unsigned long long>(total.failed_inferences),
                             error.c_str());
                break;
            }
        }
        exit_code = exit_failure;
    }
    if (options.fail_on_late && total.late_inferences > 0) {
        std::fprintf(stderr, "legato run: %llu late inference(s) (--fail-on-late)\n",
                     static_cast<unsigned long long>(total.late_inferences));
        exit_code = exit_failure;
    }
    if (exit_code != exit_ok) {
        std::fprintf(stderr, "legato run: %s not written (left as it was)\n",
                     options.output_file.c_str());
        return exit_code;
    }
    try {
        output_file->commit();
    } catch (const std::runtime_error& e) {
        throw CommandError{exit_input, e.what()};
    }
    return exit_code;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
    auto options = std::make_shared<RunOptions>();
    CLI::App* command = app.add_subcommand(
        "run", "Render an audio file through a model along the real-time path (docs/cli.md)");
    command
        ->add_option("config", options->config_file,
                     "Model config (JSON), or a native model file (.nam, RTNeural JSON) to derive "
                     "one from")
        ->required();
    command->add_option("input", options->input_file, "Input audio file")->required();
    command->add_option("output", options->output_file, "Output WAV file (32-bit float)")
        ->required();
    command->add_option("--block", options->block_size, "Frames per audio callback")
        ->default_val(256)
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
    command->add_option("--engine", options->engine, "Engine to run (default: the config's first)");
    command->add_flag("--paced", options->paced,
                      "Space callbacks in real time (late inferences substituted and counted) "
                      "instead of rendering offline as fast as possible");
    command->add_flag("--compensate-latency", options->compensate_latency,
                      "Drop the first latency() samples: the output is aligned with the input "
                      "and as long (default: output = input + latency, tail flushed)");
    command
        ->add_option("--param", options->parameters,
                     "Set a parameter input before processing: NAME=VALUE[,VALUE...] "
                     "(repeatable)")
        ->allow_extra_args(false);
    command
        ->add_option("--late-policy", options->late_policy,
                     "Replace late inferences with: silence, dry, repeat_last "
                     "(default: the config's)")
        ->check(CLI::IsMember({"silence", "dry", "repeat_last"}));
    command->add_flag("--variable-blocks", options->variable_blocks,
                      "Call back with varying block sizes, 1..--block (reproducible sequence)");
    command->add_flag("--allow-rate-mismatch", options->allow_rate_mismatch,
                      "Run even if the file's sample rate is not the config's (warning)");
    command->add_flag("--fail-on-late", options->fail_on_late,
                      "Exit with status 1 if any inference was late");
    command->add_flag("--overwrite-input", options->overwrite_input,
                      "Allow OUTPUT to be the input file: it is replaced once the render has "
                      "succeeded (written to a temporary file first)");
    command->add_flag("--no-progress", options->no_progress,
                      "No progress bar (it is drawn only when stderr is a terminal anyway)");
    return [options] {
        try {
            return run(*options);
        } catch (const CommandError& e) {
            std::fprintf(stderr, "legato run: %s\n", e.message.c_str());
            return e.exit_code;
        }
    };
}

}  // namespace legato::cli
