#include "onnx_constants.hpp"

#include <cmath>
#include <cstring>
#include <limits>

#include "legato/error.hpp"

namespace legato::native::onnx_import {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
    throw Error(what + ": " + problem);
}

// Element count of `dims`, refusing negative sizes and anything above the cap.
std::size_t element_count(const std::vector<std::int64_t>& dims, const std::string& what) {
    std::size_t n = 1;
    for (const std::int64_t d : dims) {
        if (d < 0)
            fail(what, "has a negative dimension in " + shape_text(dims));
        if (d != 0 && n > max_constant_elements / static_cast<std::size_t>(d))
            fail(what, "shape " + shape_text(dims) + " is too large (more than " +
                           std::to_string(max_constant_elements) + " values)");
        n *= static_cast<std::size_t>(d);
    }
    if (n > max_constant_elements)
        fail(what, "shape " + shape_text(dims) + " is too large");
    return n;
}

template <typename T>
void from_raw(const std::string& raw, std::size_t n, std::vector<double>& out) {
    T v;
    for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(&v, raw.data() + i * sizeof(T), sizeof(T));
        out[i] = static_cast<double>(v);
    }
}

const onnx::AttributeProto* attribute(const onnx::NodeProto& node, const char* name) {
    for (const auto& a : node.attribute())
        if (a.name() == name)
            return &a;
    return nullptr;
}

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank, const std::string& what) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r)
        fail(what, "axis " + std::to_string(axis) + " is outside rank " + std::to_string(rank));
    return axis < 0 ? axis + r : axis;
}

// Row-major strides of `dims`.
std::vector<std::size_t> strides(const std::vector<std::int64_t>& dims) {
    std::vector<std::size_t> s(dims.size(), 1);
    for (std::size_t i = dims.size(); i-- > 1;)
        s[i - 1] = s[i] * static_cast<std::size_t>(dims[i]);
    return s;
}

void require_known_shape(const Constant& c, const std::string& what) {
    if (c.fill_only)
        fail(what,
             "an input's shape depends on the length of the streamed input; only zero-filled "
             "initial states may (the importer cannot evaluate this)");
}

Constant binary(const onnx::NodeProto& node, const Constant& a, const Constant& b,
                const std::string& what) {
    require_known_shape(a, what);
    require_known_shape(b, what);
    const std::string& op = node.op_type();
    Constant out;
    const bool a_scalar = a.count() == 1 && a.dims.size() <= b.dims.size();
    const bool b_scalar = b.count() == 1 && b.dims.size() <= a.dims.size();
    if (a.dims == b.dims || b_scalar)
        out.dims = a.dims;
    else if (a_scalar)
        out.dims = b.dims;
    else
        fail(what, "constant operands " + shape_text(a.dims) + " and " + shape_text(b.dims) +
                       " need broadcasting the importer does not do");
    const std::size_t n = element_count(out.dims, what);
    out.values.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = a.values[a.values.size() == 1 ? 0 : i];
        const double y = b.values[b.values.size() == 1 ? 0 : i];
        out.values[i] = op == "Add" ? x + y : op == "Sub" ? x - y : op == "Mul" ? x * y : x / y;
    }
    return out;
}

}  // namespace

std::vector<std::int64_t> slice_indices(std::int64_t start, std::int64_t end, std::int64_t step,
                                        std::int64_t size) {
    // ONNX clamps starts and ends into the axis (negative counts from the end).
    const auto clamp = [size](std::int64_t v, std::int64_t lo, std::int64_t hi) {
        v = v < 0 ? (v < -size ? -1 : v + size) : v;
        return v < lo ? lo : (v > hi ? hi : v);
    };
    std::vector<std::int64_t> kept;
    // The loops stop before a step past the end could overflow.
    if (step > 0) {
        const std::int64_t e = clamp(end, 0, size);
        for (std::int64_t j = clamp(start, 0, size); j < e; j += step) {
            kept.push_back(j);
            if (e - j <= step)
                break;
        }
    } else if (step < 0) {
        const std::int64_t e = clamp(end, -1, size - 1);
        const auto stride = static_cast<std::uint64_t>(-(step + 1)) + 1;
        for (std::int64_t j = clamp(start, -1, size - 1); j > e; j += step) {
            kept.push_back(j);
            if (static_cast<std::uint64_t>(j - e) <= stride)
                break;
        }
    }
    return kept;
}

