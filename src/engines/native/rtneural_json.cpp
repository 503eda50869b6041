#include "rtneural_json.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "legato/error.hpp"
#include "sequential.hpp"

namespace legato::native {

namespace {

using nlohmann::json;

// Reads one layer's fields with messages naming "layers[i] (type)" and the field.
class LayerReader {
public:
    LayerReader(const json& layer, std::string where) : layer_(layer), where_(std::move(where)) {}

    [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }

    const json& field(const char* name) const {
        if (!layer_.contains(name))
            fail(std::string("has no \"") + name + "\"");
        return layer_.at(name);
    }

    // The last element of an integer or integer list field ("kernel_size": [3]).
    std::size_t last_int(const char* name, std::size_t fallback, bool required) const {
        if (!layer_.contains(name)) {
            if (required)
                fail(std::string("has no \"") + name + "\"");
            return fallback;
        }
        const json& value = layer_.at(name);
        const json& last = value.is_array() && !value.empty() ? value.back() : value;
        if (!last.is_number_integer() || last.get<long long>() < 1)
            fail(std::string("\"") + name + "\" must be a positive integer, got " + value.dump());
        return static_cast<std::size_t>(last.get<long long>());
    }

    const json& weights(std::size_t index, std::size_t count_min, std::size_t count_max) const {
        const json& w = field("weights");
        if (!w.is_array() || w.size() < count_min || w.size() > count_max)
            fail("\"weights\" must hold " +
                 (count_min == count_max
                      ? std::to_string(count_min)
                      : std::to_string(count_min) + " to " + std::to_string(count_max)) +
                 " arrays, it holds " + (w.is_array() ? std::to_string(w.size()) : w.type_name()));
        return w.at(index);
    }

    float number(const json& value, const std::string& path) const {
        if (!value.is_number())
            fail(path + " is " + value.dump() + ", not a number");
        const float f = value.get<float>();
        if (!std::isfinite(f))
            fail(path + " is not finite as a 32-bit float (" + value.dump() + ")");
        return f;
    }

    std::vector<float> vector(const json& value, const std::string& path, std::size_t n) const {
        if (!value.is_array() || value.size() != n)
            fail(path + " must hold " + std::to_string(n) + " values, it holds " +
                 (value.is_array() ? std::to_string(value.size()) : value.type_name()));
        std::vector<float> out(n);
        for (std::size_t i = 0; i < n; ++i)
            out[i] = number(value[i], path + "[" + std::to_string(i) + "]");
        return out;
    }

    // A [rows][cols] array, row-major.
    std::vector<float> matrix(const json& value, const std::string& path, std::size_t rows,
                              std::size_t cols, const char* rows_are) const {
        if (!value.is_array() || value.size() != rows)
            fail(path + " must have " + std::to_string(rows) + " rows (" + rows_are + "), it has " +
                 (value.is_array() ? std::to_string(value.size()) : value.type_name()));
        std::vector<float> out;
        out.reserve(rows * cols);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::vector<float> row =
                vector(value[r], path + "[" + std::to_string(r) + "]", cols);
            out.insert(out.end(), row.begin(), row.end());
        }
        return out;
    }

private:
    const json& layer_;
    std::string where_;
};

Activation activation_by_name(const std::string& name, const LayerReader& reader) {
    if (name == "tanh")
        return Activation::tanh;
    if (name == "relu")
        return Activation::relu;
    if (name == "sigmoid")
        return Activation::sigmoid;
    if (name == "softmax")
        return Activation::softmax;
    if (name == "elu")
        return Activation::elu;
    if (name == "linear")
        return Activation::linear;
    reader.fail("activation \"" + name +
                "\" is not supported (supported: tanh, relu, sigmoid, softmax, elu, linear)");
}

// Appends the layer's "activation" as a layer of its own (as RTNeural's parser does).
void add_activation(const json& layer, std::size_t size, const LayerReader& reader,
                    std::vector<std::unique_ptr<Layer>>& layers) {
    if (!layer.contains("activation"))
        return;
    if (!layer.at("activation").is_string())
        reader.fail("\"activation\" must be a string");
    const std::string name = layer.at("activation").get<std::string>();
    if (name.empty())
        return;
    const Activation a = activation_by_name(name, reader);
    if (a != Activation::linear)
        layers.push_back(
            std::make_unique<ActivationLayer>(size, a, a == Activation::elu ? 1.0f : 0.0f));
}

std::size_t last_dimension(const json& shape, const std::string& what, const std::string& where) {
    if (!shape.is_array() || shape.empty() || !shape.back().is_number_integer() ||
        shape.back().get<long long>() < 1)
        throw Error(where + ": " + what + " must be a shape list ending in a positive size, got " +
                    shape.dump());
    if (shape.size() == 4)
        throw Error(where + ": " + what + " " + shape.dump() +
                    " is 2-D per frame (Conv2D models): the native engine does not run those");
    return static_cast<std::size_t>(shape.back().get<long long>());
}

}  // namespace

