// `legato info MODEL`: what a model file declares (inputs and outputs with names, shapes and
// element types) and a starter JSON config with guessed roles to edit (docs/cli.md).

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "legato/config_file.hpp"
#include "legato/context.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "legato/host_config.hpp"
#include "legato/inference_handler.hpp"
#include "legato/model_description.hpp"
#include "legato/model_file_config.hpp"
#include "legato/model_source.hpp"
#include "tools/legato/commands.hpp"
#include "tools/legato/exit_codes.hpp"
#include "tools/legato/starter_config.hpp"
#include "tools/legato/stream_check.hpp"

namespace legato::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::int64_t suggested_hop = 256;
// A fixed dimension at least this long is taken for time (audio), shorter ones for features.
constexpr std::int64_t min_time_length = 64;
// The host block the inline verdict of a native model is measured at: `legato run`'s default.
constexpr std::size_t verdict_block = 256;

struct InfoOptions {
    std::string model;
    std::string entry_point;
    bool json = false;
    bool config_only = false;
};

// --- Guessing each tensor's part in the stream -------------------------------------------

std::vector<std::string> name_words(const std::string& name) {
    std::vector<std::string> words(1);
    for (const char c : name) {
        if (std::isalnum(static_cast<unsigned char>(c)) != 0)
            words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else if (!words.back().empty())
            words.emplace_back();
    }
    if (words.back().empty())
        words.pop_back();
    return words;
}

// Recurrent state by its usual names: h_in, c_out, hidden, state, cache...
bool looks_like_state(const std::string& name) {
    static const char* const state_words[] = {"state", "states", "hidden", "h",  "c",
                                              "hx",    "cx",     "h0",     "c0", "hn",
                                              "cn",    "cache",  "memory"};
    for (const auto& word : name_words(name))
        for (const char* state_word : state_words)
            if (word == state_word)
                return true;
    return false;
}

// The name without its direction, so that h_out finds h_in.
std::string state_key(const std::string& name) {
    static const char* const direction_words[] = {"in",   "out",      "input", "output", "next",
                                                  "prev", "previous", "new",   "old"};
    std::string key;
    for (const auto& word : name_words(name)) {
        if (std::find_if(std::begin(direction_words), std::end(direction_words),
                         [&](const char* d) { return word == d; }) != std::end(direction_words))
            continue;
        key += (key.empty() ? "" : "_") + word;
    }
    return key;
}

bool is_float(const TensorDescription& tensor) {
    // TorchScript declares only "Tensor"; the engine passes float32.
    return tensor.element_type == "float32" || tensor.element_type == "Tensor";
}

struct Guess {
    std::string role = "parameter";   // audio | parameter | state
    std::optional<std::size_t> time;  // the time axis of an audio tensor with a known shape
    std::string layout = "channels_first";
    std::int64_t channels = 1;
    std::int64_t window_length = 0;  // sliding-window layouts
};

// The time axis: the last dynamic dimension, else the longest one of at least
// min_time_length samples.
std::optional<std::size_t> time_axis(const TensorDescription& tensor) {
    if (!tensor.shape_known)
        return std::nullopt;
    for (std::size_t d = tensor.shape.size(); d-- > 0;)
        if (tensor.shape[d] < 0)
            return d;
    std::optional<std::size_t> longest;
    for (std::size_t d = 0; d < tensor.shape.size(); ++d)
        if (tensor.shape[d] >= min_time_length &&
            (!longest || tensor.shape[d] > tensor.shape[*longest]))
            longest = d;
    return longest;
}

std::int64_t known_or_one(std::int64_t dim) {
    return dim > 0 ? dim : 1;
}

