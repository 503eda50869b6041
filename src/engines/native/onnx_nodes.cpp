// The ONNX nodes that read the streamed tensor, turned into layers or layout changes.

#include <cmath>

#include "legato/error.hpp"
#include "onnx_graph.hpp"

namespace legato::native::onnx_import {

namespace {

std::int64_t axis_in(std::int64_t axis, std::size_t rank, const std::string& what) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r)
        throw Error(what + ": axis " + std::to_string(axis) + " is outside rank " +
                    std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

const Constant& constant_input(const std::vector<const Constant*>& constants, std::size_t i,
                               const std::string& what, const char* field) {
    if (i >= constants.size() || constants[i] == nullptr)
        throw Error(what + ": input " + std::to_string(i) + " (" + field +
                    ") must be a constant (an initializer or a constant computation)");
    return *constants[i];
}

const Constant* optional_input(const std::vector<const Constant*>& constants, std::size_t i) {
    return i < constants.size() ? constants[i] : nullptr;
}

// Whether every value of an optional constant input (absent: yes) is zero.
bool all_zero(const onnx::NodeProto& node, const std::vector<const Constant*>& constants,
              std::size_t i) {
    if (i >= static_cast<std::size_t>(node.input_size()) || node.input(static_cast<int>(i)).empty())
        return true;
    if (constants[i] == nullptr)
        return false;
    for (const double v : constants[i]->values)
        if (v != 0.0)
            return false;
    return true;
}

std::string input_name(const onnx::NodeProto& node, std::size_t i, const char* field) {
    return std::string("input ") + field + " '" + node.input(static_cast<int>(i)) + "'";
}

}  // namespace

void Importer::layout(const onnx::NodeProto& node, const std::string& what,
                      const std::vector<const Constant*>& constants) {
    const std::string& op = node.op_type();
    StreamShape s = shape_;
    const std::size_t rank = s.dims.size();
    if (op == "Concat") {
        for (int i = 1; i < node.input_size(); ++i)
            if (!node.input(i).empty())
                throw Error(what +
                            ": concatenates the streamed tensor with other tensors; the "
                            "native engine streams a single chain");
        return;
    }
    if (op == "Transpose") {
        std::vector<std::int64_t> perm = ints_attribute(node, "perm");
        if (perm.empty())
            for (std::size_t i = rank; i-- > 0;)
                perm.push_back(static_cast<std::int64_t>(i));
        if (perm.size() != rank)
            throw Error(what + ": perm has " + std::to_string(perm.size()) + " axes, the input " +
                        std::to_string(rank));
        std::vector<bool> seen(rank, false);
        s.dims.clear();
        for (std::size_t i = 0; i < rank; ++i) {
            const auto p = static_cast<std::size_t>(axis_in(perm[i], rank, what));
            if (seen[p])
                throw Error(what + ": perm repeats axis " + std::to_string(p));
            seen[p] = true;
            s.dims.push_back(shape_.dims[p]);
            if (p == shape_.time)
                s.time = i;
        }
    } else if (op == "Squeeze" || op == "Unsqueeze") {
        const Constant* axes_input = optional_input(constants, 1);
        std::vector<std::int64_t> axes = opset_ >= 13
                                             ? (axes_input != nullptr ? integers(*axes_input, what)
                                                                      : std::vector<std::int64_t>{})
                                             : ints_attribute(node, "axes");
        if (opset_ >= 13 && node.input_size() > 1 && !node.input(1).empty() &&
            axes_input == nullptr)
            throw Error(what + ": its axes must be constants");
        if (op == "Squeeze") {
            std::vector<bool> removed(rank, false);
            for (const auto a : axes)
                removed[static_cast<std::size_t>(axis_in(a, rank, what))] = true;
            s.dims.clear();
            for (std::size_t i = 0; i < rank; ++i) {
                const bool drop =
                    axes.empty() ? (i != shape_.time && shape_.dims[i] == 1) : removed[i];
                if (drop && (i == shape_.time || shape_.dims[i] != 1))
                    throw Error(what + ": squeezes axis " + std::to_string(i) + " of " +
                                stream_text(shape_) + ", which is not of size 1");
                if (!drop) {
                    if (i == shape_.time)
                        s.time = s.dims.size();
                    s.dims.push_back(shape_.dims[i]);
                }
            }
        } else {
            const std::size_t out_rank = rank + axes.size();
            std::vector<bool> inserted(out_rank, false);
            for (const auto a : axes) {
                const auto at = static_cast<std::size_t>(axis_in(a, out_rank, what));
                if (inserted[at])
                    throw Error(what + ": repeats axis " + std::to_string(a));
                inserted[at] = true;
            }
            s.dims.clear();
            for (std::size_t i = 0, j = 0; i < out_rank; ++i) {
                if (!inserted[i] && j == shape_.time)
                    s.time = i;
                s.dims.push_back(inserted[i] ? 1 : shape_.dims[j++]);
            }
        }
    } else if (op == "Reshape") {
        std::vector<std::int64_t> target =
            integers(constant_input(constants, 1, what, "shape"), what);
        const bool allow_zero = int_attribute(node, "allowzero", 0) != 0;
        int time = -1, infer = -1;
        std::size_t product = 1;
        for (std::size_t i = 0; i < target.size(); ++i) {
            if (target[i] == 0 && !allow_zero) {
                if (i >= rank)
                    throw Error(what + ": copies axis " + std::to_string(i) + ", which " +
                                stream_text(shape_) + " does not have");
                if (i == shape_.time) {
                    time = static_cast<int>(i);
                    continue;
                }
                target[i] = shape_.dims[i];
            }
            if (target[i] == -1) {
                if (infer >= 0)
                    throw Error(what + ": has two -1 dimensions");
                infer = static_cast<int>(i);
            } else if (target[i] < 0 || static_cast<std::size_t>(target[i]) > max_frame ||
                       product * static_cast<std::size_t>(target[i]) > max_frame) {
                throw Error(what + ": shape " + shape_text(target) + " does not keep frames apart");
            } else {
                product *= static_cast<std::size_t>(target[i]);
            }
        }
        if (time < 0 && infer >= 0) {
            time = infer;
        } else if (infer >= 0) {
            if (product == 0 || shape_.frame % product != 0)
                throw Error(what + ": shape " + shape_text(target) + " does not keep frames apart");
            target[static_cast<std::size_t>(infer)] =
                static_cast<std::int64_t>(shape_.frame / product);
            product = shape_.frame;
        }
        if (time < 0)
            throw Error(what + ": reshapes the streamed tensor " + stream_text(shape_) +
                        " to the fixed shape " + shape_text(target) +
                        ", losing its time axis (export with a dynamic time axis)");
        if (product != shape_.frame)
            throw Error(what + ": shape " + shape_text(target) +
                        " regroups values across frames of " + stream_text(shape_));
        s.dims = target;
        s.time = static_cast<std::size_t>(time);
        s.dims[s.time] = -1;
        // With more than one value per frame, the flat order must keep them together: the
        // feature axis stays on the same side of time.
        if (s.frame > 1) {
            std::size_t old_feature = 0, new_feature = 0, large = 0;
            for (std::size_t i = 0; i < rank; ++i)
                if (i != shape_.time && shape_.dims[i] > 1)
                    old_feature = i;
            for (std::size_t i = 0; i < s.dims.size(); ++i)
                if (i != s.time && s.dims[i] > 1)
                    new_feature = i, ++large;
            if (large != 1 || (old_feature < shape_.time) != (new_feature < s.time))
                throw Error(what + ": reshaping " + stream_text(shape_) + " to " + stream_text(s) +
                            " mixes values of different frames");
        }
    } else if (op == "Pad") {
        const std::string mode = string_attribute(node, "mode", "constant");
        if (mode != "constant")
            throw Error(what + ": pads in mode '" + mode +
                        "'; only zero (constant) padding is "
                        "supported");
        const std::vector<std::int64_t> pads =
            opset_ >= 11 ? integers(constant_input(constants, 1, what, "pads"), what)
                         : ints_attribute(node, "pads");
        const Constant* value = opset_ >= 11 ? optional_input(constants, 2) : nullptr;
        if ((value != nullptr && (value->values.size() != 1 || value->values[0] != 0.0)) ||
            float_attribute(node, "value", 0.0f) != 0.0f ||
            (opset_ >= 11 && node.input_size() > 2 && !node.input(2).empty() && value == nullptr))
            throw Error(what + ": pads with a value other than 0");
        if (pads.size() != 2 * rank)
            throw Error(what + ": has " + std::to_string(pads.size()) + " pads for a rank-" +
                        std::to_string(rank) + " tensor");
        for (std::size_t i = 0; i < pads.size(); ++i)
            if (pads[i] != 0 && i != shape_.time)
                throw Error(what + ": pads " + shape_text(pads) + " of " + stream_text(shape_) +
                            " pad something other than the start of the time axis (only a "
                            "causal convolution's left padding streams)");
        if (pads[shape_.time] < 0 ||
            static_cast<std::size_t>(pads[shape_.time]) > max_receptive_field)
            throw Error(what + ": pads " + shape_text(pads) + " are out of range");
        pending_pad_ += pads[shape_.time];
    }
    shape_ = s;
}

void Importer::linear(const onnx::NodeProto& node, const std::string& what,
                      const std::vector<const Constant*>& constants, std::size_t stream_at) {
    const std::string& op = node.op_type();
    const std::size_t rank = shape_.dims.size();
    // Folding starts from an identity matrix of frame x frame values.
    if (!affine_.active && shape_.frame * shape_.frame > max_matrix)
        throw Error(what + ": the streamed tensor has " + std::to_string(shape_.frame) +
                    " values per frame, too many for a linear layer here (at most " +
                    std::to_string(static_cast<std::size_t>(std::sqrt(double(max_matrix)))) + ")");
    const auto check_size = [&](std::size_t in, std::size_t out) {
        if (in == 0 || out == 0 || in > max_frame || out > max_frame || in * out > max_matrix)
            throw Error(what + ": a " + std::to_string(in) + " x " + std::to_string(out) +
                        " linear map is too large or empty");
    };
    if (op == "MatMul" || op == "Gemm") {
        const std::size_t other = stream_at == 0 ? 1 : 0;
        const Constant& w = constant_input(constants, other, what, "weights");
        if (w.fill_only || w.dims.size() != 2)
            throw Error(what + ": " + input_name(node, other, "B") +
                        " must be a 2-D constant, it has shape " +
                        (w.fill_only ? std::string("unknown") : shape_text(w.dims)));
        const bool trans_a = op == "Gemm" && int_attribute(node, "transA", 0) != 0;
        const bool trans_b = op == "Gemm" && int_attribute(node, "transB", 0) != 0;
        const double alpha = op == "Gemm" ? float_attribute(node, "alpha", 1.0f) : 1.0;
        // MatMul(x, W): features on the last axis. MatMul(W, x): on the one before it.
        std::size_t feature = rank - 1;
        if (op == "Gemm") {
            if (stream_at != 0 || rank != 2)
                throw Error(what + ": the streamed tensor must be input A, of rank 2");
            feature = trans_a ? 0 : 1;
        } else if (stream_at == 1) {
            feature = rank < 2 ? rank : rank - 2;
        }
        if (rank < 2 || shape_.time == feature || (stream_at == 1 && shape_.time != rank - 1) ||
            (stream_at == 0 && op == "MatMul" && shape_.time == rank - 1))
            throw Error(what + ": multiplies the streamed tensor " + stream_text(shape_) +
                        " along its time axis");
        require_feature_axis(feature, what);
        const auto rows = static_cast<std::size_t>(w.dims[0]);
        const auto cols = static_cast<std::size_t>(w.dims[1]);
        // m[r * out + r2]: input feature r into output feature r2.
        const bool transposed = stream_at == 1 ? true : trans_b;
        const std::size_t in = transposed ? cols : rows;
        const std::size_t out = transposed ? rows : cols;
        if (in != shape_.frame)
            throw Error(what + ": " + input_name(node, other, "B") + " has shape " +
                        shape_text(w.dims) + ", expected " +
                        (transposed ? "[N, " + std::to_string(shape_.frame) + "]"
                                    : "[" + std::to_string(shape_.frame) + ", N]") +
                        " (" + std::to_string(shape_.frame) + " input features)");
        check_size(in, out);
        const std::vector<float> values =
            weights(&w, w.dims, what, input_name(node, other, "B"), "weights");
        std::vector<double> m(in * out);
        for (std::size_t r = 0; r < in; ++r)
            for (std::size_t r2 = 0; r2 < out; ++r2)
                m[r * out + r2] =
                    alpha * (transposed ? values[r2 * cols + r] : values[r * cols + r2]);
        affine_.begin(shape_.frame);
        check_size(affine_.in, out);
        affine_.multiply(m, out);
        shape_.dims[feature] = static_cast<std::int64_t>(out);
        shape_.frame = out;
        if (op == "Gemm" && trans_a)
            std::swap(shape_.dims[0], shape_.dims[1]), shape_.time = 1 - shape_.time;
        if (op == "Gemm" && optional_input(constants, 2) != nullptr) {
            std::vector<double> c = per_frame(*constants[2], what, input_name(node, 2, "C"), false);
            const double beta = float_attribute(node, "beta", 1.0f);
            for (double& v : c)
                v *= beta;
            affine_.add(c);
        } else if (op == "Gemm" && node.input_size() > 2 && !node.input(2).empty()) {
            throw Error(what + ": input C must be a constant");
        }
        return;
    }
    if (op == "BatchNormalization") {
        if (stream_at != 0)
            throw Error(what + ": the streamed tensor must be input X");
        if (int_attribute(node, "training_mode", 0) != 0)
            throw Error(what + ": is in training mode; export the model in eval mode");
        require_feature_axis(1, what);
        const std::vector<std::int64_t> dims{static_cast<std::int64_t>(shape_.frame)};
        const auto field = [&](std::size_t i, const char* name) {
            return weights(optional_input(constants, i), dims, what, input_name(node, i, name),
                           "one per channel");
        };
        const auto gamma = field(1, "scale"), beta = field(2, "B"), mean = field(3, "mean"),
                   variance = field(4, "var");
        const double epsilon = float_attribute(node, "epsilon", 1e-5f);
        std::vector<double> scale(shape_.frame), shift(shape_.frame);
        for (std::size_t c = 0; c < shape_.frame; ++c) {
            if (!(variance[c] + epsilon > 0.0))
                throw Error(what + ": var[" + std::to_string(c) + "] + epsilon is not positive");
            scale[c] = gamma[c] / std::sqrt(static_cast<double>(variance[c]) + epsilon);
            shift[c] = beta[c] - mean[c] * scale[c];
        }
        affine_.begin(shape_.frame);
        affine_.scale(scale);
        affine_.add(shift);
        return;
    }
    if (op == "Slice") {
        if (stream_at != 0)
            throw Error(what + ": the streamed tensor must be the sliced input");
        const bool from_inputs = opset_ >= 10;
        const SliceArguments slice = slice_arguments(
            node, opset_, from_inputs ? &constant_input(constants, 1, what, "starts") : nullptr,
            from_inputs ? &constant_input(constants, 2, what, "ends") : nullptr,
            from_inputs ? optional_input(constants, 3) : nullptr,
            from_inputs ? optional_input(constants, 4) : nullptr, what);
        for (std::size_t i = 0; i < slice.starts.size(); ++i) {
            const auto axis = static_cast<std::size_t>(axis_in(slice.axes[i], rank, what));
            const std::int64_t step = slice.steps[i];
            if (axis == shape_.time) {
                if (slice.starts[i] != 0 || step != 1 || slice.ends[i] < INT_MAX)
                    throw Error(what + ": slices the time axis of " + stream_text(shape_) +
                                ", which does not stream frame by frame");
                continue;
            }
            if (step == 0)
                throw Error(what + ": has a step of 0");
            const auto kept =
                slice_indices(slice.starts[i], slice.ends[i], step, shape_.dims[axis]);
            if (kept.empty())
                throw Error(what + ": leaves no values of axis " + std::to_string(axis));
            if (shape_.dims[axis] > 1) {
                affine_.begin(shape_.frame);
                affine_.select(kept);
                shape_.frame = kept.size();
                shape_.dims[axis] = static_cast<std::int64_t>(kept.size());
            }
        }
        return;
    }
    // Add, Sub, Mul, Div with a constant.
    const std::size_t other = stream_at == 0 ? 1 : 0;
    const Constant& c = constant_input(constants, other, what, "operand");
    const std::size_t before = shape_.frame;
    const bool widen = op == "Add" || op == "Sub" || op == "Mul";
    if (widen && before == 1)
        check_size(1, c.count());
    std::vector<double> v = per_frame(c, what, input_name(node, other, "operand"), widen);
    affine_.begin(shape_.frame);
    if (op == "Add") {
        affine_.add(v);
    } else if (op == "Sub") {
        if (stream_at == 1) {  // c - x
            affine_.scale(std::vector<double>(v.size(), -1.0));
            affine_.add(v);
        } else {
            for (double& x : v)
                x = -x;
            affine_.add(v);
        }
    } else if (op == "Mul") {
        affine_.scale(v);
    } else {
        if (stream_at == 1)
            throw Error(what + ": divides by the streamed tensor (not a linear map)");
        for (double& x : v) {
            if (x == 0.0)
                throw Error(what + ": divides by zero");
            x = 1.0 / x;
        }
        affine_.scale(v);
    }
}

void Importer::convolution(const onnx::NodeProto& node, const std::string& what,
                           const std::vector<const Constant*>& constants) {
    if (shape_.dims.size() != 3 || shape_.time != 2)
        throw Error(what + ": expects the streamed tensor as [batch, channels, time], it is " +
                    stream_text(shape_) + " (a 1-D convolution)");
    require_feature_axis(1, what);
    const Constant& w = constant_input(constants, 1, what, "W");
    if (w.fill_only || w.dims.size() != 3 || w.dims[0] < 1 || w.dims[1] < 1 || w.dims[2] < 1)
        throw Error(what + ": " + input_name(node, 1, "W") + " has shape " +
                    (w.fill_only ? std::string("unknown") : shape_text(w.dims)) +
                    ", expected [out_channels, in_channels / group, kernel_size]");
    const std::size_t in = shape_.frame;
    const auto out = static_cast<std::size_t>(w.dims[0]);
    const auto k = static_cast<std::size_t>(w.dims[2]);
    const std::int64_t group = int_attribute(node, "group", 1);
    if (group < 1 || in % static_cast<std::size_t>(group) != 0 ||
        out % static_cast<std::size_t>(group) != 0)
        throw Error(what + ": group " + std::to_string(group) + " does not divide " +
                    std::to_string(in) + " input and " + std::to_string(out) + " output channels");
    const auto groups = static_cast<std::size_t>(group);
    const std::size_t in_group = in / groups, out_group = out / groups;
    const std::vector<std::int64_t> w_dims{static_cast<std::int64_t>(out),
                                           static_cast<std::int64_t>(in_group),
                                           static_cast<std::int64_t>(k)};
    bool has = false;
    const auto kernel_shape = ints_attribute(node, "kernel_shape", &has);
    if (has && (kernel_shape.size() != 1 || kernel_shape[0] != w_dims[2]))
        throw Error(what + ": kernel_shape " + shape_text(kernel_shape) + " disagrees with W " +
                    shape_text(w.dims));
    const auto strides = ints_attribute(node, "strides");
    for (const auto s : strides)
        if (s != 1)
            throw Error(what + ": strides " + shape_text(strides) +
                        " (only stride 1 streams frame for frame)");
    const auto dilations = ints_attribute(node, "dilations");
    if (dilations.size() > 1 || (!dilations.empty() && dilations[0] < 1))
        throw Error(what + ": dilations " + shape_text(dilations) + " (a 1-D convolution has one)");
    const std::size_t dilation = dilations.empty() ? 1 : static_cast<std::size_t>(dilations[0]);
    if (dilation > max_receptive_field || (k - 1) * dilation + 1 > max_receptive_field ||
        k * in * out > 4 * max_matrix || ((k - 1) * dilation + 1) * in > 4 * max_matrix)
        throw Error(what + ": kernel " + std::to_string(k) + ", dilation " +
                    std::to_string(dilation) + " and " + std::to_string(in) + " x " +
                    std::to_string(out) + " channels are too large");
    const std::string auto_pad = string_attribute(node, "auto_pad", "NOTSET");
    if (auto_pad != "NOTSET" && auto_pad != "VALID")
        throw Error(what + ": auto_pad " + auto_pad + " is not causal; pad the start explicitly");
    std::vector<std::int64_t> pads = ints_attribute(node, "pads");
    if (pads.empty())
        pads = {0, 0};
    if (pads.size() != 2 || pads[0] < 0 || pads[1] != 0 ||
        static_cast<std::size_t>(pads[0]) > max_receptive_field)
        throw Error(what + ": pads " + shape_text(pads) +
                    " pad the end of time (only left padding, a causal convolution, streams)");
    const std::int64_t left = pending_pad_ + pads[0];
    pending_pad_ = 0;
    const auto needed = static_cast<std::int64_t>((k - 1) * dilation);
    if (left != needed)
        throw Error(what + ": has " + std::to_string(left) +
                    " frames of left padding; a causal convolution with kernel " +
                    std::to_string(k) + " and dilation " + std::to_string(dilation) +
                    " needs (kernel_size - 1) x dilation = " + std::to_string(needed) +
                    " (other paddings change the output's length or look ahead)");
    const std::vector<float> values = weights(&w, w_dims, what, input_name(node, 1, "W"),
                                              "out_channels, in_channels / group, "
                                              "kernel_size");
    std::vector<float> bias;
    if (optional_input(constants, 2) != nullptr)
        bias = weights(constants[2], {static_cast<std::int64_t>(out)}, what,
                       input_name(node, 2, "B"), "one per output channel");
    else if (node.input_size() > 2 && !node.input(2).empty())
        throw Error(what + ": input B must be a constant");
    else
        bias.assign(out, 0.0f);
    // ONNX W[o][c][tap] -> one dense [out x in] column-major matrix per tap.
    std::vector<float> taps(k * in * out, 0.0f);
    for (std::size_t tap = 0; tap < k; ++tap)
        for (std::size_t o = 0; o < out; ++o)
            for (std::size_t c = 0; c < in_group; ++c) {
                const std::size_t input = (o / out_group) * in_group + c;
                taps[tap * in * out + input * out + o] = values[(o * in_group + c) * k + tap];
            }
    flush();
    layers_.push_back(
        std::make_unique<Conv1D>(in, out, k, dilation, groups, std::move(taps), std::move(bias)));
    shape_.dims[1] = static_cast<std::int64_t>(out);
    shape_.frame = out;
}

void Importer::recurrent(const onnx::NodeProto& node, const std::string& what,
                         const std::vector<const Constant*>& constants) {
    const bool lstm = node.op_type() == "LSTM";
    const std::size_t gates = lstm ? 4 : 3;
    const std::int64_t layout = int_attribute(node, "layout", 0);
    if (shape_.dims.size() != 3 || shape_.time != (layout == 0 ? 0u : 1u))
        throw Error(what + ": expects the streamed tensor as " +
                    (layout == 0 ? "[time, batch, features]" : "[batch, time, features]") +
                    ", it is " + stream_text(shape_));
    require_feature_axis(2, what);
    const std::string direction = string_attribute(node, "direction", "forward");
    if (direction != "forward")
        throw Error(what + ": direction '" + direction +
                    "' does not stream (a recurrence over the future); only 'forward' does");
    if (has_attribute(node, "clip") || int_attribute(node, "input_forget", 0) != 0 ||
        has_attribute(node, "activation_alpha") || has_attribute(node, "activation_beta"))
        throw Error(what + ": clip, input_forget and activation parameters are not supported");
    if (has_attribute(node, "activations")) {
        const onnx::AttributeProto* a = nullptr;
        for (const auto& at : node.attribute())
            if (at.name() == "activations")
                a = &at;
        const std::vector<std::string> standard =
            lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
                 : std::vector<std::string>{"Sigmoid", "Tanh"};
        if (a == nullptr || a->strings_size() != static_cast<int>(standard.size()))
            throw Error(what + ": only the default activations are supported");
        for (int i = 0; i < a->strings_size(); ++i)
            if (a->strings(i) != standard[static_cast<std::size_t>(i)])
                throw Error(what + ": activation '" + a->strings(i) +
                            "' is not supported (only the defaults)");
    }
    if (!lstm && int_attribute(node, "linear_before_reset", 0) != 1)
        throw Error(what +
                    ": linear_before_reset 0 is not supported; the native GRU applies the "
                    "reset gate after the recurrent product (linear_before_reset 1, as "
                    "PyTorch exports and Keras' reset_after)");
    const Constant& r = constant_input(constants, 2, what, "R");
    if (r.fill_only || r.dims.size() != 3)
        throw Error(what + ": " + input_name(node, 2, "R") + " must be a 3-D constant " +
                    "[num_directions, " + std::to_string(gates) + " x hidden_size, hidden_size]");
    const std::int64_t hidden_attr = int_attribute(node, "hidden_size", r.dims[2]);
    if (hidden_attr < 1 || static_cast<std::size_t>(hidden_attr) > max_frame)
        throw Error(what + ": hidden_size " + std::to_string(hidden_attr) + " is out of range");
    const auto h = static_cast<std::size_t>(hidden_attr);
    const std::size_t in = shape_.frame;
    const auto gh = static_cast<std::int64_t>(gates * h);
    const std::string meaning =
        "num_directions 1, " + std::to_string(gates) + " x hidden_size " + std::to_string(h);
    const std::vector<float> w =
        weights(optional_input(constants, 1), {1, gh, static_cast<std::int64_t>(in)}, what,
                input_name(node, 1, "W"), meaning + ", input size " + std::to_string(in));
    const std::vector<float> rw = weights(&r, {1, gh, static_cast<std::int64_t>(h)}, what,
                                          input_name(node, 2, "R"), meaning + ", hidden_size");
    std::vector<float> b(2 * gates * h, 0.0f);
    if (optional_input(constants, 3) != nullptr)
        b = weights(constants[3], {1, 2 * gh}, what, input_name(node, 3, "B"),
                    "num_directions 1, [Wb, Rb]: 2 x " + std::to_string(gates) + " x hidden_size " +
                        std::to_string(h));
    else if (node.input_size() > 3 && !node.input(3).empty())
        throw Error(what + ": input B must be a constant");
    if (node.input_size() > 4 && !node.input(4).empty())
        throw Error(what + ": sequence_lens is not supported (a stream has no length)");
    for (std::size_t i = 5; i < (lstm ? 8u : 6u); ++i)
        if (!all_zero(node, constants, i))
            throw Error(what + ": " +
                        (i == 7 ? std::string("peepholes P")
                                : "initial state " +
                                      input_name(node, i, i == 5 ? "initial_h" : "initial_c")) +
                        " must be zero (the native layers start from zero state)");
    // ONNX rows [gate * H + j], columns inputs -> column-major [in x gates*H], gates reordered.
    // LSTM: ONNX i, o, f, c -> Keras i, f, c, o. GRU: z, r, h in both.
    const std::size_t lstm_order[4] = {0, 2, 3, 1};
    const auto onnx_gate = [&](std::size_t g) { return lstm ? lstm_order[g] : g; };
    const auto columns = [&](const std::vector<float>& m, std::size_t cols) {
        std::vector<float> out(cols * gates * h);
        for (std::size_t g = 0; g < gates; ++g)
            for (std::size_t j = 0; j < h; ++j)
                for (std::size_t c = 0; c < cols; ++c)
                    out[c * gates * h + g * h + j] = m[(onnx_gate(g) * h + j) * cols + c];
        return out;
    };
    std::vector<float> kernel = columns(w, in), recurrent = columns(rw, h);
    std::vector<float> input_bias(gates * h), recurrent_bias(gates * h);
    for (std::size_t g = 0; g < gates; ++g)
        for (std::size_t j = 0; j < h; ++j) {
            input_bias[g * h + j] = b[onnx_gate(g) * h + j];
            recurrent_bias[g * h + j] = b[gates * h + onnx_gate(g) * h + j];
        }
    flush();
    if (lstm) {
        std::vector<float> bias(gates * h);
        for (std::size_t i = 0; i < bias.size(); ++i)
            bias[i] = input_bias[i] + recurrent_bias[i];
        layers_.push_back(std::make_unique<LSTM>(in, h, std::move(kernel), std::move(recurrent),
                                                 std::move(bias)));
    } else {
        layers_.push_back(std::make_unique<GRU>(in, h, std::move(kernel), std::move(recurrent),
                                                std::move(input_bias), std::move(recurrent_bias)));
    }
    // Y: [time, num_directions, batch, hidden] (layout 1: [batch, time, num_directions, hidden]).
    shape_.dims = layout == 0 ? std::vector<std::int64_t>{-1, 1, 1, static_cast<std::int64_t>(h)}
                              : std::vector<std::int64_t>{1, -1, 1, static_cast<std::int64_t>(h)};
    shape_.time = layout == 0 ? 0 : 1;
    shape_.frame = h;
}

void Importer::activation(const onnx::NodeProto& node, const std::string& what,
                          const std::vector<const Constant*>& constants) {
    const std::string& op = node.op_type();
    const std::size_t size = shape_.frame;
    if (op == "PRelu") {
        const Constant& slope = constant_input(constants, 1, what, "slope");
        std::vector<double> v = per_frame(slope, what, input_name(node, 1, "slope"), false);
        flush();
        layers_.push_back(std::make_unique<PReLU>(size, std::vector<float>(v.begin(), v.end())));
        return;
    }
    if (op == "Softmax") {
        const std::size_t rank = shape_.dims.size();
        const auto axis = static_cast<std::size_t>(
            axis_in(int_attribute(node, "axis", opset_ >= 13 ? -1 : 1), rank, what));
        if (opset_ >= 13) {
            require_feature_axis(axis, what);
        } else {  // over the flattened axes from `axis` on: time must be before them
            if (shape_.time >= axis)
                throw Error(what + ": axis " + std::to_string(axis) + " of " + stream_text(shape_) +
                            " includes time (softmax across frames)");
            for (std::size_t i = 0; i < axis; ++i)
                if (i != shape_.time && shape_.dims[i] != 1)
                    throw Error(what + ": axis " + std::to_string(axis) + " of " +
                                stream_text(shape_) + " leaves features outside the softmax");
        }
    }
    flush();
    Activation a = Activation::tanh;
    float alpha = 0.0f;
    if (op == "Sigmoid")
        a = Activation::sigmoid;
    else if (op == "Relu")
        a = Activation::relu;
    else if (op == "LeakyRelu")
        a = Activation::leaky_relu, alpha = float_attribute(node, "alpha", 0.01f);
    else if (op == "Elu")
        a = Activation::elu, alpha = float_attribute(node, "alpha", 1.0f);
    else if (op == "Softmax")
        a = Activation::softmax;
    if (!std::isfinite(alpha))
        throw Error(what + ": alpha is not finite");
    layers_.push_back(std::make_unique<ActivationLayer>(size, a, alpha));
}

}  // namespace legato::native::onnx_import