std::size_t Constant::count() const {
    std::size_t n = 1;
    for (const std::int64_t d : dims)
        n *= static_cast<std::size_t>(d < 0 ? 0 : d);
    return n;
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
    std::string s = "[";
    for (std::size_t i = 0; i < dims.size(); ++i)
        s += (i ? ", " : "") + (dims[i] < 0 ? std::string("?") : std::to_string(dims[i]));
    return s + "]";
}

Constant read_tensor(const onnx::TensorProto& tensor, const std::string& what) {
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL)
        fail(what, "its data is stored outside the model file (external data): not supported");
    Constant c;
    c.dims.assign(tensor.dims().begin(), tensor.dims().end());
    const std::size_t n = element_count(c.dims, what);
    c.values.assign(n, 0.0);
    const std::string& raw = tensor.raw_data();
    const auto check = [&](std::size_t have, const char* field) {
        if (have != n)
            fail(what, std::string(field) + " holds " + std::to_string(have) + " values, shape " +
                           shape_text(c.dims) + " needs " + std::to_string(n));
    };
    const auto check_raw = [&](std::size_t size) {
        if (raw.size() != n * size)
            fail(what, "raw_data holds " + std::to_string(raw.size()) + " bytes, shape " +
                           shape_text(c.dims) + " needs " + std::to_string(n * size));
    };
    switch (tensor.data_type()) {
        case onnx::TensorProto::FLOAT:
            if (!raw.empty() || tensor.float_data_size() == 0) {
                check_raw(4);
                from_raw<float>(raw, n, c.values);
            } else {
                check(static_cast<std::size_t>(tensor.float_data_size()), "float_data");
                for (std::size_t i = 0; i < n; ++i)
                    c.values[i] = tensor.float_data(static_cast<int>(i));
            }
            break;
        case onnx::TensorProto::DOUBLE:
            if (!raw.empty() || tensor.double_data_size() == 0) {
                check_raw(8);
                from_raw<double>(raw, n, c.values);
            } else {
                check(static_cast<std::size_t>(tensor.double_data_size()), "double_data");
                for (std::size_t i = 0; i < n; ++i)
                    c.values[i] = tensor.double_data(static_cast<int>(i));
            }
            break;
        case onnx::TensorProto::INT64:
            if (!raw.empty() || tensor.int64_data_size() == 0) {
                check_raw(8);
                from_raw<std::int64_t>(raw, n, c.values);
            } else {
                check(static_cast<std::size_t>(tensor.int64_data_size()), "int64_data");
                for (std::size_t i = 0; i < n; ++i)
                    c.values[i] = static_cast<double>(tensor.int64_data(static_cast<int>(i)));
            }
            break;
        case onnx::TensorProto::INT32:
        case onnx::TensorProto::INT16:
        case onnx::TensorProto::INT8:
        case onnx::TensorProto::UINT8:
        case onnx::TensorProto::BOOL:
            if (!raw.empty() || tensor.int32_data_size() == 0) {
                const int type = tensor.data_type();
                if (type == onnx::TensorProto::INT32) {
                    check_raw(4);
                    from_raw<std::int32_t>(raw, n, c.values);
                } else if (type == onnx::TensorProto::INT16) {
                    check_raw(2);
                    from_raw<std::int16_t>(raw, n, c.values);
                } else if (type == onnx::TensorProto::INT8) {
                    check_raw(1);
                    from_raw<std::int8_t>(raw, n, c.values);
                } else {
                    check_raw(1);
                    from_raw<std::uint8_t>(raw, n, c.values);
                }
            } else {
                check(static_cast<std::size_t>(tensor.int32_data_size()), "int32_data");
                for (std::size_t i = 0; i < n; ++i)
                    c.values[i] = tensor.int32_data(static_cast<int>(i));
            }
            break;
        default:
            fail(what, "element type " + std::to_string(tensor.data_type()) +
                           " is not supported (float, double and integer tensors are)");
    }
    return c;
}