// Layout and channels from where the time axis sits: [..., C, T] channels first,
// [..., T, C] channels last, [B, C, W] / [B, W, C] batches of sliding windows (inputs).
void guess_layout(const TensorDescription& tensor, bool input, Guess& guess) {
    if (!guess.time)
        return;
    const auto& shape = tensor.shape;
    const std::size_t rank = shape.size();
    const std::size_t t = *guess.time;
    if (t + 1 == rank) {
        guess.layout = "channels_first";
        guess.channels = rank >= 2 ? known_or_one(shape[rank - 2]) : 1;
    } else if (t + 2 == rank) {
        guess.layout = "channels_last";
        guess.channels = known_or_one(shape[rank - 1]);
    } else if (input && t == 0 && rank == 3 &&
               std::max(known_or_one(shape[1]), known_or_one(shape[2])) > 1) {
        // A batch of windows longer than one sample ([T, 1, 1] is plain audio, time first).
        const bool channels_first = known_or_one(shape[1]) <= known_or_one(shape[2]);
        guess.layout =
            channels_first ? "sliding_windows_channels_first" : "sliding_windows_channels_last";
        guess.channels = known_or_one(shape[channels_first ? 1 : 2]);
        guess.window_length = known_or_one(shape[channels_first ? 2 : 1]);
    }
}

std::vector<Guess> guess_tensors(const std::vector<TensorDescription>& tensors, bool input) {
    std::vector<Guess> guesses(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const TensorDescription& tensor = tensors[i];
        Guess& guess = guesses[i];
        if (looks_like_state(tensor.name)) {
            guess.role = "state";
        } else if (!tensor.shape_known) {
            // No shapes (TorchScript): the first tensor is usually the audio.
            guess.role = i == 0 && is_float(tensor) ? "audio" : "parameter";
        } else {
            guess.time = time_axis(tensor);
            guess.role = is_float(tensor) && guess.time ? "audio" : "parameter";
            if (guess.role != "audio")
                guess.time.reset();
            guess_layout(tensor, input, guess);
        }
    }
    return guesses;
}

// Everything `legato info` concludes about a model.
struct Starter {
    std::vector<Guess> inputs;
    std::vector<Guess> outputs;
    std::int64_t past_context = 0;
    std::vector<std::pair<std::string, std::string>> state_pairs;  // output, input
    std::vector<std::string> remarks;  // what the guesses rest on, for people
};

std::string dimension_text(const TensorDescription& tensor, std::size_t d) {
    if (tensor.shape[d] >= 0)
        return std::to_string(tensor.shape[d]);
    if (d < tensor.dimension_names.size() && !tensor.dimension_names[d].empty())
        return tensor.dimension_names[d];
    return "?";
}

