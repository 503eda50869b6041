#pragma once
// The native engine's ONNX importer inside: the walk along the graph's chain of nodes
// (onnx_import.cpp) and the nodes it turns into layers (onnx_nodes.cpp). Compiled only with
// libonnx-dev.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers.hpp"
#include "onnx_constants.hpp"
#include "stream_model.hpp"

namespace legato::native::onnx_import {

// Caps that keep a corrupt file from making the importer allocate without bound.
inline constexpr std::size_t max_frame = std::size_t{1} << 16;
inline constexpr std::size_t max_matrix = std::size_t{1} << 22;
inline constexpr std::size_t max_receptive_field = std::size_t{1} << 20;

inline constexpr const char* supported_ops =
    "MatMul, Gemm, Add, Sub, Mul, Div, BatchNormalization, Conv (1-D, causal), Pad (left, on "
    "time), LSTM, GRU, Tanh, Sigmoid, Relu, LeakyRelu, Elu, PRelu, Softmax, Slice, Concat, "
    "Squeeze, Unsqueeze, Transpose, Reshape, Identity, Dropout, Cast, and constant shape "
    "arithmetic (Constant, Shape, Gather, ConstantOfShape)";

// The streamed tensor's layout: one axis is time (dims[time] = -1); the others are known and
// at most one of them is larger than 1, so a frame is a vector of `frame` values whatever the
// axis order.
struct StreamShape {
    std::vector<std::int64_t> dims;
    std::size_t time = 0;
    std::size_t frame = 1;
};

/// [setup thread] "[1, time, 8]", for messages.
inline std::string stream_text(const StreamShape& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.dims.size(); ++i)
        t += (i ? ", " : "") + (i == s.time ? std::string("time") : std::to_string(s.dims[i]));
    return t + "]";
}

// y = A x + b over frames, built up from consecutive per-frame linear nodes (MatMul, bias
// Adds, scalings, slices of the features) and turned into one Dense layer when a nonlinear
// node follows. A is column-major (a[c * out + r]) as Dense stores it.
struct Affine {
    bool active = false;
    std::size_t in = 0, out = 0;
    std::vector<double> a, b;

    void begin(std::size_t size) {
        if (active)
            return;
        active = true;
        in = out = size;
        a.assign(size * size, 0.0);
        for (std::size_t i = 0; i < size; ++i)
            a[i * size + i] = 1.0;
        b.assign(size, 0.0);
    }
    // Follows with M: m[r * new_out + r2] takes current output r into new output r2.
    void multiply(const std::vector<double>& m, std::size_t new_out) {
        std::vector<double> a2(in * new_out, 0.0), b2(new_out, 0.0);
        for (std::size_t c = 0; c < in; ++c)
            for (std::size_t r = 0; r < out; ++r) {
                const double v = a[c * out + r];
                if (v != 0.0)
                    for (std::size_t r2 = 0; r2 < new_out; ++r2)
                        a2[c * new_out + r2] += m[r * new_out + r2] * v;
            }
        for (std::size_t r = 0; r < out; ++r)
            for (std::size_t r2 = 0; r2 < new_out; ++r2)
                b2[r2] += m[r * new_out + r2] * b[r];
        a = std::move(a2);
        b = std::move(b2);
        out = new_out;
    }
    void scale(const std::vector<double>& s) {
        for (std::size_t c = 0; c < in; ++c)
            for (std::size_t r = 0; r < out; ++r)
                a[c * out + r] *= s[r];
        for (std::size_t r = 0; r < out; ++r)
            b[r] *= s[r];
    }
    void add(const std::vector<double>& v) {
        for (std::size_t r = 0; r < out; ++r)
            b[r] += v[r];
    }
    void select(const std::vector<std::int64_t>& rows) {
        std::vector<double> m(out * rows.size(), 0.0);
        for (std::size_t i = 0; i < rows.size(); ++i)
            m[static_cast<std::size_t>(rows[i]) * rows.size() + i] = 1.0;
        multiply(m, rows.size());
    }
    bool identity() const {
        if (in != out)
            return false;
        for (std::size_t c = 0; c < in; ++c)
            for (std::size_t r = 0; r < out; ++r)
                if (a[c * out + r] != (c == r ? 1.0 : 0.0))
                    return false;
        for (const double v : b)
            if (v != 0.0)
                return false;
        return true;
    }
};

class Importer {
public:
    Importer(const onnx::ModelProto& model, std::string where)
        : model_(model), where_(std::move(where)) {}

    std::unique_ptr<StreamModel> run();

private:
    [[noreturn]] void fail(const std::string& what) const { throw Error(where_ + ": " + what); }
    void read_opset();
    void read_initializers();
    void read_input();
    void node(const onnx::NodeProto& node, std::size_t index);
    void stream_node(const onnx::NodeProto& node, const std::string& what,
                     const std::vector<const Constant*>& constants);
    void layout(const onnx::NodeProto& node, const std::string& what,
                const std::vector<const Constant*>& constants);
    void linear(const onnx::NodeProto& node, const std::string& what,
                const std::vector<const Constant*>& constants, std::size_t stream_at);
    void convolution(const onnx::NodeProto& node, const std::string& what,
                     const std::vector<const Constant*>& constants);
    void recurrent(const onnx::NodeProto& node, const std::string& what,
                   const std::vector<const Constant*>& constants);
    void activation(const onnx::NodeProto& node, const std::string& what,
                    const std::vector<const Constant*>& constants);
    void flush();
    void require_feature_axis(std::size_t axis, const std::string& what) const;
    std::vector<double> per_frame(const Constant& c, const std::string& what,
                                  const std::string& field, bool may_widen);
    std::vector<float> weights(const Constant* c, const std::vector<std::int64_t>& dims,
                               const std::string& what, const std::string& field,
                               const std::string& meaning) const;

    const onnx::ModelProto& model_;
    std::string where_;
    std::int64_t opset_ = 0;
    std::map<std::string, Constant> constants_;
    std::map<std::string, std::string> unusable_;  ///< outputs that cannot stream, and why
    std::string current_;                          ///< the streamed tensor's latest name
    std::map<std::string, bool> earlier_;          ///< names the stream had before
    StreamShape shape_;
    Affine affine_;
    std::int64_t pending_pad_ = 0;  ///< left padding on time from Pad nodes, for the next Conv
    std::vector<std::unique_ptr<Layer>> layers_;
};

}  // namespace legato::native::onnx_import
