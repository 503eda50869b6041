#include "engines/native/nam_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engines/native/nam_lstm.hpp"
#include "engines/native/nam_slimmable.hpp"
#include "engines/native/nam_wavenet.hpp"
#include "legato/error.hpp"

namespace legato::native {

namespace nam {

namespace {

using nlohmann::json;

// A JSON value with its path, so that every complaint names the field ("config.layers[0]
// .channels is missing").
class Node {
public:
    Node(const json& value, std::string path, const std::string& where)
        : value_(&value), path_(std::move(path)), where_(&where) {}

    const json& value() const { return *value_; }
    const std::string& path() const { return path_; }
    const std::string& where() const { return *where_; }

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(*where_ + ": " + (path_.empty() ? "the file" : path_) + " " + what);
    }

    /// The member `key`, absent or null: nullopt.
    std::optional<Node> find(const std::string& key) const {
        expect_object();
        const auto it = value_->find(key);
        if (it == value_->end() || it->is_null())
            return std::nullopt;
        return Node(*it, child(key), *where_);
    }

    Node at(const std::string& key) const {
        std::optional<Node> member = find(key);
        if (!member)
            throw Error(*where_ + ": " + child(key) + " is missing");
        return *member;
    }

    std::size_t size() const {
        if (!value_->is_array())
            fail("must be an array, not " + type());
        return value_->size();
    }

    Node operator[](std::size_t i) const {
        return Node((*value_)[i], path_ + "[" + std::to_string(i) + "]", *where_);
    }

    bool is_array() const { return value_->is_array(); }
    bool is_object() const { return value_->is_object(); }
    bool is_string() const { return value_->is_string(); }

    double number() const {
        if (!value_->is_number())
            fail("must be a number, not " + type());
        return value_->get<double>();
    }

    std::int64_t integer() const {
        const double v = number();
        if (v != std::floor(v) || std::fabs(v) > 1e15)
            fail("must be an integer, not " + value_->dump());
        return static_cast<std::int64_t>(v);
    }

    /// An integer >= `least` (sizes, counts).
    std::size_t count(std::int64_t least = 1) const {
        const std::int64_t v = integer();
        if (v < least)
            fail("must be at least " + std::to_string(least) + ", not " + std::to_string(v));
        if (v > 1'000'000)
            fail("is implausibly large (" + std::to_string(v) + ")");
        return static_cast<std::size_t>(v);
    }

    bool boolean() const {
        if (!value_->is_boolean())
            fail("must be true or false, not " + type());
        return value_->get<bool>();
    }

    std::string string() const {
        if (!value_->is_string())
            fail("must be a string, not " + type());
        return value_->get<std::string>();
    }

private:
    std::string child(const std::string& key) const {
        return path_.empty() ? key : path_ + "." + key;
    }
    void expect_object() const {
        if (!value_->is_object())
            fail("must be an object, not " + type());
    }
    std::string type() const { return value_->type_name(); }