Starter guess(const ModelDescription& model) {
    Starter starter;
    starter.inputs = guess_tensors(model.inputs, true);
    starter.outputs = guess_tensors(model.outputs, false);

    // TorchScript outputs have no names: after the audio, as many outputs as there are state
    // inputs are taken for their next values.
    std::size_t state_inputs = 0;
    for (const auto& g : starter.inputs)
        state_inputs += g.role == "state" ? 1 : 0;
    const bool unnamed_outputs = !model.outputs.empty() && !model.outputs.front().shape_known;
    if (unnamed_outputs && state_inputs > 0 && model.outputs.size() == 1 + state_inputs)
        for (std::size_t o = 1; o < starter.outputs.size(); ++o)
            starter.outputs[o].role = "state";

    // State pairs: by name (h_out -> h_in), then the rest in order.
    std::vector<bool> input_paired(model.inputs.size(), false);
    std::vector<std::size_t> unpaired_outputs;
    for (std::size_t o = 0; o < model.outputs.size(); ++o) {
        if (starter.outputs[o].role != "state")
            continue;
        bool found = false;
        for (std::size_t i = 0; i < model.inputs.size() && !found; ++i) {
            if (starter.inputs[i].role == "state" && !input_paired[i] &&
                state_key(model.inputs[i].name) == state_key(model.outputs[o].name)) {
                input_paired[i] = found = true;
                starter.state_pairs.emplace_back(model.outputs[o].name, model.inputs[i].name);
            }
        }
        if (!found)
            unpaired_outputs.push_back(o);
    }
    for (const std::size_t o : unpaired_outputs) {
        bool found = false;
        for (std::size_t i = 0; i < model.inputs.size() && !found; ++i) {
            if (starter.inputs[i].role == "state" && !input_paired[i]) {
                input_paired[i] = found = true;
                starter.state_pairs.emplace_back(model.outputs[o].name, model.inputs[i].name);
            }
        }
        if (!found)
            starter.remarks.push_back("state output '" + model.outputs[o].name +
                                      "' has no state input to pair with: check its role");
    }
    for (std::size_t i = 0; i < model.inputs.size(); ++i)
        if (starter.inputs[i].role == "state" && !input_paired[i])
            starter.remarks.push_back("state input '" + model.inputs[i].name +
                                      "' has no state output to pair with: check its role");

    // Past context: sliding windows need window_length - 1 samples before the hop; otherwise
    // a model whose fixed input is longer than its output consumes the difference.
    const auto first_audio = [](const std::vector<Guess>& guesses) -> std::optional<std::size_t> {
        for (std::size_t k = 0; k < guesses.size(); ++k)
            if (guesses[k].role == "audio")
                return k;
        return std::nullopt;
    };
    const auto in = first_audio(starter.inputs);
    const auto out = first_audio(starter.outputs);
    if (in && starter.inputs[*in].window_length > 0) {
        starter.past_context = starter.inputs[*in].window_length - 1;
        starter.remarks.push_back("'" + model.inputs[*in].name +
                                  "' looks like a batch of sliding windows of " +
                                  std::to_string(starter.inputs[*in].window_length) +
                                  " samples: past_context = window_length - 1, window_hop 1");
    } else if (in && out && starter.inputs[*in].time && starter.outputs[*out].time) {
        const TensorDescription& input = model.inputs[*in];
        const TensorDescription& output = model.outputs[*out];
        const std::int64_t in_length = input.shape[*starter.inputs[*in].time];
        const std::int64_t out_length = output.shape[*starter.outputs[*out].time];
        const std::string in_text = dimension_text(input, *starter.inputs[*in].time);
        const std::string out_text = dimension_text(output, *starter.outputs[*out].time);
        if (in_length > 0 && out_length > 0 && in_length > out_length) {
            starter.past_context = in_length - out_length;
            starter.remarks.push_back("'" + input.name + "' has " + in_text + " samples and '" +
                                      output.name + "' " + out_text +
                                      ": past_context = the difference");
        } else if (in_length < 0 && out_length < 0 && in_text != out_text) {
            starter.remarks.push_back(
                "the time dimensions of '" + input.name + "' (" + in_text + ") and '" +
                output.name + "' (" + out_text +
                ") differ: the model probably needs past samples; set past_context to its "
                "receptive field - 1");
        }
    }
    return starter;
}

// --- JSON ----------------------------------------------------------------------------------

Json shape_json(const TensorDescription& tensor) {
    return tensor.shape_known ? Json(tensor.shape) : Json(nullptr);
}

Json description_json(const std::string& file, const ModelDescription& model) {
    auto tensors = [](const std::vector<TensorDescription>& list) {
        Json array = Json::array();
        for (const auto& tensor : list) {
            Json entry{{"name", tensor.name},
                       {"shape", shape_json(tensor)},
                       {"element_type", tensor.element_type}};
            if (!tensor.dimension_names.empty())
                entry["dimension_names"] = tensor.dimension_names;
            array.push_back(std::move(entry));
        }
        return array;
    };
    Json j{{"file", file},
           {"engine", model.engine},
           {"format_details", model.format_details},
           {"inputs", tensors(model.inputs)},
           {"outputs", tensors(model.outputs)},
           {"notes", model.notes}};
    if (const auto rate = model.sample_rate) {
        if (*rate == std::floor(*rate) && *rate < 1e9)
            j["sample_rate"] = static_cast<std::int64_t>(*rate);  // 48000, not 48000.0
        else
            j["sample_rate"] = *rate;
    }
    if (!model.metadata.empty()) {
        Json metadata = Json::object();
        for (const auto& [key, value] : model.metadata)
            metadata[key] = value;
        j["metadata"] = std::move(metadata);
    }
    return j;
}

