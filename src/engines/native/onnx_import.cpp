#include "onnx_import.hpp"

#include <climits>
#include <cmath>
#include <map>

#include "legato/error.hpp"
#include "onnx_graph.hpp"
#include "sequential.hpp"

namespace legato::native {

namespace onnx_import {

void Importer::read_opset() {
    for (const auto& o : model_.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx")
            opset_ = o.version();
    if (opset_ < 7)
        fail(
            "the model imports no usable ONNX operator set (ai.onnx opset 7 or newer; "
            "torch.onnx.export writes 9 to 17)");
}

void Importer::read_initializers() {
    const auto& graph = model_.graph();
    if (graph.sparse_initializer_size() > 0)
        fail("sparse initializers are not supported");
    for (const auto& t : graph.initializer())
        constants_[t.name()] = read_tensor(t, where_ + ": initializer '" + t.name() + "'");
}

void Importer::read_input() {
    const auto& graph = model_.graph();
    const onnx::ValueInfoProto* input = nullptr;
    for (const auto& i : graph.input()) {
        if (constants_.count(i.name()) != 0)
            continue;  // older exporters list initializers as inputs too
        if (input != nullptr)
            fail("the graph has more than one input ('" + input->name() + "', '" + i.name() +
                 "'): the native engine streams one tensor through a chain of layers");
        input = &i;
    }
    if (input == nullptr)
        fail("the graph has no input");
    const std::string what = "input '" + input->name() + "'";
    if (!input->type().has_tensor_type() ||
        input->type().tensor_type().elem_type() != onnx::TensorProto::FLOAT)
        fail(what + " is not a float32 tensor");
    if (!input->type().tensor_type().has_shape())
        fail(what + " has no shape: export with input shapes");
    int dynamic = 0;
    for (const auto& d : input->type().tensor_type().shape().dim()) {
        if (d.has_dim_value() && d.dim_value() > 0) {
            const auto v = static_cast<std::size_t>(d.dim_value());
            if (v > max_frame || shape_.frame * v > max_frame)
                fail(what + " has more than " + std::to_string(max_frame) + " values per frame");
            shape_.frame *= v;
            shape_.dims.push_back(d.dim_value());
        } else {
            ++dynamic;
            shape_.time = shape_.dims.size();
            shape_.dims.push_back(-1);
        }
    }
    if (dynamic != 1)
        fail(what +
             " must have exactly one dynamic dimension, the time axis (export with "
             "dynamic_axes={'" +
             input->name() + "': {1: 'time'}}); it has " + std::to_string(dynamic));
    int large = 0;
    for (std::size_t i = 0; i < shape_.dims.size(); ++i)
        large += i != shape_.time && shape_.dims[i] > 1;
    if (large > 1)
        fail(what + " " + stream_text(shape_) +
             " has more than one feature axis; frames must be vectors");
    current_ = input->name();
}

void Importer::require_feature_axis(std::size_t axis, const std::string& what) const {
    if (axis == shape_.time || axis >= shape_.dims.size() ||
        static_cast<std::size_t>(shape_.dims[axis]) != shape_.frame)
        fail(what.substr(where_.size() + 2) + ": expects the features on axis " +
             std::to_string(axis) + " of the streamed tensor " + stream_text(shape_) +
             " (and time elsewhere)");
}

std::vector<float> Importer::weights(const Constant* c, const std::vector<std::int64_t>& dims,
                                     const std::string& what, const std::string& field,
                                     const std::string& meaning) const {
    if (c == nullptr)
        throw Error(what + ": " + field + " must be a constant (initializer)");
    if (c->fill_only || c->dims != dims)
        throw Error(what + ": " + field + " has shape " +
                    (c->fill_only ? std::string("unknown") : shape_text(c->dims)) + ", expected " +
                    shape_text(dims) + " (" + meaning + ")");
    std::vector<float> out(c->values.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<float>(c->values[i]);
        if (!std::isfinite(out[i]))
            throw Error(what + ": " + field + " holds a non-finite value (" +
                        std::to_string(c->values[i]) + ") at index " + std::to_string(i));
    }
    return out;
}

// A constant operand of a per-frame node as one value per frame element: it may vary along the
// feature axis only. `may_widen`: a one-value frame may broadcast to the constant's width.
std::vector<double> Importer::per_frame(const Constant& c, const std::string& what,
                                        const std::string& field, bool may_widen) {
    if (c.fill_only)
        throw Error(what + ": " + field + " has a shape that depends on the input length");
    for (std::size_t i = 0; i < c.values.size(); ++i)
        if (!std::isfinite(c.values[i]))
            throw Error(what + ": " + field + " holds a non-finite value at index " +
                        std::to_string(i));
    const std::size_t rank = std::max(shape_.dims.size(), c.dims.size());
    StreamShape s;
    s.frame = shape_.frame;
    s.time = shape_.time + (rank - shape_.dims.size());
    s.dims.assign(rank - shape_.dims.size(), 1);
    s.dims.insert(s.dims.end(), shape_.dims.begin(), shape_.dims.end());
    std::vector<std::int64_t> cd(rank - c.dims.size(), 1);
    cd.insert(cd.end(), c.dims.begin(), c.dims.end());
    std::size_t axis = rank;
    for (std::size_t i = 0; i < rank; ++i) {
        if (cd[i] == 1)
            continue;
        if (i == s.time || axis != rank)
            throw Error(what + ": " + field + " " + shape_text(c.dims) +
                        " does not broadcast over the streamed tensor " + stream_text(shape_) +
                        " frame by frame (it must vary along the feature axis only)");
        axis = i;
    }
    std::vector<double> v;
    if (axis == rank) {  // a scalar
        v.assign(s.frame, c.values.empty() ? 0.0 : c.values[0]);
    } else if (s.dims[axis] == cd[axis] && static_cast<std::size_t>(cd[axis]) == s.frame) {
        v = c.values;
    } else if (may_widen && s.frame == 1 && s.dims[axis] == 1) {
        affine_.begin(1);
        affine_.select(std::vector<std::int64_t>(static_cast<std::size_t>(cd[axis]), 0));
        s.dims[axis] = cd[axis];
        s.frame = static_cast<std::size_t>(cd[axis]);
        v = c.values;
    } else {
        throw Error(what + ": " + field + " " + shape_text(c.dims) +
                    " does not broadcast over the streamed tensor " + stream_text(shape_));
    }
    shape_ = s;
    return v;
}

void Importer::flush() {
    if (!affine_.active)
        return;
    affine_.active = false;
    if (affine_.identity())
        return;
    std::vector<float> w(affine_.a.begin(), affine_.a.end()), b(affine_.b.begin(), affine_.b.end());
    bool any_bias = false;
    for (const float v : b)
        any_bias = any_bias || v != 0.0f;
    for (const float v : w)
        if (!std::isfinite(v))
            fail("the folded linear layers before layer " + std::to_string(layers_.size()) +
                 " have non-finite weights");
    if (!any_bias)
        b.clear();
    layers_.push_back(std::make_unique<Dense>(affine_.in, affine_.out, std::move(w), std::move(b)));
}

std::unique_ptr<StreamModel> Importer::run() {
    if (!model_.has_graph())
        fail("the model has no graph");
    read_opset();
    read_initializers();
    read_input();
    const auto& graph = model_.graph();
    for (int i = 0; i < graph.node_size(); ++i)
        node(graph.node(i), static_cast<std::size_t>(i));
    if (graph.output_size() != 1)
        fail("the graph has " + std::to_string(graph.output_size()) +
             " outputs; the native engine streams one");
    if (graph.output(0).name() != current_)
        fail("the graph's output '" + graph.output(0).name() +
             "' is not the end of the chain of layers from its input (that is '" + current_ + "')");
    if (pending_pad_ != 0)
        fail("a Pad on the time axis is not followed by a Conv");
    flush();
    if (layers_.empty())
        layers_.push_back(std::make_unique<ActivationLayer>(shape_.frame, Activation::linear));
    ModelInfo info;
    info.format = "onnx";
    info.metadata.emplace_back("opset", std::to_string(opset_));
    if (!model_.producer_name().empty())
        info.metadata.emplace_back("producer",
                                   model_.producer_name() + " " + model_.producer_version());
    try {
        return std::make_unique<Sequential>(std::move(layers_), std::move(info));
    } catch (const Error& e) {
        fail(e.what());
    }
}

void Importer::node(const onnx::NodeProto& node, std::size_t index) {
    const std::string what = where_ + ": node '" +
                             (node.name().empty() ? "#" + std::to_string(index) : node.name()) +
                             "' (" + node.op_type() + ")";
    if (!node.domain().empty() && node.domain() != "ai.onnx")
        throw Error(what + ": operator domain '" + node.domain() +
                    "' is not supported (only the standard ONNX operators are)");
    std::vector<const Constant*> constants(static_cast<std::size_t>(node.input_size()), nullptr);
    int streamed = 0;
    std::size_t stream_at = 0;
    for (int i = 0; i < node.input_size(); ++i) {
        const std::string& name = node.input(i);
        if (name.empty())
            continue;
        if (auto u = unusable_.find(name); u != unusable_.end())
            throw Error(what + ": reads '" + name + "', " + u->second);
        if (name == current_) {
            ++streamed;
            stream_at = static_cast<std::size_t>(i);
        } else if (auto c = constants_.find(name); c != constants_.end()) {
            constants[static_cast<std::size_t>(i)] = &c->second;
        } else if (earlier_.count(name) != 0) {
            throw Error(what + ": reads '" + name +
                        "' from an earlier point of the stream: the native engine's ONNX importer "
                        "runs chains of layers (no branches, residual or skip connections)");
        } else {
            throw Error(what + ": reads '" + name +
                        "', which no earlier node, initializer or input produces");
        }
    }
    if (node.op_type() == "Shape" && streamed == 1) {  // of the stream: time is unknown
        Constant c;
        const auto rank = static_cast<std::int64_t>(shape_.dims.size());
        // Opset 15's start and end attributes select a range of the axes.
        for (const auto i : slice_indices(int_attribute(node, "start", 0),
                                          int_attribute(node, "end", rank), 1, rank)) {
            const std::int64_t d = shape_.dims[static_cast<std::size_t>(i)];
            c.values.push_back(d < 0 ? std::nan("") : static_cast<double>(d));
        }
        c.dims = {static_cast<std::int64_t>(c.values.size())};
        if (node.output_size() != 1)
            throw Error(what + ": must have one output");
        constants_[node.output(0)] = std::move(c);
        return;
    }
    if (streamed == 0) {
        std::vector<Constant> outputs;
        if (!evaluate(node, constants, opset_, what, outputs))
            throw Error(what +
                        ": operator not supported by the native engine's ONNX importer "
                        "(supported: " +
                        std::string(supported_ops) + ")");
        for (std::size_t i = 0;
             i < outputs.size() && i < static_cast<std::size_t>(node.output_size()); ++i)
            constants_[node.output(static_cast<int>(i))] = std::move(outputs[i]);
        return;
    }
    if (streamed > 1)
        throw Error(what + ": reads the streamed tensor '" + current_ +
                    "' twice: the native engine's ONNX importer runs chains of layers");
    if (node.output_size() < 1 || node.output(0).empty())
        throw Error(what + ": has no first output");
    const std::string op = node.op_type();
    if (pending_pad_ != 0 && op != "Conv" && op != "Identity")
        throw Error(what +
                    ": follows a Pad on the time axis; only a Conv may (as a causal "
                    "convolution's left padding)");
    if (op == "Conv" && stream_at != 0)
        throw Error(what + ": the streamed tensor must be the first input");
    if (op == "MatMul" || op == "Gemm" || op == "Add" || op == "Sub" || op == "Mul" ||
        op == "Div" || op == "Slice" || op == "BatchNormalization") {
        linear(node, what, constants, stream_at);
    } else {
        if (stream_at != 0)
            throw Error(what + ": the streamed tensor must be the first input");
        stream_node(node, what, constants);
    }
    earlier_[current_] = true;
    current_ = node.output(0);
    for (int i = 1; i < node.output_size(); ++i)
        if (!node.output(i).empty())
            unusable_[node.output(i)] = "an output of node '" + node.name() +
                                        "' other than its stream (e.g. a final "
                                        "state), which the native engine does not compute";
}

void Importer::stream_node(const onnx::NodeProto& node, const std::string& what,
                           const std::vector<const Constant*>& constants) {
    const std::string& op = node.op_type();
    if (op == "Identity" || op == "Dropout") {
        return;
    } else if (op == "Cast") {
        if (int_attribute(node, "to", onnx::TensorProto::FLOAT) != onnx::TensorProto::FLOAT)
            throw Error(what + ": casts the streamed tensor to a type other than float32");
    } else if (op == "Transpose" || op == "Squeeze" || op == "Unsqueeze" || op == "Reshape" ||
               op == "Pad" || op == "Concat") {
        layout(node, what, constants);
    } else if (op == "Conv") {
        convolution(node, what, constants);
    } else if (op == "LSTM" || op == "GRU") {
        recurrent(node, what, constants);
    } else if (op == "Tanh" || op == "Sigmoid" || op == "Relu" || op == "LeakyRelu" ||
               op == "Elu" || op == "Softmax" || op == "PRelu") {
        activation(node, what, constants);
    } else {
        throw Error(what +
                    ": operator not supported by the native engine's ONNX importer "
                    "(supported: " +
                    std::string(supported_ops) + ")");
    }
}

}  // namespace onnx_import

std::unique_ptr<StreamModel> load_onnx(std::string_view bytes, const std::string& where) {
    onnx::ModelProto model;
    if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
        !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        throw Error(where + ": not a valid ONNX model: its protobuf data (" +
                    std::to_string(bytes.size()) + " bytes) is corrupt or truncated");
    return onnx_import::Importer(model, where).run();
}

}  // namespace legato::native
