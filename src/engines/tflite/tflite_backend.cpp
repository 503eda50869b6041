#include "legato/tflite_backend.hpp"
#include "model_check.hpp"

#include <tensorflow/lite/c/c_api.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "legato/error.hpp"

// Exported by libtensorflowlite_c but declared in c_api_experimental.h, which the runtime's
// package does not ship.
extern "C" TfLiteStatus TfLiteInterpreterResetVariableTensors(TfLiteInterpreter* interpreter);

namespace legato {

namespace {

std::string runtime_version() {
    const char* version = TfLiteVersion();
    return version != nullptr ? version : "unknown";
}

std::string tensor_name(const TfLiteTensor* tensor) {
    const char* name = TfLiteTensorName(tensor);
    return name != nullptr ? name : "";
}

std::vector<std::int64_t> tensor_dims(const TfLiteTensor* tensor) {
    std::vector<std::int64_t> dims(static_cast<std::size_t>(TfLiteTensorNumDims(tensor)));
    for (std::size_t i = 0; i < dims.size(); ++i)
        dims[i] = TfLiteTensorDim(tensor, static_cast<std::int32_t>(i));
    return dims;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string type_name(TfLiteType type) {
    const char* name = TfLiteTypeGetName(type);
    return name != nullptr ? name : "type " + std::to_string(static_cast<int>(type));
}

// Collects what the runtime reports (it would otherwise print to stderr) so that errors can
// quote it. Owned by one instance; the interpreter calls it only from that instance's calls.
class Reporter {
public:
    static void report(void* user_data, const char* format, va_list args) {
        auto* self = static_cast<Reporter*>(user_data);
        va_list copy;
        va_copy(copy, args);
        const int length = std::vsnprintf(nullptr, 0, format, copy);
        va_end(copy);
        if (length <= 0)
            return;
        std::string line(static_cast<std::size_t>(length), '\0');
        std::vsnprintf(line.data(), line.size() + 1, format, args);
        while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
            line.pop_back();
        if (!self->text_.empty())
            self->text_ += "; ";
        self->text_ += line;
    }

    void clear() { text_.clear(); }
    const std::string& text() const { return text_; }
    std::string quoted() const { return text_.empty() ? "no details reported" : text_; }

private:
    std::string text_;
};

struct InterpreterDelete {
    void operator()(TfLiteInterpreter* interpreter) const { TfLiteInterpreterDelete(interpreter); }
};
using Interpreter = std::unique_ptr<TfLiteInterpreter, InterpreterDelete>;

// An interpreter whose messages go to `reporter`, or legato::Error with what the runtime said.
Interpreter create_interpreter(const TfLiteModel* model, int threads, Reporter& reporter) {
    TfLiteInterpreterOptions* options = TfLiteInterpreterOptionsCreate();
    if (options == nullptr)
        throw Error("TensorFlow Lite could not create interpreter options");
    TfLiteInterpreterOptionsSetNumThreads(options, threads);
    TfLiteInterpreterOptionsSetErrorReporter(options, &Reporter::report, &reporter);
    Interpreter interpreter(TfLiteInterpreterCreate(model, options));
    TfLiteInterpreterOptionsDelete(options);
    if (interpreter != nullptr)
        return interpreter;
    const std::string& report = reporter.text();
    // An operator (version) the runtime does not know: the model was converted for a newer
    // TensorFlow Lite.
    if (report.find("Registration failed") != std::string::npos ||
        report.find("Didn't find op") != std::string::npos)
        throw Error("the model needs a newer TensorFlow Lite than this runtime (" +
                    runtime_version() + "): " + report);
    throw Error("TensorFlow Lite could not build an interpreter for the model: " +
                reporter.quoted());
}

// The runtime builds interpreters with unresolved custom operators and fails them only when
// tensors are allocated: the message for that case, or "" for other failures.
std::string custom_operator_problem(const Reporter& reporter) {
    if (reporter.text().find("unresolved custom op") == std::string::npos)
        return {};
    return "the model uses a custom operator this TensorFlow Lite runtime (" + runtime_version() +
           ") does not have: " + reporter.text();
}

// A loaded model: shared by the instances of one backend that load the same file or bytes (each
// has its own interpreter). Models built from memory read the bytes in place, so the bytes
// live here as long as the model and every interpreter made from it.
struct LoadedModel {
    std::vector<std::uint8_t> bytes;
    std::filesystem::path path;
    std::filesystem::file_time_type modified{};
    std::uintmax_t size = 0;
    TfLiteModel* model = nullptr;

    LoadedModel() = default;
    LoadedModel(const LoadedModel&) = delete;
    LoadedModel& operator=(const LoadedModel&) = delete;
    ~LoadedModel() {
        if (model != nullptr)
            TfLiteModelDelete(model);
    }
};

// Refuses what TFLite 2.2 would crash on (model_check.hpp), then lets TFLite build the model
// from the bytes, which stay alive in `loaded`.
void create_model(LoadedModel& loaded, const std::string& what) {
    const std::uint8_t* data = loaded.bytes.data();
    const std::size_t size = loaded.bytes.size();
    if (size < 8 || std::memcmp(data + 4, "TFL3", 4) != 0)
        throw Error("not a TensorFlow Lite model (no 'TFL3' identifier at byte 4)" + what);
    if (const std::string problem = tflite_check::model_problem(data, size); !problem.empty())
        throw Error("not a valid TensorFlow Lite model: " + problem + what);
    loaded.model = TfLiteModelCreate(data, size);
    if (loaded.model == nullptr)  // the runtime's own message went to stderr
        throw Error("TensorFlow Lite refused the model" + what);
}

std::shared_ptr<LoadedModel> load_model(const ModelSource& source) {
    auto loaded = std::make_shared<LoadedModel>();
    if (!source.bytes.empty()) {
        loaded->bytes = source.bytes;
        create_model(*loaded, "");
        return loaded;
    }
    if (source.path.empty())
        throw Error("no model: the tflite backend needs a .tflite file or its bytes");
    std::error_code ec;
    const auto status = std::filesystem::status(source.path, ec);
    if (!std::filesystem::exists(status))
        throw Error("model file not found: " + source.path.string());
    if (!std::filesystem::is_regular_file(status))
        throw Error("model path is not a regular file: " + source.path.string());
    loaded->path = source.path;
    loaded->size = std::filesystem::file_size(source.path, ec);
    loaded->modified = std::filesystem::last_write_time(source.path, ec);
    if (loaded->size == 0)
        throw Error("model file is empty: " + source.path.string());
    // Read into memory so that the model can be checked before TFLite sees it.
    std::FILE* file = std::fopen(source.path.c_str(), "rb");
    if (file == nullptr)
        throw Error("cannot open model file " + source.path.string() + ": " + std::strerror(errno));
    loaded->bytes.resize(static_cast<std::size_t>(loaded->size));
    const std::size_t got = std::fread(loaded->bytes.data(), 1, loaded->bytes.size(), file);
    std::fclose(file);
    if (got != loaded->bytes.size())
        throw Error("cannot read model file " + source.path.string());
    create_model(*loaded, ": " + source.path.string());
    return loaded;
}

bool same_source(const LoadedModel& loaded, const ModelSource& source) {
    if (!source.bytes.empty())
        return loaded.path.empty() && loaded.bytes == source.bytes;
    if (loaded.path != source.path)
        return false;
    std::error_code ec;
    return std::filesystem::file_size(source.path, ec) == loaded.size &&
           std::filesystem::last_write_time(source.path, ec) == loaded.modified && !ec;
}

struct Binding {
    TfLiteTensor* tensor = nullptr;  // inputs
    const TfLiteTensor* output = nullptr;
    TensorView view;
};

class TFLiteInstance final : public ModelInstance {
public:
    TFLiteInstance(std::shared_ptr<LoadedModel> model, const InstanceSetup& setup, int threads)
        : model_(std::move(model)),
          reporter_(std::make_unique<Reporter>()),
          stateful_(setup.stateful) {
        if (!setup.entry_point.empty())
            throw Error("entry_point '" + std::string(setup.entry_point) +
                        "': TensorFlow Lite models have one entry point; leave it empty");
        interpreter_ = create_interpreter(model_->model, threads, *reporter_);
        bind_inputs(setup.inputs);
        allocate(setup.inputs);
        bind_outputs(setup.outputs);
        // Variable tensors (recurrent state) start from zero.
        TfLiteInterpreterResetVariableTensors(interpreter_.get());
    }

    void run() override {
        reporter_->clear();
        for (const auto& in : inputs_) {
            if (TfLiteTensorCopyFromBuffer(in.tensor, in.view.data.data(),
                                           in.view.data.size_bytes()) != kTfLiteOk)
                throw Error("TensorFlow Lite refused input '" + in.view.name() +
                            "': " + reporter_->quoted());
        }
        // A stateless handler's every run starts from the model's initial state.
        if (!stateful_ && TfLiteInterpreterResetVariableTensors(interpreter_.get()) != kTfLiteOk)
            throw Error("TensorFlow Lite could not reset the variable tensors: " +
                        reporter_->quoted());
        if (TfLiteInterpreterInvoke(interpreter_.get()) != kTfLiteOk)
            throw Error("TensorFlow Lite inference failed: " + reporter_->quoted());
        for (const auto& out : outputs_) {
            // Fails if a dynamic output came out with another size than the config's.
            if (TfLiteTensorCopyToBuffer(out.output, out.view.data.data(),
                                         out.view.data.size_bytes()) != kTfLiteOk) {
                const std::vector<std::int64_t> expected(out.view.shape().begin(),
                                                         out.view.shape().end());
                throw OutputShapeError("output '" + out.view.name() + "' has shape " +
                                           shape_text(tensor_dims(out.output)) +
                                           " after inference, expected " + shape_text(expected),
                                       static_cast<std::size_t>(&out - outputs_.data()),
                                       tensor_dims(out.output), expected);
            }
        }
    }

    void reset_state() override {
        reporter_->clear();
        if (TfLiteInterpreterResetVariableTensors(interpreter_.get()) != kTfLiteOk)
            throw Error("TensorFlow Lite could not reset the variable tensors: " +
                        reporter_->quoted());
    }

private:
    std::string model_tensors() const {
        auto list = [](std::int32_t count, auto get) {
            std::string text;
            for (std::int32_t i = 0; i < count; ++i) {
                const TfLiteTensor* tensor = get(i);
                text += (i > 0 ? ", '" : "'") + tensor_name(tensor) + "' " +
                        shape_text(tensor_dims(tensor));
            }
            return text.empty() ? std::string("none") : text;
        };
        const TfLiteInterpreter* interpreter = interpreter_.get();
        return "the model's inputs: " +
               list(TfLiteInterpreterGetInputTensorCount(interpreter),
                    [&](std::int32_t i) -> const TfLiteTensor* {
                        return TfLiteInterpreterGetInputTensor(interpreter, i);
                    }) +
               "; outputs: " +
               list(TfLiteInterpreterGetOutputTensorCount(interpreter), [&](std::int32_t i) {
                   return TfLiteInterpreterGetOutputTensor(interpreter, i);
               });
    }

    static void check_type(const TfLiteTensor* tensor, const char* kind, const std::string& name) {
        if (TfLiteTensorType(tensor) != kTfLiteFloat32)
            throw ConfigError(std::string(kind) + " '" + name + "' has element type " +
                              type_name(TfLiteTensorType(tensor)) +
                              "; Legato exchanges float32 tensors only");
    }

    void bind_inputs(std::span<const TensorView> views) {
        const std::int32_t count = TfLiteInterpreterGetInputTensorCount(interpreter_.get());
        std::vector<bool> covered(static_cast<std::size_t>(count), false);
        for (const auto& view : views) {
            std::int32_t index = -1;
            for (std::int32_t i = 0; i < count && index < 0; ++i)
                if (tensor_name(TfLiteInterpreterGetInputTensor(interpreter_.get(), i)) ==
                    view.name())
                    index = i;
            if (index < 0)
                throw ConfigError("input '" + view.name() + "' not found in the model; " +
                                  model_tensors());
            TfLiteTensor* tensor = TfLiteInterpreterGetInputTensor(interpreter_.get(), index);
            check_type(tensor, "input", view.name());
            covered[static_cast<std::size_t>(index)] = true;
            input_indices_.push_back(index);
            inputs_.push_back({tensor, nullptr, view});
        }
        for (std::int32_t i = 0; i < count; ++i)
            if (!covered[static_cast<std::size_t>(i)])
                throw ConfigError(
                    "model input '" +
                    tensor_name(TfLiteInterpreterGetInputTensor(interpreter_.get(), i)) +
                    "' is not fed by any configured input; " + model_tensors());
    }

    // Resizes the inputs to the configured shapes (e.g. the hop chosen at prepare), then lets
    // the runtime size every other tensor from them.
    void allocate(std::span<const TensorView> views) {
        for (std::size_t k = 0; k < inputs_.size(); ++k) {
            const auto wanted =
                std::vector<std::int64_t>(views[k].shape().begin(), views[k].shape().end());
            if (tensor_dims(inputs_[k].tensor) == wanted)
                continue;
            std::vector<int> dims;
            for (const std::int64_t d : wanted) {
                if (d < 0 || d > INT_MAX)
                    throw ConfigError("input '" + views[k].name() + "': shape " +
                                      shape_text(wanted) +
                                      " has a dimension TensorFlow Lite cannot hold");
                dims.push_back(static_cast<int>(d));
            }
            reporter_->clear();
            if (TfLiteInterpreterResizeInputTensor(
                    interpreter_.get(), input_indices_[k], dims.data(),
                    static_cast<std::int32_t>(dims.size())) != kTfLiteOk)
                throw ConfigError("input '" + views[k].name() +
                                  "': TensorFlow Lite cannot resize it " + "from " +
                                  shape_text(tensor_dims(inputs_[k].tensor)) + " to " +
                                  shape_text(wanted) + ": " + reporter_->quoted());
            resized_.push_back(views[k].name() + " " + shape_text(wanted));
        }
        reporter_->clear();
        if (TfLiteInterpreterAllocateTensors(interpreter_.get()) != kTfLiteOk) {
            if (const std::string problem = custom_operator_problem(*reporter_); !problem.empty())
                throw ConfigError(problem);
            std::string shapes;
            for (const auto& text : resized_)
                shapes += (shapes.empty() ? "" : ", ") + text;
            throw ConfigError("TensorFlow Lite cannot run the model with " +
                              (shapes.empty() ? std::string("its own input shapes")
                                              : "the inputs resized to " + shapes) +
                              ": " + reporter_->quoted());
        }
        for (std::size_t k = 0; k < inputs_.size(); ++k)
            check_shape(inputs_[k].tensor, "input", views[k]);
    }

    void bind_outputs(std::span<const TensorView> views) {
        const std::int32_t count = TfLiteInterpreterGetOutputTensorCount(interpreter_.get());
        for (const auto& view : views) {
            const TfLiteTensor* tensor = nullptr;
            for (std::int32_t i = 0; i < count && tensor == nullptr; ++i) {
                const TfLiteTensor* candidate =
                    TfLiteInterpreterGetOutputTensor(interpreter_.get(), i);
                if (tensor_name(candidate) == view.name())
                    tensor = candidate;
            }
            if (tensor == nullptr)
                throw ConfigError("output '" + view.name() + "' not found in the model; " +
                                  model_tensors());
            check_type(tensor, "output", view.name());
            check_shape(tensor, "output", view, outputs_.size());
            outputs_.push_back({nullptr, tensor, view});
        }
    }

    // `output_index`: the output's position in the config, or -1 for an input. A wrong output
    // shape is an OutputShapeError: it depends on the input length (Legato explains it).
    void check_shape(const TfLiteTensor* tensor, const char* kind, const TensorView& view,
                     std::size_t output_index = static_cast<std::size_t>(-1)) const {
        const auto wanted = std::vector<std::int64_t>(view.shape().begin(), view.shape().end());
        const auto actual = tensor_dims(tensor);
        if (actual == wanted)
            return;
        std::string inputs;
        if (!resized_.empty()) {
            for (const auto& text : resized_)
                inputs += (inputs.empty() ? " with inputs " : ", ") + text;
        }
        const std::string message = std::string(kind) + " '" + view.name() + "' has shape " +
                                    shape_text(actual) + inputs + "; the config expects " +
                                    shape_text(wanted);
        if (output_index != static_cast<std::size_t>(-1))
            throw OutputShapeError(message, output_index, actual, wanted);
        throw ConfigError(message);
    }

    std::shared_ptr<LoadedModel> model_;
    std::unique_ptr<Reporter> reporter_;  // its address is registered with the interpreter
    // Declared after reporter_ and model_, which it uses: destroyed before them.
    Interpreter interpreter_;
    bool stateful_;
    std::vector<Binding> inputs_;
    std::vector<std::int32_t> input_indices_;
    std::vector<Binding> outputs_;
    std::vector<std::string> resized_;  // "name [shape]" of the inputs resized, for messages
};

class TFLiteBackend final : public Backend {
public:
    explicit TFLiteBackend(const TFLiteOptions& options) : options_(options) {}

    std::string name() const override { return "tflite"; }

    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<TFLiteInstance>(model_for(setup.model), setup, options_.threads);
    }

    ModelDescription describe(const ModelSource& model, std::string_view entry_point) override {
        if (!entry_point.empty())
            throw Error("entry_point '" + std::string(entry_point) +
                        "': TensorFlow Lite models have one entry point; leave it empty");
        // The same checks as loading: the model's structure before TFLite sees it, then an
        // interpreter with allocated tensors (which is where unknown custom operators fail).
        const std::shared_ptr<LoadedModel> loaded = load_model(model);
        const std::string described = model.describe();
        Reporter reporter;
        Interpreter interpreter;
        try {
            interpreter = create_interpreter(loaded->model, 1, reporter);
        } catch (const Error& e) {
            throw Error(described + ": " + e.what());
        }
        reporter.clear();
        if (TfLiteInterpreterAllocateTensors(interpreter.get()) != kTfLiteOk) {
            const std::string problem = custom_operator_problem(reporter);
            throw Error(described + ": " +
                        (problem.empty() ? "TensorFlow Lite cannot allocate the model's tensors: " +
                                               reporter.quoted()
                                         : problem));
        }
        ModelDescription description;
        description.engine = name();
        description.format_details =
            "TensorFlow Lite flatbuffer (read by TensorFlow Lite " + runtime_version() + ")";
        auto add = [&](const TfLiteTensor* tensor, const char* kind,
                       std::vector<TensorDescription>& into) {
            TensorDescription tensor_description;
            tensor_description.name = tensor_name(tensor);
            tensor_description.shape = tensor_dims(tensor);
            tensor_description.shape_known = true;
            std::string type = type_name(TfLiteTensorType(tensor));
            for (char& c : type)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            tensor_description.element_type = type;
            if (TfLiteTensorType(tensor) != kTfLiteFloat32)
                description.notes.push_back(std::string(kind) + " '" + tensor_description.name +
                                            "' is " + type +
                                            ": Legato exchanges float32 tensors only, so this "
                                            "model cannot run unchanged");
            into.push_back(std::move(tensor_description));
        };
        for (std::int32_t i = 0; i < TfLiteInterpreterGetInputTensorCount(interpreter.get()); ++i)
            add(TfLiteInterpreterGetInputTensor(interpreter.get(), i), "input", description.inputs);
        for (std::int32_t i = 0; i < TfLiteInterpreterGetOutputTensorCount(interpreter.get()); ++i)
            add(TfLiteInterpreterGetOutputTensor(interpreter.get(), i), "output",
                description.outputs);
        description.notes.push_back(
            "TensorFlow Lite files keep the concrete shapes the model was converted for; Legato "
            "resizes the inputs to the config's shapes at load (e.g. the time dimension to "
            "past_context + hop)");
        return description;
    }

private:
    // Parallel instances of one model share the loaded model (and its bytes).
    std::shared_ptr<LoadedModel> model_for(const ModelSource& source) {
        const std::lock_guard lock(mutex_);
        std::erase_if(loaded_, [](const auto& weak) { return weak.expired(); });
        for (const auto& weak : loaded_)
            if (auto model = weak.lock(); model && same_source(*model, source))
                return model;
        auto model = load_model(source);
        loaded_.push_back(model);
        return model;
    }

    TFLiteOptions options_;
    std::mutex mutex_;
    std::vector<std::weak_ptr<LoadedModel>> loaded_;
};

}  // namespace

std::shared_ptr<Backend> make_tflite_backend(const TFLiteOptions& options) {
    if (options.threads < 1)
        throw Error("TFLiteOptions::threads: must be at least 1, got " +
                    std::to_string(options.threads));
    return std::make_shared<TFLiteBackend>(options);
}

}  // namespace legato