Json starter_config(const std::filesystem::path& file, const InfoOptions& options,
                    const ModelDescription& model, const Starter& starter) {
    Json engine{{"engine", model.engine}, {"model", file.filename().string()}};
    if (!options.entry_point.empty())
        engine["entry_point"] = options.entry_point;
    // A plain audio input with a fixed time dimension is the window: the hop is what is left
    // of it after the past context, and every shape stays as the model fixes it.
    std::optional<std::int64_t> fixed_hop;
    for (std::size_t k = 0; k < model.inputs.size(); ++k) {
        const Guess& guess = starter.inputs[k];
        if (guess.role != "audio")
            continue;
        if (guess.time && guess.window_length == 0 && model.inputs[k].shape[*guess.time] > 0)
            fixed_hop = model.inputs[k].shape[*guess.time] - starter.past_context;
        break;
    }
    auto tensors = [&](const std::vector<TensorDescription>& list,
                       const std::vector<Guess>& guesses, bool input) {
        Json array = Json::array();
        for (std::size_t k = 0; k < list.size(); ++k) {
            const TensorDescription& tensor = list[k];
            const Guess& guess = guesses[k];
            Json shape = shape_json(tensor);
            if (guess.time && !fixed_hop)
                shape[*guess.time] = -1;  // follows the hop (and past_context)
            const std::int64_t hop = fixed_hop.value_or(suggested_hop);
            Json entry{{"name", tensor.name}, {"role", guess.role}, {"shape", shape}};
            if (guess.role == "audio") {
                entry["channels"] = guess.channels;
                entry["hop"] = hop;
                if (input)
                    entry["past_context"] = starter.past_context;
                entry["layout"] = guess.layout;
                if (guess.window_length > 0) {
                    entry["window_length"] = guess.window_length;
                    entry["window_hop"] = 1;
                }
            } else if (guess.role == "parameter" && input) {
                entry["default"] = 0.0;
                entry["range"] = {0.0, 1.0};
                entry["label"] = tensor.name;
            }
            array.push_back(std::move(entry));
        }
        return array;
    };
    Json config{
        {"name", file.stem().string()},
        {"description", "Starter config written by `legato info " + file.filename().string() +
                            "`: check the roles, shapes, hop and past_context"},
        {"engines", Json::array({engine})},
        {"inputs", tensors(model.inputs, starter.inputs, true)},
        {"outputs", tensors(model.outputs, starter.outputs, false)}};
    if (!starter.state_pairs.empty()) {
        Json pairs = Json::array();
        for (const auto& [output, input] : starter.state_pairs)
            pairs.push_back(Json{{"output", output}, {"input", input}});
        config["state_pairs"] = std::move(pairs);
    }
    config["stateful"] = !starter.state_pairs.empty() || !model.assigned_attributes.empty();
    config["max_inference_time_ms"] = "measure";
    return config;
}

// Like dump(2), but a value that fits on the rest of the line stays on it ("shape": [1, 1, -1]
// rather than one number per line), as people write configs by hand.
std::string compact(const Json& value) {
    std::string text;
    if (value.is_array()) {
        for (const auto& element : value)
            text += (text.empty() ? "" : ", ") + compact(element);
        return "[" + text + "]";
    }
    if (value.is_object()) {
        for (const auto& [key, element] : value.items())
            text += (text.empty() ? "" : ", ") + Json(key).dump() + ": " + compact(element);
        return "{" + text + "}";
    }
    return value.dump();
}

std::string pretty(const Json& value, std::size_t indent = 0, std::size_t used = 0) {
    constexpr std::size_t width = 100;
    const std::string flat = compact(value);
    if (!value.is_structured() || value.empty() || indent + used + flat.size() <= width)
        return flat;
    const std::string inner(indent + 2, ' ');
    std::string text = value.is_array() ? "[\n" : "{\n";
    bool first = true;
    for (const auto& [key, element] : value.items()) {
        text += first ? "" : ",\n";
        first = false;
        const std::string label = value.is_object() ? Json(key).dump() + ": " : "";
        text += inner + label + pretty(element, indent + 2, label.size());
    }
    return text + "\n" + std::string(indent, ' ') + (value.is_array() ? "]" : "}");
}

// --- Text ----------------------------------------------------------------------------------

std::string shape_text(const TensorDescription& tensor) {
    if (!tensor.shape_known)
        return "unknown";
    std::string text;
    for (std::size_t d = 0; d < tensor.shape.size(); ++d)
        text += (d > 0 ? ", " : "") + dimension_text(tensor, d);
    return "[" + text + "]";
}

