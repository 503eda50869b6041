#include "model_check.hpp"

#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <vector>

#include "tflite_schema_generated.h"  // flatc --cpp of the TFLite schema (see CMakeLists.txt)

namespace legato::tflite_check {

namespace {

// Bytes per element, 0 where the size is not fixed (strings) or the type unknown.
std::size_t element_size(tflite::TensorType type) {
    switch (type) {
        case tflite::TensorType_FLOAT32:
        case tflite::TensorType_INT32:
            return 4;
        case tflite::TensorType_FLOAT16:
        case tflite::TensorType_INT16:
            return 2;
        case tflite::TensorType_UINT8:
        case tflite::TensorType_BOOL:
        case tflite::TensorType_INT8:
            return 1;
        case tflite::TensorType_INT64:
        case tflite::TensorType_COMPLEX64:
            return 8;
        default:
            return 0;
    }
}

// Refuses tensors above 2^31 bytes: no audio model needs them, and TFLite 2.2 computes sizes in
// int in places.
constexpr std::uint64_t max_tensor_bytes = std::uint64_t{1} << 31;

std::string index_problem(const flatbuffers::Vector<std::int32_t>* indices, std::size_t tensors,
                          bool optional_allowed, const std::string& what) {
    if (indices == nullptr)
        return {};
    for (flatbuffers::uoffset_t i = 0; i < indices->size(); ++i) {
        const std::int32_t index = indices->Get(i);
        if (index == -1 && optional_allowed)
            continue;
        if (index < 0 || static_cast<std::size_t>(index) >= tensors)
            return what + " tensor " + std::to_string(index) +
                   " does not exist (the subgraph has " + std::to_string(tensors) + " tensors)";
    }
    return {};
}

// The constant int32 data of tensor `index`, if it has any (shape and block-size inputs).
std::optional<std::vector<std::int32_t>> constant_int32(const tflite::Model* model,
                                                        const tflite::SubGraph* subgraph,
                                                        std::int32_t index) {
    if (index < 0)
        return std::nullopt;
    const tflite::Tensor* tensor =
        subgraph->tensors()->Get(static_cast<flatbuffers::uoffset_t>(index));
    if (tensor->type() != tflite::TensorType_INT32)
        return std::nullopt;
    const tflite::Buffer* buffer = model->buffers()->Get(tensor->buffer());
    const auto* content = buffer ? buffer->data() : nullptr;
    if (content == nullptr || content->size() == 0)
        return std::nullopt;
    std::vector<std::int32_t> values(content->size() / sizeof(std::int32_t));
    std::memcpy(values.data(), content->data(), values.size() * sizeof(std::int32_t));
    return values;
}

std::int32_t input_index(const tflite::Operator* op, flatbuffers::uoffset_t k) {
    return op->inputs() && op->inputs()->size() > k ? op->inputs()->Get(k) : -1;
}

std::string positive(const char* field, std::int32_t value) {
    return value >= 1
               ? std::string{}
               : std::string(field) + " is " + std::to_string(value) + ", must be at least 1";
}

std::string first_problem(std::initializer_list<std::string> problems) {
    for (const auto& p : problems)
        if (!p.empty())
            return p;
    return {};
}

// Strides and dilations of CONV_2D and DEPTHWISE_CONV_2D (their options share the fields).
template <class Options>
std::string convolution_problem(const Options& o) {
    return first_problem({positive("stride_w", o.stride_w()), positive("stride_h", o.stride_h()),
                          positive("dilation_w_factor", o.dilation_w_factor()),
                          positive("dilation_h_factor", o.dilation_h_factor())});
}

// Operator parameters TensorFlow Lite 2.2 divides by without checking them (strides, filter and
// block sizes, split counts, reshape targets, integer divisors): a zero crashes the process with
// SIGFPE while it prepares or runs the model. Absent or mistyped options reach most kernels as
// zeros (a pooling operator without Pool2DOptions crashes), so they must be there. Found by
// fuzzing; fuzz/regressions/tflite/ holds one model per rule that crashed TFLite itself.
std::string operator_problem(const tflite::Model* model, const tflite::SubGraph* subgraph,
                             const tflite::Operator* op, tflite::BuiltinOperator code) {
    const auto missing = [&](const char* options) {
        return std::string(tflite::EnumNameBuiltinOperator(code)) + " lacks its " + options;
    };
    const auto with_name = [&](const std::string& problem) {
        return problem.empty() ? problem
                               : std::string(tflite::EnumNameBuiltinOperator(code)) + " " + problem;
    };
    switch (code) {
        case tflite::BuiltinOperator_CONV_2D:
            // Without options TFLite 2.2 gives CONV_2D working defaults (unlike the others).
            if (const auto* o = op->builtin_options_as_Conv2DOptions())
                return with_name(convolution_problem(*o));
            return {};
        case tflite::BuiltinOperator_DEPTHWISE_CONV_2D:
            if (const auto* o = op->builtin_options_as_DepthwiseConv2DOptions())
                return with_name(convolution_problem(*o));
            return missing("DepthwiseConv2DOptions");
        case tflite::BuiltinOperator_TRANSPOSE_CONV: {
            const auto* o = op->builtin_options_as_TransposeConvOptions();
            if (o == nullptr)
                return missing("TransposeConvOptions");
            return with_name(first_problem(
                {positive("stride_w", o->stride_w()), positive("stride_h", o->stride_h())}));
        }
        case tflite::BuiltinOperator_AVERAGE_POOL_2D:
        case tflite::BuiltinOperator_MAX_POOL_2D:
        case tflite::BuiltinOperator_L2_POOL_2D: {
            const auto* o = op->builtin_options_as_Pool2DOptions();
            if (o == nullptr)
                return missing("Pool2DOptions");
            return with_name(first_problem({positive("stride_w", o->stride_w()),
                                            positive("stride_h", o->stride_h()),
                                            positive("filter_width", o->filter_width()),
                                            positive("filter_height", o->filter_height())}));
        }
        case tflite::BuiltinOperator_SPACE_TO_DEPTH: {
            const auto* o = op->builtin_options_as_SpaceToDepthOptions();
            if (o == nullptr)
                return missing("SpaceToDepthOptions");
            return with_name(positive("block_size", o->block_size()));
        }
        case tflite::BuiltinOperator_DEPTH_TO_SPACE: {
            const auto* o = op->builtin_options_as_DepthToSpaceOptions();
            if (o == nullptr)
                return missing("DepthToSpaceOptions");
            return with_name(positive("block_size", o->block_size()));
        }
        case tflite::BuiltinOperator_SPLIT: {
            const auto* o = op->builtin_options_as_SplitOptions();
            if (o == nullptr)
                return missing("SplitOptions");
            return with_name(positive("num_splits", o->num_splits()));
        }
        case tflite::BuiltinOperator_SPLIT_V: {
            const auto* o = op->builtin_options_as_SplitVOptions();
            if (o == nullptr)
                return missing("SplitVOptions");
            return with_name(positive("num_splits", o->num_splits()));
        }
        case tflite::BuiltinOperator_RESHAPE: {
            // The target shape comes from the shape input when it is constant, else the options.
            std::vector<std::int32_t> target;
            if (auto values = constant_int32(model, subgraph, input_index(op, 1)))
                target = std::move(*values);
            else if (const auto* o = op->builtin_options_as_ReshapeOptions();
                     o != nullptr && o->new_shape() != nullptr)
                target.assign(o->new_shape()->begin(), o->new_shape()->end());
            int stretch = 0;
            for (const std::int32_t d : target) {
                if (d == -1 && ++stretch == 1)
                    continue;
                if (d < 1)
                    return std::string("RESHAPE target shape has a dimension ") +
                           std::to_string(d) + " (each must be at least 1, one may be -1)";
            }
            return {};
        }
        case tflite::BuiltinOperator_SPACE_TO_BATCH_ND:
        case tflite::BuiltinOperator_BATCH_TO_SPACE_ND:
            if (auto block = constant_int32(model, subgraph, input_index(op, 1)))
                for (const std::int32_t b : *block)
                    if (b < 1)
                        return with_name("block_shape has an entry " + std::to_string(b) +
                                         ", must be at least 1");
            return {};
        case tflite::BuiltinOperator_DIV:
        case tflite::BuiltinOperator_FLOOR_DIV:
        case tflite::BuiltinOperator_FLOOR_MOD:
            if (auto divisor = constant_int32(model, subgraph, input_index(op, 1)))
                for (const std::int32_t d : *divisor)
                    if (d == 0)
                        return with_name("divides by a constant integer 0");
            return {};
        default:
            return {};
    }
}

}  // namespace

std::string model_problem(const std::uint8_t* data, std::size_t size) {
    flatbuffers::Verifier verifier(data, size);
    if (!tflite::VerifyModelBuffer(verifier))
        return "its flatbuffer does not verify against the TFLite schema (truncated or corrupt)";
    const tflite::Model* model = tflite::GetModel(data);
    const auto* subgraphs = model->subgraphs();
    if (subgraphs == nullptr || subgraphs->size() == 0)
        return "it has no subgraph";
    const auto* buffers = model->buffers();
    if (buffers == nullptr)
        return "it has no buffer table";
    const std::size_t opcodes = model->operator_codes() ? model->operator_codes()->size() : 0;
    for (flatbuffers::uoffset_t s = 0; s < subgraphs->size(); ++s) {
        const std::string where = "subgraph " + std::to_string(s);
        const tflite::SubGraph* subgraph = subgraphs->Get(s);
        if (subgraph == nullptr)
            return where + " is empty";
        const auto* tensors = subgraph->tensors();
        const auto* operators = subgraph->operators();
        if (tensors == nullptr || operators == nullptr)
            return where + " lacks its tensor or operator list";
        const std::size_t count = tensors->size();
        for (const auto& [list, name] :
             {std::pair{subgraph->inputs(), "input"}, std::pair{subgraph->outputs(), "output"}}) {
            if (std::string p = index_problem(list, count, false, name); !p.empty())
                return where + ": " + p;
        }
        for (flatbuffers::uoffset_t t = 0; t < count; ++t) {
            const tflite::Tensor* tensor = tensors->Get(t);
            const std::string tensor_where = where + ", tensor " + std::to_string(t);
            if (tensor == nullptr)
                return tensor_where + " is empty";
            if (tensor->buffer() >= buffers->size())
                return tensor_where + ": buffer " + std::to_string(tensor->buffer()) +
                       " does not exist (the model has " + std::to_string(buffers->size()) + ")";
            std::uint64_t elements = 1;
            if (const auto* shape = tensor->shape()) {
                for (flatbuffers::uoffset_t d = 0; d < shape->size(); ++d) {
                    const std::int32_t dim = shape->Get(d);
                    // Empty tensors reach divisions by a dimension in TFLite's kernels
                    // (FULLY_CONNECTED's batch size); no audio model declares one.
                    if (dim < 1)
                        return tensor_where + ": dimension " + std::to_string(d) + " is " +
                               std::to_string(dim) + " (every dimension must be at least 1)";
                    elements *= static_cast<std::uint64_t>(dim);
                    if (elements > max_tensor_bytes)
                        return tensor_where + " is larger than 2^31 elements";
                }
            }
            const std::size_t bytes_per = element_size(tensor->type());
            if (elements * bytes_per > max_tensor_bytes)
                return tensor_where + " is larger than 2^31 bytes";
            const tflite::Buffer* buffer = buffers->Get(tensor->buffer());
            const auto* content = buffer ? buffer->data() : nullptr;
            // A constant tensor's data must be exactly its size: TFLite reads it unchecked.
            // Sparse constants (TFLite 2.2's `sparsity`, vtable slot 16, newer than the schema
            // compiled here) hold less and are checked by TFLite itself.
            const bool sparse = reinterpret_cast<const flatbuffers::Table*>(tensor)->CheckField(16);
            if (content != nullptr && content->size() > 0 && bytes_per > 0 && !sparse &&
                content->size() != elements * bytes_per)
                return tensor_where + ": constant data of " + std::to_string(content->size()) +
                       " bytes for " + std::to_string(elements) + " elements of " +
                       std::to_string(bytes_per) + " bytes";
        }
        // Which tensors hold data before each operator runs (TFLite runs them in file order):
        // the subgraph's inputs, variables, constants, and what earlier operators wrote.
        std::vector<bool> written(count, false);
        if (subgraph->inputs() != nullptr)
            for (const std::int32_t index : *subgraph->inputs())
                written[static_cast<std::size_t>(index)] = true;
        for (flatbuffers::uoffset_t t = 0; t < count; ++t) {
            const tflite::Tensor* tensor = tensors->Get(t);
            const tflite::Buffer* buffer = buffers->Get(tensor->buffer());
            if (tensor->is_variable() || (buffer && buffer->data() && buffer->data()->size() > 0))
                written[t] = true;
        }
        for (flatbuffers::uoffset_t o = 0; o < operators->size(); ++o) {
            const tflite::Operator* op = operators->Get(o);
            const std::string op_where = where + ", operator " + std::to_string(o);
            if (op == nullptr)
                return op_where + " is empty";
            if (op->opcode_index() >= opcodes)
                return op_where + ": operator code " + std::to_string(op->opcode_index()) +
                       " does not exist (the model has " + std::to_string(opcodes) + ")";
            if (std::string p = index_problem(op->inputs(), count, true, "input"); !p.empty())
                return op_where + ": " + p;
            if (std::string p = index_problem(op->outputs(), count, false, "output"); !p.empty())
                return op_where + ": " + p;
            if (std::string p = index_problem(op->intermediates(), count, false, "intermediate");
                !p.empty())
                return op_where + ": " + p;
            const tflite::OperatorCode* opcode = model->operator_codes()->Get(op->opcode_index());
            if (opcode == nullptr)
                return op_where + ": its operator code is empty";
            if (std::string p = operator_problem(model, subgraph, op, opcode->builtin_code());
                !p.empty())
                return op_where + ": " + p;
            // A weight whose data is missing is read as whatever the arena holds (TFLite 2.2's
            // CONV_2D then dereferences null): refuse it here, by name.
            if (op->inputs() != nullptr)
                for (const std::int32_t index : *op->inputs())
                    if (index >= 0 && !written[static_cast<std::size_t>(index)])
                        return op_where + " (" +
                               tflite::EnumNameBuiltinOperator(opcode->builtin_code()) +
                               ") reads tensor " + std::to_string(index) +
                               ", which has no data: not a model input, not a variable, no "
                               "constant data and no earlier operator writes it (an incomplete "
                               "or corrupt file)";
            if (op->outputs() != nullptr)
                for (const std::int32_t index : *op->outputs())
                    written[static_cast<std::size_t>(index)] = true;
        }
    }
    return {};
}

}  // namespace legato::tflite_check
