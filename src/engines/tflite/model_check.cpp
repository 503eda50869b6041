#include "model_check.hpp"

#include <limits>

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
            return what + " tensor " + std::to_string(index) + " does not exist (the subgraph has " +
                   std::to_string(tensors) + " tensors)";
    }
    return {};
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
                    if (dim < 0)
                        return tensor_where + ": dimension " + std::to_string(d) + " is " +
                               std::to_string(dim);
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
            const bool sparse =
                reinterpret_cast<const flatbuffers::Table*>(tensor)->CheckField(16);
            if (content != nullptr && content->size() > 0 && bytes_per > 0 && !sparse &&
                content->size() != elements * bytes_per)
                return tensor_where + ": constant data of " + std::to_string(content->size()) +
                       " bytes for " + std::to_string(elements) + " elements of " +
                       std::to_string(bytes_per) + " bytes";
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
        }
    }
    return {};
}

}  // namespace legato::tflite_check