void print_table(const char* title, const std::vector<TensorDescription>& tensors,
                 const std::vector<Guess>& guesses, const char* role_header = "role (guess)") {
    std::printf("%s:\n", title);
    if (tensors.empty()) {
        std::printf("  none\n");
        return;
    }
    std::vector<std::vector<std::string>> rows{{"name", role_header, "shape", "type"}};
    for (std::size_t k = 0; k < tensors.size(); ++k)
        rows.push_back(
            {tensors[k].name, guesses[k].role, shape_text(tensors[k]), tensors[k].element_type});
    std::vector<std::size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], row[c].size());
    for (const auto& row : rows) {
        std::string line = " ";
        for (std::size_t c = 0; c < row.size(); ++c)
            line += " " + row[c] +
                    (c + 1 < row.size() ? std::string(widths[c] - row[c].size() + 1, ' ') : "");
        std::printf("%s\n", line.c_str());
    }
}

// Streams the starter config (stream_check.hpp) and applies what it finds: stateful when the
// model keeps hidden state, the past context its receptive field needs. Remarks say so.
void refine_by_streaming(const std::filesystem::path& file, Json& config, Starter& starter) {
    ModelConfig parsed;
    try {
        parsed =
            parse_model_config(pretty(config), file.parent_path(), false, file.filename().string());
    } catch (const Error& e) {
        starter.remarks.push_back("not checked by streaming (the guesses are incomplete): " +
                                  std::string(e.what()));
        return;
    }
    // Shorter than `legato check`'s: enough to find hidden state and the receptive field of a
    // starter config. (It did not measurably shorten info_config_test under ASan: loading the
    // engines and the probe's long windows dominate.)
    StreamCheckOptions options;
    options.signal_length = 6000;
    options.max_probe_past = 4096;
    StreamReport report;
    try {
        report = check_stream(parsed, options);
    } catch (const Error& e) {  // an engine failing mid-check: the guesses stand, unchecked
        starter.remarks.push_back("streaming it failed: " + std::string(e.what()));
        return;
    }
    if (!report.fatal.empty()) {
        starter.remarks.push_back("streaming it failed: " + report.fatal);
        return;
    }
    if (report.hidden_state) {
        config["stateful"] = true;
        starter.remarks.push_back(
            "streamed: the model keeps state between inferences, so \"stateful\": true");
    }
    if (report.receptive_field_past) {
        const auto& fixed = report.fixed.inference;
        for (std::size_t i = 0; i < fixed.inputs.size() && i < config["inputs"].size(); ++i)
            if (fixed.inputs[i].role == TensorRole::audio)
                config["inputs"][i]["past_context"] = fixed.inputs[i].past_context;
        for (std::size_t o = 0; o < fixed.outputs.size() && o < config["outputs"].size(); ++o)
            if (fixed.outputs[o].role == TensorRole::audio && fixed.outputs[o].past_context > 0)
                config["outputs"][o]["past_context"] = fixed.outputs[o].past_context;
        starter.remarks.push_back("streamed: past_context " +
                                  std::to_string(*report.receptive_field_past) +
                                  " is what the model's receptive field needs (probed)");
    }
    for (const auto& finding : report.findings)
        if (finding.fix.empty())
            starter.remarks.push_back("streamed: " + finding.problem);
}

// --- Native model files: the config derived from them ---------------------------------------

std::string fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