    const json* value_;
    std::string path_;
    const std::string* where_;
};

std::size_t optional_count(const Node& parent, const std::string& key, std::size_t fallback) {
    const std::optional<Node> member = parent.find(key);
    return member ? member->count() : fallback;
}

bool optional_bool(const Node& parent, const std::string& key, bool fallback) {
    const std::optional<Node> member = parent.find(key);
    return member ? member->boolean() : fallback;
}

std::string format_number(const json& v) {
    return v.dump();  // shortest round-trip text, as the file has it
}

// Version and metadata =======================================================================

void check_version(const Node& object) {
    const Node version = object.at("version");
    const std::string text = version.string();
    int major = -1, minor = -1, patch = -1;
    char tail = 0;
    std::istringstream in(text);
    char dot1 = 0, dot2 = 0;
    in >> major >> dot1 >> minor >> dot2 >> patch;
    if (!in || dot1 != '.' || dot2 != '.' || (in >> tail) || major < 0 || minor < 0 || patch < 0)
        version.fail("'" + text + "' is not a version (major.minor.patch)");
    if (major != 0 || minor < 5 || minor > 7)
        version.fail("'" + text + "' is not supported (supported: NAM file versions 0.5 to 0.7)");
}

// The facts of a NAM object for ModelInfo: version, sample rate, the metadata's scalars.
ModelInfo describe_object(const Node& object) {
    ModelInfo info;
    info.format = "nam";
    if (const std::optional<Node> rate = object.find("sample_rate")) {
        info.sample_rate = rate->number();
        if (!(info.sample_rate > 0.0) || !std::isfinite(info.sample_rate))
            rate->fail("must be a positive number of Hz, not " + rate->value().dump());
    }
    if (const std::optional<Node> version = object.find("version"))
        info.metadata.emplace_back("version", version->string());
    const std::optional<Node> metadata = object.find("metadata");
    if (!metadata || !metadata->is_object())
        return info;
    for (auto it = metadata->value().begin(); it != metadata->value().end(); ++it) {
        const std::string& key = it.key();
        const json& value = it.value();
        if (value.is_string())
            info.metadata.emplace_back(key, value.get<std::string>());
        else if (value.is_number() || value.is_boolean())
            info.metadata.emplace_back(key, format_number(value));
        else if (key == "date" && value.is_object()) {
            auto part = [&value](const char* name) {
                const auto field = value.find(name);
                const long v = field != value.end() && field->is_number() ? field->get<long>() : 0;
                return (v < 10 ? "0" : "") + std::to_string(v);
            };
            info.metadata.emplace_back("date", part("year") + "-" + part("month") + "-" +
                                                   part("day") + " " + part("hour") + ":" +
                                                   part("minute") + ":" + part("second"));
        }
    }
    return info;
}

// The weights array as floats, refusing what is not finite in float (NaN, or a value such as
// 1e39 that overflows float: upstream would run it and output NaN or Inf).
WeightCursor read_weights(const Node& object, const std::string& prefix) {
    const Node list = object.at("weights");
    const std::size_t n = list.size();
    std::vector<float> weights(n);
    for (std::size_t i = 0; i < n; ++i) {
        const json& v = list.value()[i];
        const std::string at = prefix + "weights[" + std::to_string(i) + "]";
        if (!v.is_number())
            throw Error(object.where() + ": " + at + " must be a number, not " + v.type_name());
        const double d = v.get<double>();
        const float f = static_cast<float>(d);
        if (std::isnan(d))
            throw Error(object.where() + ": " + at + " is NaN");
        if (!std::isfinite(f))
            throw Error(object.where() + ": " + at + " is " + format_number(v) +
                        ", infinite as a float");
        weights[i] = f;
    }
    return WeightCursor(std::move(weights), object.where() + ": " + prefix + "weights");
}

std::unique_ptr<NamModel> build(const Node& object, const std::string& prefix,
                                const NamOptions& options);

// LSTM =======================================================================================

std::unique_ptr<NamModel> build_lstm(const Node& object, const std::string& prefix,
                                     ModelInfo info) {
    const Node config = object.at("config");
    LstmConfig c;
    c.num_layers = config.at("num_layers").count(0);
    c.input_size = config.at("input_size").count();
    c.hidden_size = config.at("hidden_size").count();
    c.in_channels = optional_count(config, "in_channels", 1);
    c.out_channels = optional_count(config, "out_channels", 1);
    if (c.input_size < c.in_channels)
        config.at("input_size")
            .fail("(" + std::to_string(c.input_size) + ") must be at least in_channels (" +
                  std::to_string(c.in_channels) + ")");
    info.architecture =
        "NAM LSTM: " + std::to_string(c.num_layers) + " layer" + (c.num_layers == 1 ? "" : "s") +
        ", hidden " + std::to_string(c.hidden_size) + ", input " + std::to_string(c.input_size) +
        ", linear head " + std::to_string(c.hidden_size) + "->" + std::to_string(c.out_channels);
    WeightCursor weights = read_weights(object, prefix);
    return std::make_unique<LstmModel>(c, weights, std::move(info));
}

// WaveNet configuration ======================================================================

NamActivation parse_activation(const Node& node) {
    using Kind = NamActivation::Kind;
    static const std::pair<const char*, Kind> kNames[] = {
        {"Tanh", Kind::tanh},
        {"Hardtanh", Kind::hard_tanh},
        {"Fasttanh", Kind::fast_tanh},
        {"ReLU", Kind::relu},
        {"LeakyReLU", Kind::leaky_relu},
        {"PReLU", Kind::prelu},
        {"Sigmoid", Kind::sigmoid},
        {"SiLU", Kind::silu},
        {"Hardswish", Kind::hardswish},
        {"LeakyHardtanh", Kind::leaky_hard_tanh},
        {"LeakyHardTanh", Kind::leaky_hard_tanh},
        {"Softsign", Kind::softsign},
    };
    const bool is_object = node.is_object();
    const std::string name = is_object ? node.at("type").string() : node.string();
    NamActivation a;
    const auto* found = std::find_if(std::begin(kNames), std::end(kNames),
                                     [&](const auto& entry) { return name == entry.first; });
    if (found == std::end(kNames))
        node.fail("names an unknown activation '" + name +
                  "' (known: Tanh, Hardtanh, Fasttanh, ReLU, LeakyReLU, PReLU, Sigmoid, SiLU, "
                  "Hardswish, LeakyHardtanh, Softsign)");
    a.kind = found->second;
    a.name = name;
    auto finite = [](const Node& v) {
        const float f = static_cast<float>(v.number());
        if (!std::isfinite(f))
            v.fail("is not finite as a float");
        return f;
    };
    auto param = [&](const char* key, float fallback) {
        if (!is_object)
            return fallback;
        const std::optional<Node> v = node.find(key);
        return v ? finite(*v) : fallback;
    };
    if (a.kind == Kind::leaky_relu || a.kind == Kind::prelu) {
        a.slopes = {param("negative_slope", 0.01f)};
        if (a.kind == Kind::prelu && is_object && !node.find("negative_slope"))
            if (const std::optional<Node> slopes = node.find("negative_slopes")) {
                a.slopes.clear();
                for (std::size_t i = 0; i < slopes->size(); ++i)
                    a.slopes.push_back(finite((*slopes)[i]));
                if (a.slopes.empty())
                    slopes->fail("must not be empty");
            }
    } else if (a.kind == Kind::leaky_hard_tanh) {
        a.min_val = param("min_val", -1.0f);
        a.max_val = param("max_val", 1.0f);
        a.min_slope = param("min_slope", 0.01f);
        a.max_slope = param("max_slope", 0.01f);
    } else if (a.kind == Kind::softsign && param("alpha", 1.0f) != 1.0f) {
        node.at("alpha").fail("other than 1 is not supported");
    }
    return a;
}

constexpr std::size_t kMaxLookback = std::size_t{1} << 20;  // frames, ~22 s at 48 kHz
constexpr std::size_t kMaxValues = std::size_t{1} << 26;    // floats in one history

// A PReLU with one slope per channel must meet exactly that many channels.
void check_slopes(const NamActivation& a, std::size_t channels, const Node& node) {
    if (a.kind == NamActivation::Kind::prelu && a.slopes.size() != 1 && a.slopes.size() != channels)
        node.fail("is a PReLU with " + std::to_string(a.slopes.size()) + " negative_slopes for " +
                  std::to_string(channels) + " channels");
}

// `key` as one value for every layer, or an array of one per layer.
template <typename T, typename Parse>
std::vector<T> per_layer(const Node& layer_array, const std::string& key, std::size_t layers,
                         Parse parse) {
    const Node node = layer_array.at(key);
    if (!node.is_array())
        return std::vector<T>(layers, parse(node));
    if (node.size() != layers)
        node.fail("has " + std::to_string(node.size()) + " entries for " + std::to_string(layers) +
                  " layers (config dilations)");
    std::vector<T> out;
    for (std::size_t i = 0; i < layers; ++i)
        out.push_back(parse(node[i]));
    return out;
}

Gating parse_gating(const Node& node) {
    const std::string mode = node.string();
    if (mode == "none")
        return Gating::none;
    if (mode == "gated")
        return Gating::gated;
    if (mode == "blended")
        return Gating::blended;
    node.fail("is '" + mode + "' (known: none, gated, blended)");
}

FilmConfig parse_film(const Node& layer_array, const std::string& key) {
    FilmConfig film;
    const std::optional<Node> node = layer_array.find(key);
    if (!node || (node->value().is_boolean() && !node->boolean()))
        return film;
    film.active = optional_bool(*node, "active", true);
    film.shift = optional_bool(*node, "shift", true);
    film.groups = optional_count(*node, "groups", 1);
    return film;
}

void check_groups(const Node& where, std::size_t groups, std::size_t in, std::size_t out) {
    if (in % groups != 0 || out % groups != 0)
        where.fail("(" + std::to_string(groups) + " groups) must divide both " +
                   std::to_string(in) + " inputs and " + std::to_string(out) + " outputs");
}

LayerArrayConfig parse_layer_array(const Node& node) {
    LayerArrayConfig c;
    c.input_size = node.at("input_size").count();
    c.condition_size = node.at("condition_size").count();
    c.channels = node.at("channels").count();
    c.bottleneck = optional_count(node, "bottleneck", c.channels);
    if (const std::optional<Node> head = node.find("head")) {  // trainer export
        c.head_size = head->at("out_channels").count();
        c.head_kernel_size = head->at("kernel_size").count();
        c.head_bias = head->at("bias").boolean();
    } else {  // legacy: head_size + head_bias, kernel 1
        c.head_size = node.at("head_size").count();
        c.head_bias = node.at("head_bias").boolean();
    }
    const Node dilations = node.at("dilations");
    const std::size_t layers = dilations.size();
    if (layers == 0)
        dilations.fail("must name at least one layer");
    for (std::size_t i = 0; i < layers; ++i)
        c.dilations.push_back(dilations[i].count());
    const std::optional<Node> kernel = node.find("kernel_size");
    const std::optional<Node> kernels = node.find("kernel_sizes");
    if (kernel && kernels)
        kernels->fail("and kernel_size are both given; give one");
    if (!kernel && !kernels)
        node.at("kernel_size");  // throws "... is missing"
    c.kernel_sizes = per_layer<std::size_t>(node, kernel ? "kernel_size" : "kernel_sizes", layers,
                                            [](const Node& n) { return n.count(); });
    c.activations = per_layer<NamActivation>(node, "activation", layers, parse_activation);
    // Bound what a small file can make us allocate for a layer's history (channels x
    // look-back); WaveNetModel bounds the convolutions.
    for (std::size_t l = 0; l < layers; ++l) {
        const std::size_t lookback = (c.kernel_sizes[l] - 1) * c.dilations[l];
        if (lookback > kMaxLookback || c.channels * (lookback + 1) > kMaxValues)
            dilations[l].fail("with kernel size " + std::to_string(c.kernel_sizes[l]) + " and " +
                              std::to_string(c.channels) +
                              " channels is beyond what the native engine runs");
    }

    // Gating: gating_mode (one or per layer, with secondary_activation defaulting to
    // Sigmoid), or the legacy boolean "gated" (Sigmoid).
    NamActivation sigmoid;
    sigmoid.kind = NamActivation::Kind::sigmoid;
    sigmoid.name = "Sigmoid";
    c.secondary.assign(layers, sigmoid);
    if (node.find("gating_mode")) {
        c.gating = per_layer<Gating>(node, "gating_mode", layers, parse_gating);
        if (const std::optional<Node> secondary = node.find("secondary_activation")) {
            if (secondary->is_array() && secondary->size() != layers)
                secondary->fail("has " + std::to_string(secondary->size()) + " entries for " +
                                std::to_string(layers) + " layers");
            for (std::size_t i = 0; i < layers; ++i)
                if (c.gating[i] != Gating::none)
                    c.secondary[i] =
                        parse_activation(secondary->is_array() ? (*secondary)[i] : *secondary);
        }
    } else {
        const bool gated = optional_bool(node, "gated", false);
        c.gating.assign(layers, gated ? Gating::gated : Gating::none);
    }

    c.groups_input = optional_count(node, "groups_input", 1);
    c.groups_input_mixin = optional_count(node, "groups_input_mixin", 1);
    if (const std::optional<Node> layer1x1 = node.find("layer1x1")) {
        c.layer1x1 = optional_bool(*layer1x1, "active", true);
        c.layer1x1_groups = optional_count(*layer1x1, "groups", 1);
    }
    if (const std::optional<Node> head1x1 = node.find("head1x1")) {
        c.head1x1 = optional_bool(*head1x1, "active", false);
        c.head1x1_out = optional_count(*head1x1, "out_channels", c.channels);
        c.head1x1_groups = optional_count(*head1x1, "groups", 1);
    }
    c.conv_pre_film = parse_film(node, "conv_pre_film");
    c.conv_post_film = parse_film(node, "conv_post_film");
    c.input_mixin_pre_film = parse_film(node, "input_mixin_pre_film");
    c.input_mixin_post_film = parse_film(node, "input_mixin_post_film");
    c.activation_pre_film = parse_film(node, "activation_pre_film");
    c.activation_post_film = parse_film(node, "activation_post_film");
    c.layer1x1_post_film = parse_film(node, "layer1x1_post_film");
    c.head1x1_post_film = parse_film(node, "head1x1_post_film");

    // Shapes upstream would refuse (or misread).
    if (!c.layer1x1 && c.bottleneck != c.channels)
        node.at("bottleneck")
            .fail("(" + std::to_string(c.bottleneck) +
                  ") must equal channels when layer1x1 is inactive");
    if (!c.layer1x1 && c.layer1x1_post_film.active)
        node.at("layer1x1_post_film").fail("cannot be active when layer1x1 is inactive");
    if (!c.head1x1 && c.head1x1_post_film.active)
        node.at("head1x1_post_film").fail("cannot be active when head1x1 is inactive");
    const std::size_t cond = c.condition_size;
    for (std::size_t l = 0; l < layers; ++l) {
        const std::size_t z = c.z_rows(l);
        if (node.find("groups_input"))
            check_groups(node.at("groups_input"), c.groups_input, c.channels, z);
        if (node.find("groups_input_mixin"))
            check_groups(node.at("groups_input_mixin"), c.groups_input_mixin, cond, z);
        const Node activation = node.at("activation");
        check_slopes(c.activations[l], c.bottleneck,
                     activation.is_array() ? activation[l] : activation);
        if (const std::optional<Node> secondary = node.find("secondary_activation");
            secondary && c.gating[l] != Gating::none)
            check_slopes(c.secondary[l], c.bottleneck,
                         secondary->is_array() ? (*secondary)[l] : *secondary);
        auto film_groups = [&](const FilmConfig& film, const char* key, std::size_t dim) {
            if (film.active)
                check_groups(node.at(key), film.groups, cond, (film.shift ? 2 : 1) * dim);
        };
        film_groups(c.conv_pre_film, "conv_pre_film", c.channels);
        film_groups(c.conv_post_film, "conv_post_film", z);
        film_groups(c.input_mixin_pre_film, "input_mixin_pre_film", cond);
        film_groups(c.input_mixin_post_film, "input_mixin_post_film", z);
        film_groups(c.activation_pre_film, "activation_pre_film", z);
        film_groups(c.activation_post_film, "activation_post_film", c.bottleneck);
        film_groups(c.layer1x1_post_film, "layer1x1_post_film", c.channels);
        film_groups(c.head1x1_post_film, "head1x1_post_film", c.head1x1_out);
    }
    if (c.layer1x1 && node.find("layer1x1"))
        check_groups(node.at("layer1x1"), c.layer1x1_groups, c.bottleneck, c.channels);
    if (c.head1x1)
        check_groups(node.at("head1x1"), c.head1x1_groups, c.bottleneck, c.head1x1_out);
    return c;
}

// layers[].slimmable: the channel counts the array may be slimmed to (empty: none). Without
// kwargs.allowed_channels, upstream allows every count from 1 to channels.
std::vector<std::size_t> parse_slimmable(const Node& node, const LayerArrayConfig& c) {
    const std::optional<Node> slim = node.find("slimmable");
    if (!slim || !slim->is_object())
        return {};
    const std::optional<Node> method = slim->find("method");
    const std::string name = method ? method->string() : "";
    if (name.empty())
        return {};
    if (name != "slice_channels_uniform")
        method->fail("'" + name + "' is not supported (supported: slice_channels_uniform)");
    std::vector<std::size_t> counts;
    const std::optional<Node> kwargs = slim->find("kwargs");
    const std::optional<Node> allowed = kwargs ? kwargs->find("allowed_channels") : std::nullopt;
    if (!allowed) {
        for (std::size_t n = 1; n <= c.channels; ++n)
            counts.push_back(n);
        return counts;
    }
    for (std::size_t i = 0; i < allowed->size(); ++i) {
        counts.push_back((*allowed)[i].count());
        if (counts.back() == 0 || counts.back() > c.channels ||
            (i > 0 && counts.back() <= counts[i - 1]))
            allowed->fail("must ascend from 1 or more to channels (" + std::to_string(c.channels) +
                          ")");
    }
    if (counts.empty() || counts.back() != c.channels)
        allowed->fail("must end with channels (" + std::to_string(c.channels) + ")");
    return counts;
}

std::string describe_array(const LayerArrayConfig& c) {
    std::string names = c.activations[0].name;
    for (const NamActivation& a : c.activations)
        if (a.name != c.activations[0].name)
            names = "per-layer activations";
    std::string gating;
    if (std::count(c.gating.begin(), c.gating.end(), Gating::gated) > 0)
        gating = ", gated";
    if (std::count(c.gating.begin(), c.gating.end(), Gating::blended) > 0)
        gating += ", blended";
    std::string out = "in " + std::to_string(c.input_size) + ", " + std::to_string(c.channels) +
                      " ch, " + std::to_string(c.dilations.size()) + " layers, k" +
                      std::to_string(c.kernel_sizes[0]) + ", " + names + gating + ", head " +
                      std::to_string(c.head_size) + (c.head_bias ? " + bias" : "");
    if (c.bottleneck != c.channels)
        out += ", bottleneck " + std::to_string(c.bottleneck);
    return out;
}

std::unique_ptr<NamModel> build_wavenet(const Node& object, const std::string& prefix,
                                        ModelInfo info, const NamOptions& options) {
    const Node config = object.at("config");
    WaveNetConfig c;
    c.in_channels = optional_count(config, "in_channels", 1);
    const Node arrays = config.at("layers");
    if (arrays.size() == 0)
        arrays.fail("must hold at least one layer array");
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        c.arrays.push_back(parse_layer_array(arrays[i]));
        c.arrays.back().slimmable_channels = parse_slimmable(arrays[i], c.arrays.back());
        c.slimmable = c.slimmable || !c.arrays.back().slimmable_channels.empty();
    }
    config.at("head_scale").number();  // required upstream; the value used is the last weight

