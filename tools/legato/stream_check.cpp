#include "tools/legato/stream_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>

#include "legato/error.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_handler.hpp"

namespace legato::cli {
namespace {

using Signal = std::vector<std::vector<float>>;  // [channel][frame]

// Partials, a chirp and noise, with a silent gap and a click: something for every kind of
// model to react to, identical on every run.
Signal test_signal(std::size_t channels, std::size_t length, double rate) {
    Signal signal(channels, std::vector<float>(length, 0.0f));
    std::uint32_t noise = 0x9e3779b9u;
    for (std::size_t c = 0; c < channels; ++c) {
        for (std::size_t n = 0; n < length; ++n) {
            const double t = static_cast<double>(n) / rate;
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            const double white = static_cast<double>(noise) / 4294967296.0 - 0.5;
            const double chirp = std::sin(2.0 * M_PI * (110.0 + 900.0 * t) * t *
                                          (1.0 + 0.1 * static_cast<double>(c)));
            double x = 0.35 * chirp + 0.15 * std::sin(2.0 * M_PI * 3.0 * t) + 0.1 * white;
            if (n > length / 2 && n < length / 2 + length / 10)
                x = 0.0;  // a gap: state that decays must show it
            signal[c][n] = static_cast<float>(x);
        }
        signal[c][length * 3 / 4] = 0.9f;
    }
    return signal;
}

std::size_t audio_hop(const InferenceConfig& config) {
    for (const auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            return spec.hop;
    return 0;
}

// Offline and untimed: one warm-up run, a bound that never refuses, one instance.
InferenceConfig for_checking(InferenceConfig config, double rate) {
    config.warm_up = 1;
    config.parallel_instances = 1;
    config.max_inference_time_ms = 0.5 * static_cast<double>(audio_hop(config)) * 1000.0 / rate;
    config.late_policy = LatePolicy::silence;
    return config;
}

// Streams the test signal through `config` offline in blocks of `block`; the output with the
// latency removed, as long as the signal.
Signal render(const InferenceConfig& config, double rate, std::size_t length, std::size_t block) {
    InferenceHandler handler(config);
    HostConfig host;
    host.sample_rate = rate;
    host.max_block_size = block;
    host.offline_rendering = true;
    handler.prepare(host);
    const std::size_t latency = handler.latency();
    std::size_t total = length + latency;
    total = (total + block - 1) / block * block;  // a fixed-size host never ends short
    Signal input = test_signal(handler.input_channels(), length, rate);
    for (auto& channel : input)
        channel.resize(total, 0.0f);
    Signal output(handler.output_channels(), std::vector<float>(total, 0.0f));
    std::vector<const float*> in(input.size());
    std::vector<float*> out(output.size());
    for (std::size_t position = 0; position < total; position += block) {
        for (std::size_t c = 0; c < in.size(); ++c)
            in[c] = input[c].data() + position;
        for (std::size_t c = 0; c < out.size(); ++c)
            out[c] = output[c].data() + position;
        handler.process(in.data(), in.size(), out.data(), out.size(), block);
    }
    if (handler.statistics().failed_inferences > 0)
        throw Error("inferences failed while checking: " + handler.last_error());
    for (auto& channel : output)
        channel =
            std::vector<float>(channel.begin() + static_cast<std::ptrdiff_t>(latency),
                               channel.begin() + static_cast<std::ptrdiff_t>(latency + length));
    return output;
}

struct Difference {
    double max = 0.0;   // largest |a - b|
    double peak = 0.0;  // largest |a|
    std::size_t first = 0;
};

Difference difference(const Signal& a, const Signal& b) {
    Difference d;
    bool found = false;
    for (std::size_t c = 0; c < std::min(a.size(), b.size()); ++c)
        for (std::size_t n = 0; n < std::min(a[c].size(), b[c].size()); ++n) {
            d.peak = std::max(d.peak, static_cast<double>(std::abs(a[c][n])));
            const double e = std::abs(static_cast<double>(a[c][n]) - b[c][n]);
            if (e > d.max)
                d.max = e;
            if (e > 0 && !found) {
                found = true;
                d.first = n;
            }
        }
    return d;
}

bool same(const Difference& d, double tolerance) {
    return d.max <= tolerance * std::max(1.0, d.peak);
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

void set_past(InferenceConfig& config, std::size_t input_past, std::size_t output_past) {
    for (auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            spec.past_context = input_past;
    for (auto& spec : config.outputs)
        if (spec.role == TensorRole::audio)
            spec.past_context = output_past;
}

std::size_t input_past(const InferenceConfig& config) {
    for (const auto& spec : config.inputs)
        if (spec.role == TensorRole::audio)
            return spec.past_context;
    return 0;
}

std::size_t output_past(const InferenceConfig& config) {
    for (const auto& spec : config.outputs)
        if (spec.role == TensorRole::audio)
            return spec.past_context;
    return 0;
}

// The whole signal as one window (hop = its length): the model's own answer, where it takes
// any length. Stateless models see `lead` zeros before the signal, as the first streamed window
// does (a model that keeps its input's length returns them too, discarded as output past
// context; one that shortens its output needs exactly its receptive field); stateful ones
// start their state where the stream does, with the config's own past context.
Signal one_shot(const InferenceConfig& config, double rate, std::size_t length, std::size_t lead) {
    InferenceConfig whole = config;
    for (auto& spec : whole.inputs)
        if (spec.role == TensorRole::audio)
            spec.hop = length;
    for (auto& spec : whole.outputs)
        if (spec.role == TensorRole::audio)
            spec.hop = length;
    whole = for_checking(whole, rate);
    if (!config.stateful)
        set_past(whole, lead, lead);
    try {
        return render(whole, rate, length, length);
    } catch (const PastContextError& e) {  // a model that shortens its output by its field
        set_past(whole, e.needed(), output_past(whole));
        return render(whole, rate, length, length);
    }
}

std::string state_hint(const std::string& engine) {
    if (engine == "libtorch")
        return "TorchScript attributes or buffers that forward() assigns";
    if (engine == "tflite")
        return "TensorFlow Lite variable tensors";
    return "state kept inside the model";
}

}  // namespace

StreamReport check_stream(const ModelConfig& config, const StreamCheckOptions& options) {
    StreamReport report;
    report.fixed = config;
    const double rate = config.sample_rate.value_or(48000.0);
    const std::size_t hop = audio_hop(config.inference);
    const std::size_t length = options.signal_length;
    if (hop == 0) {
        report.fatal = "the config has no audio input: nothing streams";
        report.fatal_is_config = true;
        return report;
    }
    const std::string engine = config.engine_names().front();
    InferenceConfig work = for_checking(config.inference, rate);
    work.engines.resize(1);
    report.notes.push_back("checked on " + engine + " (the config's first engine), offline, " +
                           std::to_string(length) + " samples of a test signal at " +
                           std::to_string(std::lround(rate)) + " Hz");

    // 1. It prepares; a window shorter than the model needs is found by the warm-up run.
    Signal base;
    for (int attempt = 0;; ++attempt) {
        try {
            base = render(work, rate, length, hop);
            break;
        } catch (const PastContextError& e) {
            if (attempt > 0)
                throw;
            report.findings.push_back(
                {"the window is shorter than the model needs: " + std::string(e.what()),
                 "inputs[" + std::to_string(e.input_index()) + "].past_context " +
                     std::to_string(e.given()) + " -> " + std::to_string(e.needed())});
            work.inputs[e.input_index()].past_context = e.needed();
            report.fixed.inference.inputs[e.input_index()].past_context = e.needed();
            report.receptive_field_past = e.needed();
        } catch (const ConfigError& e) {
            report.fatal = e.what();
            report.fatal_is_config = true;
            return report;
        } catch (const Error& e) {
            report.fatal = e.what();
            return report;
        }
    }
    report.prepared = true;

    // 2. Hidden state: the same config with the model's state kept between inferences.
    if (!work.stateful) {
        InferenceConfig kept = work;
        kept.stateful = true;
        const Signal with_state = render(kept, rate, length, hop);
        const Difference d = difference(with_state, base);
        if (!same(d, options.tolerance)) {
            report.hidden_state = true;
            report.findings.push_back(
                {"the model keeps state between inferences (" + state_hint(engine) +
                     "): with \"stateful\": false Legato resets it before every hop, and the "
                     "output then differs by up to " +
                     number(d.max) + " from running the model with its state kept",
                 "\"stateful\": false -> true"});
            report.fixed.inference.stateful = true;
            report.fixed.inference.parallel_instances = 1;
            work = kept;
            base = with_state;
        }
    } else if (work.state_pairs.empty()) {
        report.notes.push_back("\"stateful\": true: the model's own state carries from hop to hop");
    }

    // 3. The same output at every host block size: 1, a prime, the hop, more than the hop.
    for (const std::size_t block : {std::size_t{1}, std::size_t{61}, 2 * hop + 3}) {
        const Difference d = difference(render(work, rate, length, block), base);
        if (d.max > 0 && same(d, options.tolerance))
            report.notes.push_back("block " + std::to_string(block) + ": differences up to " +
                                   number(d.max) + " (the engine is not bit-reproducible)");
        else if (d.max > 0)
            report.findings.push_back({"the output depends on the host's block size: at block " +
                                           std::to_string(block) + " it differs by up to " +
                                           number(d.max) + " from block " + std::to_string(hop),
                                       ""});
    }
    report.notes.push_back("the output is the same at blocks 1, 61, " + std::to_string(hop) +
                           " and " + std::to_string(2 * hop + 3));

    // 4. The one-shot reference, and the past context the model needs.
    Signal reference;
    try {
        reference = one_shot(work, rate, length, options.max_probe_past);
    } catch (const Error& e) {
        report.notes.push_back(
            "no one-shot reference: the model does not take the whole signal as one window "
            "(fixed time dimension?): " +
            std::string(e.what()));
        return report;
    }
    const Difference d = difference(base, reference);
    if (same(d, options.tolerance)) {
        report.notes.push_back(
            "the streamed output equals a one-shot render of the whole signal "
            "(largest difference " +
            number(d.max) + ")");
        return report;
    }
    const std::size_t given = input_past(work);
    // Does the model keep its input's length (its output then carries the past context too)?
    bool keeps_length = output_past(work) > 0;
    auto streams_like_reference = [&](std::size_t past) {
        InferenceConfig probe = work;
        set_past(probe, past, keeps_length ? past : 0);
        try {
            return same(difference(render(probe, rate, length, hop), reference), options.tolerance);
        } catch (const PastContextError&) {
            return false;  // shortens its output: only its exact field fits (found in step 1)
        } catch (const ConfigError&) {
            if (keeps_length)
                throw;
            keeps_length = true;  // returns past + hop samples: discard the past on output
            set_past(probe, past, past);
            return same(difference(render(probe, rate, length, hop), reference), options.tolerance);
        }
    };
    if (work.stateful || !streams_like_reference(options.max_probe_past)) {
        report.findings.push_back(
            {"the streamed output differs from a one-shot render of the whole signal by up to " +
                 number(d.max) + " (first at sample " + std::to_string(d.first) + ")" +
                 (work.stateful ? std::string()
                                : ", even with " + std::to_string(options.max_probe_past) +
                                      " samples of past context: the model carries state "
                                      "through its whole input and starts it afresh at every "
                                      "inference, e.g. a recurrent layer (ONNX LSTM, GRU, RNN) "
                                      "whose initial state is a constant or absent. No past "
                                      "context fixes that: export the state as inputs and "
                                      "outputs and pair them (state_pairs, \"stateful\": true)"),
             ""});
        return report;
    }
    // Stateless: the shortest past context that streams like the reference (the receptive
    // field), doubling then bisecting.
    std::size_t upper = std::max<std::size_t>(given, 1);
    while (upper < options.max_probe_past && !streams_like_reference(upper))
        upper *= 2;
    upper = std::min(upper, options.max_probe_past);
    std::size_t lower = given;  // fails
    while (upper - lower > 1) {
        const std::size_t middle = lower + (upper - lower) / 2;
        (streams_like_reference(middle) ? upper : lower) = middle;
    }
    report.receptive_field_past = upper;
    std::string why;
    if (upper > 4 * hop)
        why = "; a field " + std::to_string(upper / hop) +
              " hops long is typical of a recurrent layer whose state restarts at every "
              "inference (ONNX LSTM, GRU, RNN with a constant or absent initial state): each "
              "inference then computes " +
              std::to_string(1 + upper / hop) +
              " hops of samples; exporting the state as inputs and outputs (state_pairs) "
              "would compute one";
    report.findings.push_back(
        {"the past context is shorter than the model's receptive field: the model needs " +
             std::to_string(upper) +
             " samples of past input (found by probing: from past_context " +
             std::to_string(upper) +
             " on, the streamed output equals a one-shot render), the "
             "config gives " +
             std::to_string(given) + "; the output is off by up to " + number(d.max) + why,
         "past_context " + std::to_string(given) + " -> " + std::to_string(upper) +
             (keeps_length ? " (input and output: the model returns its input's length)" : "")});
    for (auto& spec : report.fixed.inference.inputs)
        if (spec.role == TensorRole::audio)
            spec.past_context = upper;
    if (keeps_length)
        for (auto& spec : report.fixed.inference.outputs)
            if (spec.role == TensorRole::audio)
                spec.past_context = upper;
    return report;
}

}  // namespace legato::cli