// Where "inline": "auto" puts the model, decided as prepare() decides it (by measuring), at
// `legato run`'s default block and the model's sample rate.
std::string inline_verdict(const ModelConfig& config) {
    HostConfig host;
    host.sample_rate = config.sample_rate.value_or(48000.0);
    host.max_block_size = verdict_block;
    const double block_ms = static_cast<double>(verdict_block) * 1000.0 / host.sample_rate;
    const std::string at = "at blocks of " + std::to_string(verdict_block) + " frames at " +
                           fixed(host.sample_rate, 0) + " Hz (" + fixed(block_ms, 3) + " ms)";
    const double budget_pct = config.inference.inline_budget * 100.0;
    try {
        InferenceHandler handler(config.inference, Context::shared(config.context));
        handler.prepare(host);
        if (handler.runs_inline()) {
            const double cost_ms = handler.max_inference_time_ms();
            return "\"inline\": \"auto\" runs it inline, on the audio thread, with latency 0 " +
                   at + ": a block costs " + fixed(cost_ms, 4) + " ms, " +
                   fixed(100.0 * cost_ms / block_ms, 1) + " % of the block (budget " +
                   fixed(budget_pct, 0) + " %; measured here, now)";
        }
        std::string verdict = "\"inline\": \"auto\" runs it on the worker pool " + at +
                              ", with latency " + std::to_string(handler.latency()) + " samples";
        // Why not inline: its cost, measured as "always" would run it.
        InferenceConfig always = config.inference;
        always.inline_mode = InlineMode::always;
        InferenceHandler inline_handler(always, Context::shared(config.context));
        inline_handler.prepare(host);
        const double cost_ms = inline_handler.max_inference_time_ms();
        return verdict + ": inline, a block costs " + fixed(cost_ms, 4) + " ms, " +
               fixed(100.0 * cost_ms / block_ms, 1) + " % of the block, above the budget of " +
               fixed(budget_pct, 0) + " % (measured here, now)";
    } catch (const Error& e) {
        return "\"inline\": \"auto\" " + at + ": " + e.what();
    }
}

// A NAM or RTNeural JSON file: the engine's description, then the config `legato run`, `bench`
// and `check` derive from the file (legato/model_file_config.hpp) instead of a starter config.
int run_native_info(const InfoOptions& options) {
    const std::filesystem::path file = options.model;
    ModelDescription model;
    std::string derived;
    ModelConfig config;
    try {
        model = make_backend("native")->describe(ModelSource::file(file), options.entry_point);
        derived = native_model_config_json(file);
        config = native_model_config(file);
    } catch (const Error& e) {
        std::fprintf(stderr, "legato info: %s\n", e.what());
        return exit_engine;
    }
    if (options.json) {
        std::printf("%s\n", pretty(description_json(options.model, model)).c_str());
        return exit_ok;
    }
    const std::string config_text = pretty(Json::parse(derived));
    if (options.config_only) {
        std::printf("%s\n", config_text.c_str());
        return exit_ok;
    }
    std::printf("%s: %s\n%s\n\n", options.model.c_str(), model.engine.c_str(),
                model.format_details.c_str());
    const Starter starter = guess(model);
    // The native engine's tensors are one audio input and output: nothing is guessed.
    print_table("Inputs", model.inputs, starter.inputs, "role");
    print_table("Outputs", model.outputs, starter.outputs, "role");
    if (!model.notes.empty()) {
        std::printf("\nNotes:\n");
        for (const auto& note : model.notes)
            std::printf("  - %s\n", note.c_str());
    }
    std::printf(
        "\nConfig derived from the model file (what `legato run`, `bench` and `check` use when "
        "given %s in place of a config):\n",
        file.filename().string().c_str());
    std::printf(
        "  - \"stateful\": true: the model carries its recurrent and convolution state from "
        "hop to hop, and keeps its own history (no past context)\n");
    if (config.sample_rate)
        std::printf("  - \"sample_rate\": %s, as the file states\n",
                    fixed(*config.sample_rate, 0).c_str());
    else
        std::printf("  - the file states no sample rate: the config accepts any rate\n");
    std::printf("  - %s\n", inline_verdict(config).c_str());
    std::printf("  - hop %zu matters only on the pool, where the latency grows with it\n",
                native_model_config_hop);
    std::printf("%s\n", config_text.c_str());
    return exit_ok;
}