    std::string condition_text;
    if (const std::optional<Node> condition = config.find("condition_dsp")) {
        c.condition_dsp = build(*condition, prefix + "config.condition_dsp.", {});
        const ModelInfo& sub = c.condition_dsp->info();
        if (sub.sample_rate != info.sample_rate)
            condition->fail("runs at " + std::to_string(sub.sample_rate) + " Hz, the model at " +
                            std::to_string(info.sample_rate) + " Hz (0: not stated)");
        if (c.condition_dsp->input_size() != c.in_channels)
            condition->fail("takes " + std::to_string(c.condition_dsp->input_size()) +
                            " inputs, the model has " + std::to_string(c.in_channels));
        condition_text = "condition_dsp (" + sub.architecture + ") -> ";
    }
    // The sizes have to chain from array to array (upstream checks some, misreads others).
    const std::size_t condition_size =
        c.condition_dsp ? c.condition_dsp->output_size() : c.in_channels;
    for (std::size_t i = 0; i < c.arrays.size(); ++i) {
        const LayerArrayConfig& a = c.arrays[i];
        const Node node = arrays[i];
        if (a.condition_size != condition_size)
            node.at("condition_size")
                .fail("(" + std::to_string(a.condition_size) + ") must be " +
                      std::to_string(condition_size) +
                      (c.condition_dsp ? " (condition_dsp outputs)" : " (in_channels)"));
        const std::size_t expected_input = i == 0 ? c.in_channels : c.arrays[i - 1].channels;
        if (a.input_size != expected_input)
            node.at("input_size")
                .fail("(" + std::to_string(a.input_size) + ") must be " +
                      std::to_string(expected_input) +
                      (i == 0 ? " (in_channels)" : " (the previous array's channels)"));
        if (i > 0 && a.head_input_size() != c.arrays[i - 1].head_size)
            node.fail("adds head inputs of width " + std::to_string(a.head_input_size()) +
                      " to the previous array's head output of width " +
                      std::to_string(c.arrays[i - 1].head_size) + " (its head_size)");
    }
    if (const std::optional<Node> head = config.find("head")) {
        PostHeadConfig h;
        h.channels = head->at("channels").count();
        h.out_channels = head->at("out_channels").count();
        const Node kernels = head->at("kernel_sizes");
        if (kernels.size() == 0)
            kernels.fail("must not be empty");
        for (std::size_t i = 0; i < kernels.size(); ++i)
            h.kernel_sizes.push_back(kernels[i].count());
        h.activation = parse_activation(head->at("activation"));
        if (h.activation.kind == NamActivation::Kind::prelu && h.activation.slopes.size() != 1)
            head->at("activation").fail("must have a single negative_slope in the head");
        const std::size_t last = c.arrays.back().head_size;
        if (const std::optional<Node> in = head->find("in_channels"); in && in->count() != last)
            in->fail("must equal the last layer array's head_size (" + std::to_string(last) + ")");
        if (c.slimmable)
            head->fail("(a post-stack head) is not supported with a slimmable WaveNet");
        c.head = h;
    }

