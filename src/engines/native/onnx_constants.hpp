#pragma once
// The constant side of an ONNX graph for the native engine's ONNX importer: initializers,
// Constant nodes and the small shape computations torch.onnx.export writes around the layers
// (pads built with ConstantOfShape/Concat/Reshape/Slice, zero initial states shaped from
// Shape(input)), evaluated at load time. Only included by the importer's own files, which
// compile with ONNX's protobuf headers (libonnx-dev).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace legato::native::onnx_import {

/// A tensor known at load time. A dimension of the streamed input's time axis is not known:
/// Shape() of the stream gives NaN there, and ConstantOfShape of such a shape gives a tensor
/// whose shape is unknown but whose every element is `values[0]` (`fill_only`).
struct Constant {
    std::vector<std::int64_t> dims;
    std::vector<double> values;  ///< row-major; NaN = unknown (or a NaN weight)
    bool fill_only = false;

    /// [setup thread] Element count of `dims` (1 for a scalar).
    std::size_t count() const;
};

/// [setup thread] The most elements a constant may hold (a corrupt file must not make the
/// importer allocate gigabytes through ConstantOfShape or Expand).
inline constexpr std::size_t max_constant_elements = std::size_t{1} << 22;

/// [setup thread] Reads an initializer or a Constant node's tensor (float, double, int64, int32,
/// bool and the small integer types; raw_data or the typed fields). Throws legato::Error
/// starting with `what` for external data, unsupported types and sizes that disagree.
Constant read_tensor(const onnx::TensorProto& tensor, const std::string& what);

/// [setup thread] Evaluates `node` whose inputs are all constants (`inputs[i]` null for an
/// omitted optional input). Returns false if the op is not one the importer evaluates; throws
/// legato::Error starting with `what` for bad attributes or shapes.
bool evaluate(const onnx::NodeProto& node, const std::vector<const Constant*>& inputs,
              std::int64_t opset, const std::string& what, std::vector<Constant>& outputs);

/// [setup thread] The indices ONNX Slice keeps from an axis of `size` for (start, end, step);
/// step must not be 0.
std::vector<std::int64_t> slice_indices(std::int64_t start, std::int64_t end, std::int64_t step,
                                        std::int64_t size);

/// [setup thread] "[1, 32, 8]" (unknown values as "?"), for messages.
std::string shape_text(const std::vector<std::int64_t>& dims);

/// [setup thread] An integer attribute, or `fallback` if absent.
std::int64_t int_attribute(const onnx::NodeProto& node, const char* name, std::int64_t fallback);
/// [setup thread] A float attribute, or `fallback` if absent.
float float_attribute(const onnx::NodeProto& node, const char* name, float fallback);
/// [setup thread] A list-of-integers attribute; `present` tells whether the node has it.
std::vector<std::int64_t> ints_attribute(const onnx::NodeProto& node, const char* name,
                                         bool* present = nullptr);
/// [setup thread] A string attribute, or `fallback` if absent.
std::string string_attribute(const onnx::NodeProto& node, const char* name,
                             const std::string& fallback);
/// [setup thread] Whether the node has the attribute.
bool has_attribute(const onnx::NodeProto& node, const char* name);

/// [setup thread] The constant's values as integers (axes, pads, shapes). Throws legato::Error
/// starting with `what` if a value is unknown or not an integer.
std::vector<std::int64_t> integers(const Constant& c, const std::string& what);

/// A Slice node's arguments with axes (0, 1, ...) and steps (1) filled in when not given.
struct SliceArguments {
    std::vector<std::int64_t> starts, ends, axes, steps;
};

/// [setup thread] Reads a Slice node's arguments: from its inputs 1-4 from opset 10 on (`axes`
/// and `steps` null when absent), from its attributes before. Throws legato::Error starting
/// with `what` when the lists differ in length.
SliceArguments slice_arguments(const onnx::NodeProto& node, std::int64_t opset,
                               const Constant* starts, const Constant* ends, const Constant* axes,
                               const Constant* steps, const std::string& what);

}  // namespace legato::native::onnx_import