int run_info(const InfoOptions& options) {
    const std::filesystem::path file = options.model;
    // A file no engine reads by its name may hold an RTNeural model (told by content); it and
    // .nam files are native models, whose config is derived rather than guessed.
    const std::string engine = engine_for_model_file(file);
    std::error_code error;
    if (engine.empty() && std::filesystem::exists(file, error)) {
        try {
            if (config_file_kind(file) == ConfigFileKind::native_model)
                return run_native_info(options);
        } catch (const Error& e) {
            std::fprintf(stderr, "legato info: %s\n", e.what());
            return exit_input;
        }
    } else if (engine.empty()) {
        std::fprintf(stderr, "legato info: model file not found: %s\n", file.string().c_str());
        return exit_input;
    }
    // A file that is not there, or not a model by its name, is the user's input; everything
    // after that is the engine's verdict on the model.
    if (const std::string problem = model_file_problem(file); !problem.empty()) {
        // A file no engine reads by its name may still be an RTNeural model (told by content).
        const char* rtneural = engine_for_model_file(file).empty()
                                   ? "; or an RTNeural JSON model (native; a Legato config is "
                                     "not a model file)"
                                   : "";
        std::fprintf(stderr, "legato info: %s%s\n", problem.c_str(), rtneural);
        return exit_input;
    }
    if (engine == "native")
        return run_native_info(options);
    ModelDescription model;
    try {
        model = describe_model(file, options.entry_point);
    } catch (const Error& e) {
        std::fprintf(stderr, "legato info: %s\n", e.what());
        return exit_engine;
    }

    if (options.json) {
        std::printf("%s\n", pretty(description_json(options.model, model)).c_str());
        return exit_ok;
    }
    Starter starter = guess(model);
    Json starter_json = starter_config(file, options, model, starter);
    refine_by_streaming(file, starter_json, starter);
    const std::string config = pretty(starter_json);
    if (options.config_only) {
        std::printf("%s\n", config.c_str());
        return exit_ok;
    }

    std::printf("%s: %s\n%s\n\n", options.model.c_str(), model.engine.c_str(),
                model.format_details.c_str());
    print_table("Inputs", model.inputs, starter.inputs);
    print_table("Outputs", model.outputs, starter.outputs);
    if (!model.notes.empty()) {
        std::printf("\nNotes:\n");
        for (const auto& note : model.notes)
            std::printf("  - %s\n", note.c_str());
    }
    std::printf(
        "\nStarter config (roles, hop and past_context are guesses: check them against the "
        "model):\n");
    for (const auto& remark : starter.remarks)
        std::printf("  - %s\n", remark.c_str());
    std::printf("  - hop %lld is a suggestion: a smaller hop lowers latency and costs more CPU\n",
                static_cast<long long>(suggested_hop));
    if (!model.inputs.empty() && !model.inputs.front().shape_known)
        std::printf("  - the file keeps no shapes: replace every \"shape\": null\n");
    std::printf("  - \"max_inference_time_ms\": \"measure\" times the model when it is prepared\n");
    std::printf("%s\n", config.c_str());
    return exit_ok;
}

}  // namespace

StarterConfig make_starter_config(const std::filesystem::path& model,
                                  const std::string& entry_point, bool refine) {
    if (const std::string problem = model_file_problem(model); !problem.empty())
        throw Error(problem);
    const ModelDescription description = describe_model(model, entry_point);
    InfoOptions options;
    options.model = model.string();
    options.entry_point = entry_point;
    Starter starter = guess(description);
    Json config = starter_config(model, options, description, starter);
    if (refine)
        refine_by_streaming(model, config, starter);
    return {pretty(config), starter.remarks};
}

std::function<int()> add_info_command(CLI::App& app) {
    auto options = std::make_shared<InfoOptions>();
    CLI::App* info = app.add_subcommand(
        "info", "Show a model file's inputs and outputs and print a starter config for it");
    // Not CLI::ExistingFile: a missing model is exit_input (3), not a usage error (2).
    info->add_option("model", options->model,
                     "Model file: .onnx/.ort (ONNX Runtime), .pt/.pth/.torchscript (LibTorch), "
                     ".tflite (TensorFlow Lite), .nam or RTNeural JSON (native)")
        ->required();
    info->add_option("--entry-point", options->entry_point,
                     "TorchScript method to describe (default: forward)");
    CLI::Option* json =
        info->add_flag("--json", options->json, "Print only the model's description, as JSON");
    CLI::Option* config_only = info->add_flag("--config-only", options->config_only,
                                              "Print only the starter config (JSON)");
    json->excludes(config_only);
    return [options] { return run_info(*options); };
}

}  // namespace legato::cli
