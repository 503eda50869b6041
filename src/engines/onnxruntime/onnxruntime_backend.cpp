#include "legato/onnxruntime_backend.hpp"

#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "legato/error.hpp"

namespace legato {

namespace {

// One environment per process: ONNX Runtime keeps a single one anyway. Every session holds a
// reference so that the environment outlives it, even past static destruction.
std::shared_ptr<Ort::Env> shared_env() {
    static const std::shared_ptr<Ort::Env> env =
        std::make_shared<Ort::Env>(ORT_LOGGING_LEVEL_WARNING, "legato");
    return env;
}

std::string runtime_version() {
    return OrtGetApiBase()->GetVersionString();
}

std::string type_name(ONNXTensorElementDataType type) {
    switch (type) {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT:
            return "float32";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8:
            return "uint8";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8:
            return "int8";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16:
            return "uint16";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16:
            return "int16";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32:
            return "int32";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64:
            return "int64";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING:
            return "string";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL:
            return "bool";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16:
            return "float16";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE:
            return "float64";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32:
            return "uint32";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64:
            return "uint64";
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16:
            return "bfloat16";
        default:
            return "element type " + std::to_string(static_cast<int>(type));
    }
}

std::string onnx_type_name(ONNXType type) {
    switch (type) {
        case ONNX_TYPE_SEQUENCE:
            return "a sequence";
        case ONNX_TYPE_MAP:
            return "a map";
        case ONNX_TYPE_OPTIONAL:
            return "an optional";
        case ONNX_TYPE_SPARSETENSOR:
            return "a sparse tensor";
        default:
            return "not a tensor";
    }
}

// One input or output as the model declares it. Dynamic dimensions are -1 in `shape` and have
// their symbolic name (possibly empty) in `symbols`.
struct ModelTensor {
    std::string name;
    bool is_tensor = false;
    ONNXType onnx_type = ONNX_TYPE_UNKNOWN;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    std::vector<std::int64_t> shape;
    std::vector<std::string> symbols;
    bool covered = false;  // a TensorView maps to it
};

ModelTensor describe_tensor(std::string name, const Ort::TypeInfo& info) {
    ModelTensor tensor;
    tensor.name = std::move(name);
    tensor.onnx_type = info.GetONNXType();
    tensor.is_tensor = tensor.onnx_type == ONNX_TYPE_TENSOR;
    if (!tensor.is_tensor)
        return tensor;
    const auto shape_info = info.GetTensorTypeAndShapeInfo();
    tensor.type = shape_info.GetElementType();
    tensor.shape = shape_info.GetShape();
    std::vector<const char*> symbols(tensor.shape.size(), nullptr);
    shape_info.GetSymbolicDimensions(symbols.data(), symbols.size());
    for (const char* symbol : symbols)
        tensor.symbols.emplace_back(symbol != nullptr ? symbol : "");
    return tensor;
}

std::string shape_text(const ModelTensor& tensor) {
    std::string text = "[";
    for (std::size_t i = 0; i < tensor.shape.size(); ++i) {
        if (i > 0)
            text += ", ";
        if (tensor.shape[i] >= 0)
            text += std::to_string(tensor.shape[i]);
        else
            text += tensor.symbols[i].empty() ? "?" : tensor.symbols[i];
    }
    return text + "]";
}

std::string shape_text(std::span<const std::int64_t> shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string name_list(const std::vector<ModelTensor>& tensors) {
    std::string text;
    for (const auto& tensor : tensors)
        text += (text.empty() ? "" : ", ") + tensor.name;
    return text.empty() ? "none" : text;
}

std::string name_list(std::span<const TensorView> views) {
    std::string text;
    for (const auto& view : views)
        text += (text.empty() ? "" : ", ") + view.name();
    return text.empty() ? "none" : text;
}

Ort::Session open_session(const Ort::Env& env, const ModelSource& model,
                          const Ort::SessionOptions& options, const std::string& described) {
    if (model.empty())
        throw Error(
            "no model given: the onnxruntime backend needs an .onnx file path or its bytes");
    if (model.bytes.empty()) {
        // Checked here so that the message is ours, not a protobuf or file-system error.
        std::error_code error;
        const auto status = std::filesystem::status(model.path, error);
        if (status.type() == std::filesystem::file_type::not_found)
            throw Error("model file not found: " + described);
        if (error)
            throw Error("cannot access model file " + described + ": " + error.message());
        if (std::filesystem::is_directory(status))
            throw Error("model path is a directory, not an .onnx file: " + described);
        if (std::filesystem::file_size(model.path, error) == 0 && !error)
            throw Error("model file is empty: " + described);
    }
    try {
        if (!model.bytes.empty())
            return Ort::Session(env, model.bytes.data(), model.bytes.size(), options);
        return Ort::Session(env, model.path.c_str(), options);
    } catch (const Ort::Exception& e) {
        const std::string message = e.what();
        // ONNX Runtime has no error code of its own for this case; its two messages do.
        if (message.find("is not a registered function/op") != std::string::npos ||
            message.find("Could not find an implementation") != std::string::npos)
            throw Error("ONNX model " + described + " uses an operator this ONNX Runtime (" +
                        runtime_version() + ") does not implement: " + message);
        throw Error("ONNX Runtime could not load model " + described + ": " + message);
    }
}

// Checks one TensorView against the model tensor of the same name and returns that tensor.
ModelTensor& match(const TensorView& view, std::vector<ModelTensor>& model_tensors,
                   const char* kind, const std::string& described) {
    const auto found =
        std::find_if(model_tensors.begin(), model_tensors.end(),
                     [&](const ModelTensor& tensor) { return tensor.name == view.name(); });
    const std::string what = std::string(kind) + " '" + view.name() + "'";
    if (found == model_tensors.end())
        throw ConfigError("ONNX model " + described + " has no " + what + "; its " + kind +
                          "s are: " + name_list(model_tensors));
    ModelTensor& tensor = *found;
    if (tensor.covered)
        throw ConfigError("ONNX model " + described + ": " + what +
                          " is given twice; each model tensor takes one TensorSpec");
    tensor.covered = true;
    if (!tensor.is_tensor)
        throw ConfigError("ONNX model " + described + ": " + what + " is " +
                          onnx_type_name(tensor.onnx_type) + "; Legato binds float32 tensors only");
    if (tensor.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        throw ConfigError("ONNX model " + described + ": " + what + " is " +
                          type_name(tensor.type) + "; expected float32");
    const auto shape = view.shape();
    if (tensor.shape.size() != shape.size())
        throw ConfigError("ONNX model " + described + ": " + what + " has rank " +
                          std::to_string(tensor.shape.size()) + " " + shape_text(tensor) +
                          "; the config's shape " + shape_text(shape) + " has rank " +
                          std::to_string(shape.size()));
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (tensor.shape[d] >= 0 && tensor.shape[d] != shape[d])
            throw ConfigError("ONNX model " + described + ": " + what + " has shape " +
                              shape_text(tensor) + "; the config's shape " + shape_text(shape) +
                              " differs in dimension " + std::to_string(d) + " (expected " +
                              std::to_string(tensor.shape[d]) + ", got " +
                              std::to_string(shape[d]) + ")");
    }
    return tensor;
}

void check_covered(const std::vector<ModelTensor>& model_tensors, std::span<const TensorView> views,
                   const char* kind, const std::string& described) {
    for (const auto& tensor : model_tensors) {
        if (!tensor.covered)
            throw ConfigError(
                "ONNX model " + described + " has " + kind + " '" + tensor.name + "' " +
                shape_text(tensor) + ", which the config does not give (config " + kind +
                "s: " + name_list(views) + "); add a TensorSpec named '" + tensor.name + "'");
    }
}

// --- Describing a model (legato info) ------------------------------------------------------

std::string value_kind(ONNXType type) {
    switch (type) {
        case ONNX_TYPE_SEQUENCE:
            return "sequence";
        case ONNX_TYPE_MAP:
            return "map";
        case ONNX_TYPE_OPTIONAL:
            return "optional";
        case ONNX_TYPE_SPARSETENSOR:
            return "sparse tensor";
        default:
            return "unknown";
    }
}

TensorDescription to_description(const ModelTensor& tensor, const char* kind,
                                 std::vector<std::string>& notes) {
    TensorDescription description;
    description.name = tensor.name;
    if (!tensor.is_tensor) {
        description.element_type = value_kind(tensor.onnx_type);
        notes.push_back(std::string(kind) + " '" + tensor.name + "' is " +
                        onnx_type_name(tensor.onnx_type) +
                        ", not a tensor: Legato cannot exchange it");
        return description;
    }
    description.shape = tensor.shape;
    for (auto& dim : description.shape)
        dim = dim < 0 ? -1 : dim;
    description.shape_known = true;
    description.element_type = type_name(tensor.type);
    // Only tensors with a named dimension carry names (fixed ones have "").
    if (std::any_of(tensor.symbols.begin(), tensor.symbols.end(),
                    [](const std::string& symbol) { return !symbol.empty(); }))
        description.dimension_names = tensor.symbols;
    if (tensor.type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        notes.push_back(std::string(kind) + " '" + tensor.name + "' is " +
                        description.element_type +
                        ": Legato exchanges float32 tensors only, so this model cannot run "
                        "unchanged");
    return description;
}

std::string format_details(const Ort::Session& session, std::vector<std::string>& notes) {
    Ort::AllocatorWithDefaultOptions allocator;
    const Ort::ModelMetadata metadata = session.GetModelMetadata();
    const std::string producer = metadata.GetProducerNameAllocated(allocator).get();
    const std::string graph = metadata.GetGraphNameAllocated(allocator).get();
    const std::string domain = metadata.GetDomainAllocated(allocator).get();
    const std::string description = metadata.GetDescriptionAllocated(allocator).get();
    std::string text = "ONNX model";
    if (!producer.empty())
        text += " from " + producer;
    if (!graph.empty())
        text += ", graph '" + graph + "'";
    if (!domain.empty())
        text += ", domain '" + domain + "'";
    // Unset in most files (ONNX Runtime then reports INT64_MAX).
    if (const std::int64_t version = metadata.GetVersion();
        version > 0 && version != std::numeric_limits<std::int64_t>::max())
        text += ", model version " + std::to_string(version);
    if (!description.empty())
        text += ": " + description;
    text += " (read by ONNX Runtime " + runtime_version() + ")";
    for (const auto& key : metadata.GetCustomMetadataMapKeysAllocated(allocator))
        notes.push_back(std::string("metadata ") + key.get() + " = " +
                        metadata.LookupCustomMetadataMapAllocated(key.get(), allocator).get());
    return text;
}

class OnnxRuntimeInstance final : public ModelInstance {
public:
    OnnxRuntimeInstance(const InstanceSetup& setup, const OnnxRuntimeOptions& options)
        : env_(shared_env()),
          described_(setup.model.describe()),
          session_(open_session(*env_, setup.model, session_options(options), described_)),
          binding_(nullptr) {
        Ort::AllocatorWithDefaultOptions allocator;
        std::vector<ModelTensor> model_inputs;
        std::vector<ModelTensor> model_outputs;
        for (std::size_t i = 0; i < session_.GetInputCount(); ++i)
            model_inputs.push_back(describe_tensor(
                session_.GetInputNameAllocated(i, allocator).get(), session_.GetInputTypeInfo(i)));
        for (std::size_t i = 0; i < session_.GetOutputCount(); ++i)
            model_outputs.push_back(
                describe_tensor(session_.GetOutputNameAllocated(i, allocator).get(),
                                session_.GetOutputTypeInfo(i)));

        for (const auto& view : setup.inputs)
            match(view, model_inputs, "input", described_);
        for (const auto& view : setup.outputs)
            match(view, model_outputs, "output", described_);
        check_covered(model_inputs, setup.inputs, "input", described_);
        check_covered(model_outputs, setup.outputs, "output", described_);

        // Bind once: ONNX Runtime reads Legato's input buffers and writes the outputs straight
        // into Legato's output buffers on every run, with the config's concrete shapes.
        const auto memory = Ort::MemoryInfo::CreateCpu(OrtDeviceAllocator, OrtMemTypeDefault);
        binding_ = Ort::IoBinding(session_);
        values_.reserve(setup.inputs.size() + setup.outputs.size());
        auto value = [&](const TensorView& view) {
            const auto shape = view.shape();
            return Ort::Value::CreateTensor<float>(memory, view.data.data(), view.data.size(),
                                                   shape.data(), shape.size());
        };
        for (const auto& view : setup.inputs) {
            values_.push_back(value(view));
            binding_.BindInput(view.name().c_str(), values_.back());
            input_names_.push_back(view.name());
        }
        for (const auto& view : setup.outputs) {
            values_.push_back(value(view));
            binding_.BindOutput(view.name().c_str(), values_.back());
            outputs_.push_back(view);
        }
        run_failed_ = "ONNX Runtime failed to run model " + described_ + ": ";
        // A failed run is reported through the exception (the handler's last_error); ONNX
        // Runtime's own log line would repeat it on stderr at every hop.
        run_options_.SetRunLogSeverityLevel(ORT_LOGGING_LEVEL_FATAL);
    }

    void run() override {
        try {
            session_.Run(run_options_, binding_);
        } catch (const Ort::Exception& e) {
            explain_run_failure(e);
        }
        if (!verified_)
            verify_outputs();
    }

    // ONNX graphs keep no state between runs: state flows through state tensors, which the
    // handler owns.
    void reset_state() override {}

private:
    static Ort::SessionOptions session_options(const OnnxRuntimeOptions& options) {
        Ort::SessionOptions session_options;
        session_options.SetIntraOpNumThreads(options.intra_op_threads);
        session_options.SetInterOpNumThreads(1);
        session_options.SetExecutionMode(ORT_SEQUENTIAL);
        session_options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
        return session_options;
    }

    // ONNX Runtime refuses to write an output whose computed shape differs from the buffer
    // bound to it, naming its own internals. Run once more with outputs it allocates itself to
    // learn the shapes, and report them as an OutputShapeError that Legato explains in the
    // config's terms (e.g. the past context the model needs). Only ever on a failed run.
    [[noreturn]] void explain_run_failure(const Ort::Exception& e) {
        const std::string message = e.what();
        if (message.find("computed output shape") != std::string::npos) {
            std::vector<const char*> input_names;
            for (const auto& name : input_names_)
                input_names.push_back(name.c_str());
            std::vector<const char*> output_names;
            for (const auto& view : outputs_)
                output_names.push_back(view.name().c_str());
            std::vector<Ort::Value> results;
            try {
                results =
                    session_.Run(run_options_, input_names.data(), values_.data(),
                                 input_names.size(), output_names.data(), output_names.size());
            } catch (const Ort::Exception&) {
                throw Error(run_failed_ + message);
            }
            for (std::size_t o = 0; o < outputs_.size() && o < results.size(); ++o) {
                const std::vector<std::int64_t> actual =
                    results[o].GetTensorTypeAndShapeInfo().GetShape();
                const auto wanted = outputs_[o].shape();
                const std::vector<std::int64_t> expected(wanted.begin(), wanted.end());
                if (actual != expected)
                    throw OutputShapeError("output '" + outputs_[o].name() + "' of ONNX model " +
                                               described_ + " has shape " + shape_text(actual) +
                                               " for this input; the config expects " +
                                               shape_text(expected),
                                           o, actual, expected);
            }
        }
        throw Error(run_failed_ + message);
    }

    // Once, after the first (warm-up) run: a result ONNX Runtime kept in memory of its own
    // would leave Legato's output buffers stale without any error.
    void verify_outputs() {
        const std::vector<Ort::Value> values = binding_.GetOutputValues();
        for (std::size_t o = 0; o < outputs_.size(); ++o) {
            if (o >= values.size() || values[o].GetTensorData<float>() != outputs_[o].data.data())
                throw Error("ONNX Runtime did not write output '" + outputs_[o].name() +
                            "' of model " + described_ + " into the buffer bound to it");
        }
        verified_ = true;
    }

    std::shared_ptr<Ort::Env> env_;  // first: destroyed after the session
    std::string described_;
    Ort::Session session_;
    Ort::RunOptions run_options_;
    std::vector<Ort::Value> values_;  // over Legato's buffers, bound below
    Ort::IoBinding binding_;
    std::vector<TensorView> outputs_;
    std::vector<std::string> input_names_;  // values_ starts with the inputs, in this order
    std::string run_failed_;                // message prefix, built at setup
    bool verified_ = false;
};

class OnnxRuntimeBackend final : public Backend {
public:
    explicit OnnxRuntimeBackend(const OnnxRuntimeOptions& options) : options_(options) {}

    std::string name() const override { return "onnxruntime"; }

    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        if (!setup.entry_point.empty())
            throw Error(
                "ONNX models have one graph and no entry points; entry_point must be "
                "empty, got '" +
                std::string(setup.entry_point) + "'");
        try {
            return std::make_unique<OnnxRuntimeInstance>(setup, options_);
        } catch (const Ort::Exception& e) {
            // Anything ONNX Runtime refuses beyond loading (binding, introspection).
            throw Error("ONNX Runtime refused model " + setup.model.describe() + ": " + e.what());
        }
    }

    ModelDescription describe(const ModelSource& model, std::string_view entry_point) override {
        if (!entry_point.empty())
            throw Error(
                "ONNX models have one graph and no entry points; entry_point must be "
                "empty, got '" +
                std::string(entry_point) + "'");
        const std::string described = model.describe();
        const std::shared_ptr<Ort::Env> env = shared_env();
        try {
            // Loaded as for inference, so that a model that describes also loads (operators
            // are resolved while the session is made).
            Ort::SessionOptions options;
            options.SetIntraOpNumThreads(1);
            options.SetInterOpNumThreads(1);
            options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
            const Ort::Session session = open_session(*env, model, options, described);
            Ort::AllocatorWithDefaultOptions allocator;
            ModelDescription description;
            description.engine = name();
            description.format_details = format_details(session, description.notes);
            for (std::size_t i = 0; i < session.GetInputCount(); ++i)
                description.inputs.push_back(to_description(
                    describe_tensor(session.GetInputNameAllocated(i, allocator).get(),
                                    session.GetInputTypeInfo(i)),
                    "input", description.notes));
            for (std::size_t i = 0; i < session.GetOutputCount(); ++i)
                description.outputs.push_back(to_description(
                    describe_tensor(session.GetOutputNameAllocated(i, allocator).get(),
                                    session.GetOutputTypeInfo(i)),
                    "output", description.notes));
            return description;
        } catch (const Ort::Exception& e) {
            throw Error("ONNX Runtime refused model " + described + ": " + e.what());
        }
    }

private:
    OnnxRuntimeOptions options_;
};

}  // namespace

std::shared_ptr<Backend> make_onnxruntime_backend(const OnnxRuntimeOptions& options) {
    if (options.intra_op_threads < 1)
        throw Error("OnnxRuntimeOptions.intra_op_threads: must be at least 1, got " +
                    std::to_string(options.intra_op_threads));
    return std::make_shared<OnnxRuntimeBackend>(options);
}

}  // namespace legato