bool looks_like_rtneural_json(std::string_view text) {
    const json j = json::parse(text, nullptr, false);
    return j.is_object() && j.contains("layers") && j.contains("in_shape");
}

std::unique_ptr<StreamModel> load_rtneural_json(std::string_view text, const std::string& where) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::exception& e) {
        throw Error(where + ": not a JSON file: " + e.what());
    }
    if (!root.is_object() || !root.contains("layers") || !root.contains("in_shape"))
        throw Error(where + ": not an RTNeural model (no \"in_shape\" and \"layers\")");
    const json& list = root.at("layers");
    if (!list.is_array() || list.empty())
        throw Error(where + ": \"layers\" must be a non-empty list");
    std::size_t size = last_dimension(root.at("in_shape"), "\"in_shape\"", where);

    std::vector<std::unique_ptr<Layer>> layers;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const json& layer = list[i];
        const std::string type =
            layer.is_object() && layer.contains("type") && layer.at("type").is_string()
                ? layer.at("type").get<std::string>()
                : std::string();
        const std::string at =
            where + ": layers[" + std::to_string(i) + "]" + (type.empty() ? "" : " (" + type + ")");
        if (type.empty())
            throw Error(at + ": has no \"type\"");
        LayerReader r(layer, at);
        const std::size_t dims =
            layer.contains("shape") ? last_dimension(layer.at("shape"), "\"shape\"", at) : size;
        if (type == "dense" || type == "time-distributed-dense") {
            const json& w = r.weights(0, 1, 2);
            std::vector<float> weights = r.matrix(w, "weights[0]", size, dims, "one per input");
            std::vector<float> bias;
            if (layer.at("weights").size() == 2)
                bias = r.vector(layer.at("weights")[1], "weights[1]", dims);
            layers.push_back(
                std::make_unique<Dense>(size, dims, std::move(weights), std::move(bias)));
            add_activation(layer, dims, r, layers);
        } else if (type == "lstm") {
            auto kernel =
                r.matrix(r.weights(0, 3, 3), "weights[0]", size, 4 * dims, "one per input");
            auto recurrent =
                r.matrix(r.weights(1, 3, 3), "weights[1]", dims, 4 * dims, "one per unit");
            auto bias = r.vector(r.weights(2, 3, 3), "weights[2]", 4 * dims);
            layers.push_back(std::make_unique<LSTM>(size, dims, std::move(kernel),
                                                    std::move(recurrent), std::move(bias)));
        } else if (type == "gru") {
            auto kernel =
                r.matrix(r.weights(0, 3, 3), "weights[0]", size, 3 * dims, "one per input");
            auto recurrent =
                r.matrix(r.weights(1, 3, 3), "weights[1]", dims, 3 * dims, "one per unit");
            // Keras' reset_after bias: [input bias; recurrent bias], 2 x 3H.
            auto bias = r.matrix(r.weights(2, 3, 3), "weights[2]", 2, 3 * dims,
                                 "input and recurrent bias: a GRU exported with reset_after");
            std::vector<float> input_bias(bias.begin(),
                                          bias.begin() + static_cast<std::ptrdiff_t>(3 * dims));
            std::vector<float> recurrent_bias(bias.begin() + static_cast<std::ptrdiff_t>(3 * dims),
                                              bias.end());
            layers.push_back(std::make_unique<GRU>(size, dims, std::move(kernel),
                                                   std::move(recurrent), std::move(input_bias),
                                                   std::move(recurrent_bias)));
        } else if (type == "conv1d") {
            const std::size_t kernel_size = r.last_int("kernel_size", 1, true);
            const std::size_t dilation = r.last_int("dilation", 1, false);
            const std::size_t groups = r.last_int("groups", 1, false);
            if (size % groups != 0 || dims % groups != 0)
                r.fail(std::to_string(groups) + " groups do not divide " + std::to_string(size) +
                       " input and " + std::to_string(dims) + " output channels");
            const std::size_t in_group = size / groups;
            const std::size_t out_group = dims / groups;
            const json& w = r.weights(0, 2, 2);
            if (!w.is_array() || w.size() != kernel_size)
                r.fail("weights[0] must have " + std::to_string(kernel_size) +
                       " taps (kernel_size), it has " +
                       (w.is_array() ? std::to_string(w.size()) : w.type_name()));
            std::vector<float> taps(kernel_size * size * dims, 0.0f);
            for (std::size_t k = 0; k < kernel_size; ++k) {
                const std::string path = "weights[0][" + std::to_string(k) + "]";
                const auto tap = r.matrix(w[k], path, in_group, dims, "input channels per group");
                for (std::size_t c = 0; c < in_group; ++c)
                    for (std::size_t o = 0; o < dims; ++o) {
                        const std::size_t input = (o / out_group) * in_group + c;
                        taps[k * size * dims + input * dims + o] = tap[c * dims + o];
                    }
            }
            auto bias = r.vector(layer.at("weights")[1], "weights[1]", dims);
            layers.push_back(std::make_unique<Conv1D>(size, dims, kernel_size, dilation, groups,
                                                      std::move(taps), std::move(bias)));
            add_activation(layer, dims, r, layers);
        } else if (type == "prelu") {
            const json& w = r.weights(0, 1, 1);
            if (!w.is_array() || w.size() != 1 || !w[0].is_array() ||
                (w[0].size() != size && w[0].size() != 1))
                r.fail("weights[0] must be [[alpha x " + std::to_string(size) +
                       "]] or [[alpha]], got " +
                       std::to_string(w.is_array() && !w.empty() && w[0].is_array() ? w[0].size()
                                                                                    : 0) +
                       " values");
            layers.push_back(
                std::make_unique<PReLU>(size, r.vector(w[0], "weights[0][0]", w[0].size())));
        } else if (type == "batchnorm") {
            const json& all = layer.contains("weights") ? layer.at("weights") : json();
            r.weights(0, 2, 4);
            if (all.size() == 3)
                r.fail(
                    "\"weights\" must hold 4 arrays (gamma, beta, mean, variance) or 2 (mean, "
                    "variance), it holds 3");
            const bool affine = all.size() == 4;
            const std::size_t base = affine ? 2 : 0;
            if (!layer.contains("epsilon") || !layer.at("epsilon").is_number())
                r.fail("has no numeric \"epsilon\"");
            std::vector<float> gamma, beta;
            if (affine) {
                gamma = r.vector(all[0], "weights[0] (gamma)", size);
                beta = r.vector(all[1], "weights[1] (beta)", size);
            }
            auto mean = r.vector(all[base], "weights[" + std::to_string(base) + "] (mean)", size);
            auto variance = r.vector(all[base + 1],
                                     "weights[" + std::to_string(base + 1) + "] (variance)", size);
            const float epsilon = r.number(layer.at("epsilon"), "\"epsilon\"");
            for (std::size_t c = 0; c < size; ++c)
                if (!(variance[c] + epsilon > 0.0f))
                    r.fail("variance[" + std::to_string(c) + "] + epsilon is not positive");
            layers.push_back(std::make_unique<BatchNorm>(gamma, beta, mean, variance, epsilon));
        } else if (type == "activation") {
            const std::size_t before = layers.size();
            add_activation(layer, size, r, layers);
            if (layers.size() == before && !layer.contains("activation"))
                r.fail("has no \"activation\"");
        } else {
            r.fail("layer type \"" + type +
                   "\" is not supported by the native engine (supported: dense, "
                   "time-distributed-dense, conv1d, lstm, gru, prelu, batchnorm, activation)");
        }
        size = layers.empty() ? size : layers.back()->out_size();
        if (size != dims)
            r.fail("\"shape\" ends in " + std::to_string(dims) + " but the layer gives " +
                   std::to_string(size) + " values per frame");
    }
    ModelInfo info;
    info.format = "rtneural-json";
    try {
        return std::make_unique<Sequential>(std::move(layers), std::move(info));
    } catch (const Error& e) {
        throw Error(where + ": " + e.what());
    }
}

}  // namespace legato::native