std::int64_t int_attribute(const onnx::NodeProto& node, const char* name, std::int64_t fallback) {
    const auto* a = attribute(node, name);
    return a != nullptr ? a->i() : fallback;
}

float float_attribute(const onnx::NodeProto& node, const char* name, float fallback) {
    const auto* a = attribute(node, name);
    return a != nullptr ? a->f() : fallback;
}

std::vector<std::int64_t> ints_attribute(const onnx::NodeProto& node, const char* name,
                                         bool* present) {
    const auto* a = attribute(node, name);
    if (present != nullptr)
        *present = a != nullptr;
    if (a == nullptr)
        return {};
    return {a->ints().begin(), a->ints().end()};
}

std::string string_attribute(const onnx::NodeProto& node, const char* name,
                             const std::string& fallback) {
    const auto* a = attribute(node, name);
    return a != nullptr ? a->s() : fallback;
}

bool has_attribute(const onnx::NodeProto& node, const char* name) {
    return attribute(node, name) != nullptr;
}

SliceArguments slice_arguments(const onnx::NodeProto& node, std::int64_t opset,
                               const Constant* starts, const Constant* ends, const Constant* axes,
                               const Constant* steps, const std::string& what) {
    SliceArguments out;
    if (opset >= 10) {
        out.starts = integers(*starts, what);
        out.ends = integers(*ends, what);
        if (axes != nullptr)
            out.axes = integers(*axes, what);
        if (steps != nullptr)
            out.steps = integers(*steps, what);
    } else {
        out.starts = ints_attribute(node, "starts");
        out.ends = ints_attribute(node, "ends");
        out.axes = ints_attribute(node, "axes");
    }
    if (out.axes.empty())
        for (std::size_t i = 0; i < out.starts.size(); ++i)
            out.axes.push_back(static_cast<std::int64_t>(i));
    if (out.steps.empty())
        out.steps.assign(out.starts.size(), 1);
    if (out.ends.size() != out.starts.size() || out.axes.size() != out.starts.size() ||
        out.steps.size() != out.starts.size())
        fail(what, "starts, ends, axes and steps differ in length");
    return out;
}

std::vector<std::int64_t> integers(const Constant& c, const std::string& what) {
    require_known_shape(c, what);
    std::vector<std::int64_t> out;
    out.reserve(c.values.size());
    for (const double v : c.values) {
        if (std::isnan(v) || v != std::floor(v))
            fail(what, "needs integers known at load time, got " +
                           (std::isnan(v) ? std::string("a value that depends on the input length")
                                          : std::to_string(v)));
        // Values beyond +-2^62 are the "to the end" bounds of slices (INT64_MAX/MIN, which a
        // double rounds): saturate them.
        constexpr double far = 4.6e18;
        out.push_back(v >= far    ? std::numeric_limits<std::int64_t>::max()
                      : v <= -far ? std::numeric_limits<std::int64_t>::min()
                                  : static_cast<std::int64_t>(v));
    }
    return out;
}