    WeightCursor weights = read_weights(object, prefix);
    std::string size = "full size";
    if (c.slimmable) {
        info.size_breakpoints = slimmable_breakpoints(c);
        if (options.slimmable_size) {
            check_slimmable_size(*options.slimmable_size, object.where());
            const std::vector<std::size_t> channels =
                slimmable_channels(c, *options.slimmable_size);
            std::vector<std::size_t> full;
            for (const LayerArrayConfig& array : c.arrays)
                full.push_back(array.channels);
            if (channels != full) {
                std::ostringstream text;  // 3 digits, as the breakpoints in the description
                text << "size " << std::setprecision(3) << *options.slimmable_size << ": channels";
                for (std::size_t i = 0; i < channels.size(); ++i)
                    text << (i == 0 ? " " : ", ") << channels[i];
                size = text.str();
                weights =
                    slim_wavenet(c, weights, channels, object.where() + ": " + prefix + "config");
            }
        }
    }
    info.architecture = condition_text + "NAM WaveNet";
    if (c.slimmable)
        info.architecture += " (slimmable, " + size + ")";
    for (std::size_t i = 0; i < c.arrays.size(); ++i)
        info.architecture += (i == 0 ? ": [" : " -> [") + describe_array(c.arrays[i]) + "]";
    if (c.head)
        info.architecture += " -> post-stack head (" + std::to_string(c.head->kernel_sizes.size()) +
                             " convolutions, " + c.head->activation.name + ")";
    return std::make_unique<WaveNetModel>(std::move(c), weights, std::move(info));
}

// SlimmableContainer =========================================================================

std::unique_ptr<NamModel> build_container(const Node& object, const std::string& prefix,
                                          ModelInfo info, const NamOptions& options) {
    const Node submodels = object.at("config").at("submodels");
    const std::size_t n = submodels.size();
    if (n == 0)
        submodels.fail("must not be empty");
    for (std::size_t i = 0; i < n; ++i) {
        const double max_value = submodels[i].at("max_value").number();
        if (i > 0 && max_value <= submodels[i - 1].at("max_value").number())
            submodels[i].at("max_value").fail("must be larger than the previous submodel's");
        if (i + 1 == n && max_value < 1.0)
            submodels[i].at("max_value").fail("of the last submodel must be at least 1");
    }
    // Upstream's default is the last, largest submodel; a size picks the first submodel whose
    // max_value is above it (upstream's SetSlimmableSize): after every max_value at or below
    // it, the last when none is above. The max_values but the last are where it changes.
    std::vector<double> breakpoints;
    for (std::size_t i = 0; i + 1 < n; ++i)
        breakpoints.push_back(submodels[i].at("max_value").number());
    std::size_t chosen = n - 1;
    if (options.slimmable_size) {
        check_slimmable_size(*options.slimmable_size, object.where());
        chosen = static_cast<std::size_t>(
            std::upper_bound(breakpoints.begin(), breakpoints.end(), *options.slimmable_size) -
            breakpoints.begin());
    }
    const Node last = submodels[chosen].at("model");
    std::unique_ptr<NamModel> model =
        build(last, prefix + "config.submodels[" + std::to_string(chosen) + "].model.", {});
    ModelInfo& sub = model->edit_info();
    if (sub.sample_rate != 0.0 && info.sample_rate != 0.0 && sub.sample_rate != info.sample_rate)
        last.fail("runs at " + std::to_string(sub.sample_rate) + " Hz, the container at " +
                  std::to_string(info.sample_rate) + " Hz");
    info.architecture =
        "NAM SlimmableContainer, " +
        (chosen + 1 == n ? std::string("largest") : "submodel " + std::to_string(chosen + 1)) +
        " of " + std::to_string(n) + " submodels: " + sub.architecture;
    info.size_breakpoints = std::move(breakpoints);
    info.receptive_field = sub.receptive_field;
    if (info.sample_rate == 0.0)
        info.sample_rate = sub.sample_rate;
    for (const auto& entry : sub.metadata)
        if (entry.first == "prewarm_samples")
            info.metadata.push_back(entry);
    sub = std::move(info);
    return model;
}

std::unique_ptr<NamModel> build(const Node& object, const std::string& prefix,
                                const NamOptions& options) {
    if (!object.is_object())
        object.fail("must be a NAM model object");
    if (prefix.empty() || object.find("version"))
        check_version(object);
    const std::string architecture = object.at("architecture").string();
    ModelInfo info = describe_object(object);
    if (architecture == "LSTM")
        return build_lstm(object, prefix, std::move(info));
    if (architecture == "WaveNet")
        return build_wavenet(object, prefix, std::move(info), options);
    if (architecture == "SlimmableContainer")
        return build_container(object, prefix, std::move(info), options);
    throw Error(object.where() + ": " + (prefix.empty() ? "" : object.path() + ": ") +
                "unsupported NAM architecture '" + architecture +
                "' (supported: LSTM, WaveNet, SlimmableContainer)");
}

}  // namespace
}  // namespace nam

std::unique_ptr<StreamModel> load_nam(std::string_view text, const std::string& where,
                                      const NamOptions& options) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::parse_error& e) {
        // Python's json writes NaN and Infinity for such weights; they are not JSON.
        const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
        for (const char* literal : {"NaN", "Infinity", "-Infinity"}) {
            const std::string_view word(literal);
            for (std::size_t start = at >= word.size() ? at - word.size() : 0;
                 start <= at && start < text.size(); ++start)
                if (text.substr(start, word.size()) == word)
                    throw Error(where + ": holds " + std::string(word) + " at byte " +
                                std::to_string(start + 1) +
                                " (not JSON: a weight that went NaN or infinite in training?)");
        }
        throw Error(where + ": not a NAM file (not valid JSON: " + e.what() + ")");
    }
    std::unique_ptr<nam::NamModel> model = nam::build(nam::Node(document, "", where), "", options);
    model->take_snapshot();
    return model;
}

}  // namespace legato::native