bool evaluate(const onnx::NodeProto& node, const std::vector<const Constant*>& inputs,
              std::int64_t opset, const std::string& what, std::vector<Constant>& outputs) {
    const std::string& op = node.op_type();
    const auto input = [&](std::size_t i) -> const Constant& {
        if (i >= inputs.size() || inputs[i] == nullptr)
            fail(what, "input " + std::to_string(i) + " is missing");
        return *inputs[i];
    };
    const auto optional = [&](std::size_t i) -> const Constant* {
        return i < inputs.size() ? inputs[i] : nullptr;
    };
    Constant out;
    // Rearranging a tensor of unknown shape that holds one value throughout (a zero initial
    // state shaped from the input, sliced per layer of a stacked LSTM) keeps it so.
    const bool rearranges = op == "Slice" || op == "Gather" || op == "Squeeze" ||
                            op == "Unsqueeze" || op == "Reshape" || op == "Transpose" ||
                            op == "Identity" || op == "Cast" || op == "Expand" || op == "Concat";
    if (rearranges && !inputs.empty() && inputs[0] != nullptr && inputs[0]->fill_only) {
        const std::size_t data_inputs = op == "Concat" ? inputs.size() : 1;
        for (std::size_t i = 0; i < data_inputs; ++i)
            if (inputs[i] == nullptr || !inputs[i]->fill_only ||
                !(inputs[i]->values[0] == inputs[0]->values[0]))
                fail(what, "combines tensors whose shapes depend on the input length");
        outputs.assign(1, *inputs[0]);
        return true;
    }
    if (op == "Constant") {
        if (const auto* a = attribute(node, "value"))
            out = read_tensor(a->t(), what);
        else if (const auto* f = attribute(node, "value_float"))
            out.values = {f->f()};
        else if (const auto* i = attribute(node, "value_int"))
            out.values = {static_cast<double>(i->i())};
        else if (const auto* fs = attribute(node, "value_floats"))
            out.dims = {fs->floats_size()},
            out.values.assign(fs->floats().begin(), fs->floats().end());
        else if (const auto* is = attribute(node, "value_ints")) {
            out.dims = {is->ints_size()};
            for (const auto v : is->ints())
                out.values.push_back(static_cast<double>(v));
        } else
            fail(what,
                 "has no value attribute the importer reads (value, value_float(s), "
                 "value_int(s))");
    } else if (op == "Identity" || op == "Cast") {
        out = input(0);
        if (op == "Cast" && node.attribute_size() > 0) {
            const std::int64_t to = int_attribute(node, "to", onnx::TensorProto::FLOAT);
            if (to != onnx::TensorProto::FLOAT && to != onnx::TensorProto::DOUBLE)
                for (double& v : out.values)
                    v = std::isnan(v) ? v : std::trunc(v);
        }
    } else if (op == "Shape") {
        const Constant& x = input(0);
        require_known_shape(x, what);
        for (const auto d : x.dims)
            out.values.push_back(static_cast<double>(d));
        out.dims = {static_cast<std::int64_t>(x.dims.size())};
    } else if (op == "ConstantOfShape") {
        const Constant& shape = input(0);
        require_known_shape(shape, what);
        double value = 0.0;
        if (const auto* a = attribute(node, "value")) {
            const Constant v = read_tensor(a->t(), what + ": value");
            if (v.values.size() != 1)
                fail(what, "value must hold one element");
            value = v.values[0];
        }
        bool known = true;
        for (const double d : shape.values)
            known = known && !std::isnan(d);
        if (!known) {
            out.fill_only = true;
            out.values = {value};
        } else {
            out.dims = integers(shape, what);
            out.values.assign(element_count(out.dims, what), value);
        }
    } else if (op == "Unsqueeze" || op == "Squeeze") {
        const Constant& x = input(0);
        require_known_shape(x, what);
        std::vector<std::int64_t> axes =
            opset >= 13 ? (optional(1) ? integers(*optional(1), what) : std::vector<std::int64_t>{})
                        : ints_attribute(node, "axes");
        out = x;
        if (op == "Unsqueeze") {
            const std::size_t rank = x.dims.size() + axes.size();
            std::vector<bool> inserted(rank, false);
            for (const auto a : axes) {
                const auto at = static_cast<std::size_t>(normalize_axis(a, rank, what));
                if (inserted[at])
                    fail(what, "repeats axis " + std::to_string(a));
                inserted[at] = true;
            }
            out.dims.clear();
            for (std::size_t i = 0, j = 0; i < rank; ++i)
                out.dims.push_back(inserted[i] ? 1 : x.dims[j++]);
        } else {
            std::vector<bool> removed(x.dims.size(), axes.empty());
            for (const auto a : axes)
                removed[static_cast<std::size_t>(normalize_axis(a, x.dims.size(), what))] = true;
            out.dims.clear();
            for (std::size_t i = 0; i < x.dims.size(); ++i)
                if (!removed[i] || x.dims[i] != 1)
                    out.dims.push_back(x.dims[i]);
        }
    } else if (op == "Concat") {
        std::int64_t axis = int_attribute(node, "axis", 0);
        std::vector<const Constant*> parts;
        for (std::size_t i = 0; i < inputs.size(); ++i)
            if (inputs[i] != nullptr) {
                require_known_shape(*inputs[i], what);
                parts.push_back(inputs[i]);
            }
        if (parts.empty())
            fail(what, "has no inputs");
        const std::size_t rank = parts[0]->dims.size();
        axis = normalize_axis(axis, rank, what);
        const auto ax = static_cast<std::size_t>(axis);
        out.dims = parts[0]->dims;
        out.dims[ax] = 0;
        for (const Constant* p : parts) {
            bool same = p->dims.size() == rank;
            for (std::size_t d = 0; same && d < rank; ++d)
                same = d == ax || p->dims[d] == parts[0]->dims[d];
            if (!same)
                fail(what, "inputs " + shape_text(parts[0]->dims) + " and " + shape_text(p->dims) +
                               " do not concatenate on axis " + std::to_string(axis));
            out.dims[ax] += p->dims[ax];
        }
        out.values.reserve(element_count(out.dims, what));
        std::size_t outer = 1;
        for (std::size_t d = 0; d < ax; ++d)
            outer *= static_cast<std::size_t>(out.dims[d]);
        for (std::size_t o = 0; o < outer; ++o)
            for (const Constant* p : parts) {
                const std::size_t block = p->values.size() / (outer == 0 ? 1 : outer);
                out.values.insert(out.values.end(), p->values.begin() + o * block,
                                  p->values.begin() + (o + 1) * block);
            }
    } else if (op == "Reshape") {
        const Constant& x = input(0);
        require_known_shape(x, what);
        std::vector<std::int64_t> shape = integers(input(1), what);
        std::size_t known = 1;
        int infer = -1;
        for (std::size_t i = 0; i < shape.size(); ++i) {
            if (shape[i] == 0 && int_attribute(node, "allowzero", 0) == 0) {
                if (i >= x.dims.size())
                    fail(what, "copies a dimension the input does not have");
                shape[i] = x.dims[i];
            }
            if (shape[i] == -1) {
                if (infer >= 0)
                    fail(what, "has two -1 dimensions");
                infer = static_cast<int>(i);
            } else if (shape[i] < 0) {
                fail(what, "shape " + shape_text(shape) + " is invalid");
            } else {
                known *= static_cast<std::size_t>(shape[i]);
            }
        }
        if (infer >= 0 && known != 0)
            shape[static_cast<std::size_t>(infer)] =
                static_cast<std::int64_t>(x.values.size() / known);
        if (element_count(shape, what) != x.values.size())
            fail(what, "cannot reshape " + shape_text(x.dims) + " to " + shape_text(shape));
        out.dims = shape;
        out.values = x.values;
    } else if (op == "Transpose") {
        const Constant& x = input(0);
        require_known_shape(x, what);
        const std::size_t rank = x.dims.size();
        std::vector<std::int64_t> perm = ints_attribute(node, "perm");
        if (perm.empty())
            for (std::size_t i = rank; i-- > 0;)
                perm.push_back(static_cast<std::int64_t>(i));
        if (perm.size() != rank)
            fail(what, "perm has " + std::to_string(perm.size()) + " axes, the input " +
                           std::to_string(rank));
        std::vector<bool> seen(rank, false);
        for (auto& p : perm) {
            p = normalize_axis(p, rank, what);
            if (seen[static_cast<std::size_t>(p)])
                fail(what, "perm repeats an axis");
            seen[static_cast<std::size_t>(p)] = true;
            out.dims.push_back(x.dims[static_cast<std::size_t>(p)]);
        }
        const auto in_strides = strides(x.dims);
        const auto out_strides = strides(out.dims);
        out.values.resize(x.values.size());
        for (std::size_t i = 0; i < out.values.size(); ++i) {
            std::size_t from = 0, rest = i;
            for (std::size_t d = 0; d < rank; ++d) {
                const std::size_t index = rest / out_strides[d];
                rest %= out_strides[d];
                from += index * in_strides[static_cast<std::size_t>(perm[d])];
            }
            out.values[i] = x.values[from];
        }
    } else if (op == "Slice" || op == "Gather") {
        const Constant& x = input(0);
        require_known_shape(x, what);
        const std::size_t rank = x.dims.size();
        // Both become a list of kept indices along one axis (Slice: per listed axis in turn).
        std::vector<std::pair<std::size_t, std::vector<std::int64_t>>> picks;
        bool drop_axis = false;
        if (op == "Gather") {
            const auto axis = static_cast<std::size_t>(
                normalize_axis(int_attribute(node, "axis", 0), rank, what));
            const Constant& idx = input(1);
            std::vector<std::int64_t> indices = integers(idx, what);
            for (auto& i : indices) {
                if (i < -x.dims[axis] || i >= x.dims[axis])
                    fail(what, "index " + std::to_string(i) + " is outside " +
                                   std::to_string(x.dims[axis]));
                i = i < 0 ? i + x.dims[axis] : i;
            }
            if (idx.dims.size() > 1)
                fail(what, "gathers with multi-dimensional indices (not supported)");
            drop_axis = idx.dims.empty();
            picks.push_back({axis, indices});
        } else {
            const bool from_inputs = opset >= 10;
            const SliceArguments slice = slice_arguments(
                node, opset, from_inputs ? &input(1) : nullptr, from_inputs ? &input(2) : nullptr,
                from_inputs ? optional(3) : nullptr, from_inputs ? optional(4) : nullptr, what);
            for (std::size_t i = 0; i < slice.starts.size(); ++i) {
                const auto axis =
                    static_cast<std::size_t>(normalize_axis(slice.axes[i], rank, what));
                const std::int64_t n = x.dims[axis];
                const std::int64_t step = slice.steps[i];
                if (step == 0)
                    fail(what, "has a step of 0");
                picks.push_back({axis, slice_indices(slice.starts[i], slice.ends[i], step, n)});
            }
        }
        Constant current = x;
        for (const auto& [axis, kept] : picks) {
            Constant next;
            next.dims = current.dims;
            next.dims[axis] = static_cast<std::int64_t>(kept.size());
            const auto s = strides(current.dims);
            std::size_t outer = 1;
            for (std::size_t d = 0; d < axis; ++d)
                outer *= static_cast<std::size_t>(current.dims[d]);
            next.values.reserve(element_count(next.dims, what));
            for (std::size_t o = 0; o < outer; ++o)
                for (const auto k : kept) {
                    const std::size_t base =
                        o * s[axis] * static_cast<std::size_t>(current.dims[axis]) +
                        static_cast<std::size_t>(k) * s[axis];
                    next.values.insert(next.values.end(), current.values.begin() + base,
                                       current.values.begin() + base + s[axis]);
                }
            current = std::move(next);
        }
        if (drop_axis)
            current.dims.erase(current.dims.begin() + static_cast<std::ptrdiff_t>(picks[0].first));
        out = std::move(current);
    } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
        out = binary(node, input(0), input(1), what);
    } else {
        return false;
    }
    outputs.assign(1, std::move(out));
    return true;
}

}  // namespace legato::native::onnx_import
