// The LibTorch engine: TorchScript modules from a file or bytes. The only translation unit that
// includes LibTorch (its headers are slow to compile).

#include "legato/libtorch_backend.hpp"
#include "archive_check.hpp"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/frontend/error_report.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "legato/error.hpp"

namespace legato {

namespace {

// --- Messages ------------------------------------------------------------------------------

std::string shape_text(c10::IntArrayRef shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string trim(std::string text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// LibTorch messages can be pages long. An error raised inside the TorchScript interpreter
// carries two tracebacks before the actual "SomeError: ..." line at the end: keep that line.
// Otherwise keep the message on one line, capped.
std::string concise(const std::string& full) {
    std::string text = trim(full);
    if (text.find("Traceback of TorchScript") != std::string::npos) {
        std::size_t best = std::string::npos;
        for (std::size_t line = 0; line < text.size();) {
            const std::size_t end = std::min(text.find('\n', line), text.size());
            const std::size_t colon = text.find("Error: ", line);
            // A line that starts with an exception name ("RuntimeError: ", "torch.jit.Error: ").
            if (colon < end && text.find(' ', line) > colon)
                best = line;
            line = end + 1;
        }
        if (best != std::string::npos)
            text = text.substr(best);
    }
    std::replace(text.begin(), text.end(), '\n', ' ');
    constexpr std::size_t limit = 400;
    if (text.size() > limit)
        text = text.substr(0, limit) + "...";
    return text;
}

}  // namespace
}  // namespace legato

// torch::jit::ErrorReport::what() is noexcept but builds its message lazily, highlighting the
// TorchScript source through the archive's debug information; in a corrupt archive that throws,
// and the process terminates (found by fuzzing). Its plain message lives in a private stream
// that only operator<< specialisations may touch: this one copies it out without highlighting.
namespace legato {
struct ErrorReportText {
    std::string* text;
};
}  // namespace legato
template <>
const torch::jit::ErrorReport& torch::jit::operator<<(const torch::jit::ErrorReport& e,
                                                      const legato::ErrorReportText& peek) {
    *peek.text = e.ss.str();
    return e;
}

namespace legato {
namespace {

std::string message_of(const std::exception& e) {
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
        return concise(c10_error->what_without_backtrace());
    if (const auto* report = dynamic_cast<const torch::jit::ErrorReport*>(&e)) {
        std::string text;
        *report << ErrorReportText{&text};
        return concise("TorchScript error: " + text);
    }
    return concise(e.what());
}

std::string list_text(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names)
        text += (text.empty() ? "" : ", ") + name;
    return text;
}

std::string count_text(std::size_t count, const char* what) {
    return std::to_string(count) + " " + what + (count == 1 ? "" : "s");
}

std::string tensor_names(std::span<const TensorView> views) {
    std::vector<std::string> names;
    for (const auto& view : views)
        names.push_back(view.name());
    return list_text(names);
}

// --- Process-wide thread setup -------------------------------------------------------------

void configure_threads(int threads) {
    static std::once_flag once;
    std::call_once(once, [threads] {
        at::set_num_threads(threads);
        // Throws if the inter-op pool was already started or sized (e.g. by the application
        // using LibTorch itself): then its setting stands.
        try {
            at::set_num_interop_threads(1);
        } catch (const std::exception&) {
        }
    });
}

// --- Loading -------------------------------------------------------------------------------

// Lets LibTorch read the caller's bytes in place (torch::jit::load(std::istream&) would need a
// copy in a string stream).
class BytesReader final : public caffe2::serialize::ReadAdapterInterface {
public:
    explicit BytesReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    std::size_t size() const override { return bytes_.size(); }
    std::size_t read(std::uint64_t pos, void* buf, std::size_t n,
                     const char* /*what*/) const override {
        if (pos >= bytes_.size())
            return 0;
        const std::size_t count = std::min<std::size_t>(n, bytes_.size() - pos);
        std::memcpy(buf, bytes_.data() + pos, count);
        return count;
    }

private:
    std::span<const std::uint8_t> bytes_;
};

torch::jit::Module load_module(const ModelSource& model) {
    const std::string what = model.describe();
    if (model.empty())
        throw Error("no model given: the libtorch engine needs a TorchScript file or its bytes");
    if (model.bytes.empty()) {
        std::error_code ec;
        if (!std::filesystem::exists(model.path, ec))
            throw Error("model file not found: " + what);
        if (std::filesystem::is_regular_file(model.path, ec) &&
            std::filesystem::file_size(model.path, ec) == 0 && !ec)
            throw Error("model file is empty: " + what +
                        "; expected a TorchScript archive saved with torch.jit.save");
    }
    // LibTorch trusts the zip directory's sizes (archive_check.hpp).
    std::string problem;
    if (model.bytes.empty()) {
        std::ifstream file(model.path, std::ios::binary);
        std::error_code ec;
        const std::uint64_t size = std::filesystem::file_size(model.path, ec);
        problem =
            ec ? "its size cannot be read"
               : torch_check::archive_problem(
                     size, [&file](std::uint64_t offset, std::uint64_t count, std::uint8_t* out) {
                         file.clear();
                         file.seekg(static_cast<std::streamoff>(offset));
                         file.read(reinterpret_cast<char*>(out),
                                   static_cast<std::streamsize>(count));
                         return file.gcount() == static_cast<std::streamsize>(count);
                     });
    } else {
        const auto& bytes = model.bytes;
        problem = torch_check::archive_problem(
            bytes.size(), [&bytes](std::uint64_t offset, std::uint64_t count, std::uint8_t* out) {
                if (offset > bytes.size() || count > bytes.size() - offset)
                    return false;
                std::memcpy(out, bytes.data() + offset, count);
                return true;
            });
    }
    if (!problem.empty())
        throw Error("cannot load " + what + " as TorchScript: " + problem +
                    " (expected a TorchScript archive saved with torch.jit.save)");
    try {
        torch::jit::Module module =
            model.bytes.empty()
                ? torch::jit::load(model.path.string(), torch::kCPU)
                : torch::jit::load(std::make_shared<BytesReader>(model.bytes), torch::kCPU);
        module.eval();
        return module;
    } catch (const std::exception& e) {
        throw Error("cannot load " + what + " as TorchScript: " + message_of(e) +
                    " (expected a TorchScript archive saved with torch.jit.save)");
    }
}

// --- State kept inside the module ----------------------------------------------------------

// Everything a module can change between calls lives in the attribute slots of it and its
// submodules: buffers, other tensors, plain values. Parameters are weights, not state, and are
// left alone. Each slot's loaded value is kept; a slot that a run changed (a tensor modified in
// place, seen by its version counter, or any slot reassigned) is put back. Checking costs a few
// comparisons per slot, so stateless handlers restore before every run at no real cost.
// Restoring in place keeps the module and its already optimised TorchScript executors:
// reloading it would make the first runs after a reset profile and recompile again, on the
// worker, late. Not seen: in-place changes inside a list or dict attribute (`self.cache.append`);
// such a model must keep its state in tensors or pass it explicitly (state pairs).
class ModuleState {
public:
    explicit ModuleState(const torch::jit::Module& module) {
        torch::NoGradGuard no_grad;
        std::unordered_set<const void*> seen;
        collect(module._ivalue(), seen);
    }

    /// Puts back every slot that changed since loading (or the last restore).
    void restore() {
        torch::NoGradGuard no_grad;
        for (auto& slot : slots_)
            if (changed(slot))
                put_back(slot);
    }

private:
    struct Slot {
        c10::intrusive_ptr<c10::ivalue::Object> owner;
        std::size_t index = 0;
        c10::IValue initial;       ///< tensors: a private copy; other values: the loaded value
        c10::IValue current;       ///< what the slot held after loading or the last restore
        std::int64_t version = 0;  ///< tensors: current's version counter then
    };

    static bool is_tensor(const c10::IValue& value) {
        return value.isTensor() && value.toTensor().defined();
    }

    void collect(const c10::intrusive_ptr<c10::ivalue::Object>& object,
                 std::unordered_set<const void*>& seen) {
        if (!seen.insert(object.get()).second)
            return;  // a submodule shared by several parents
        const c10::ClassTypePtr type = object->type();
        for (std::size_t i = 0; i < type->numAttributes(); ++i) {
            const c10::IValue& value = object->getSlot(i);
            if (type->getAttribute(i)->is_module() && value.isObject()) {
                collect(value.toObject(), seen);
                continue;
            }
            if (type->is_module() && type->is_parameter(i))
                continue;
            Slot slot{object, i, value, value, 0};
            if (is_tensor(value)) {
                slot.initial = value.toTensor().clone();
                slot.version = value.toTensor()._version();
            }
            slots_.push_back(std::move(slot));
        }
    }

    static bool changed(const Slot& slot) {
        const c10::IValue& now = slot.owner->getSlot(slot.index);
        if (is_tensor(slot.initial))
            return !now.isTensor() || !now.toTensor().is_same(slot.current.toTensor()) ||
                   slot.current.toTensor()._version() != slot.version;
        return !now.isSameIdentity(slot.current);
    }

    static void put_back(Slot& slot) {
        if (!is_tensor(slot.initial)) {
            slot.owner->setSlot(slot.index, slot.initial);
            slot.current = slot.initial;
            return;
        }
        const at::Tensor& initial = slot.initial.toTensor();
        const c10::IValue& now = slot.owner->getSlot(slot.index);
        const bool in_place = now.isTensor() && now.toTensor().is_same(slot.current.toTensor()) &&
                              now.toTensor().sizes() == initial.sizes() &&
                              now.toTensor().dtype() == initial.dtype();
        if (in_place) {
            slot.current.toTensor().copy_(initial);
        } else {  // reassigned (e.g. `self.h = h`): a fresh copy, made outside inference mode
            slot.current = initial.clone();
            slot.owner->setSlot(slot.index, slot.current);
        }
        slot.version = slot.current.toTensor()._version();
    }

    std::vector<Slot> slots_;
};

// --- The instance --------------------------------------------------------------------------

class LibTorchInstance final : public ModelInstance {
public:
    explicit LibTorchInstance(const InstanceSetup& setup)
        : outputs_(setup.outputs.begin(), setup.outputs.end()),
          model_(setup.model.describe()),
          method_name_(setup.entry_point.empty() ? "forward" : std::string(setup.entry_point)),
          stateful_(setup.stateful),
          module_(load_module(setup.model)),
          method_(find_method()),
          state_(module_) {
        check_arguments(setup.inputs);
        check_returns();
        // Legato's buffers keep their address for the instance's lifetime: wrap them once.
        for (const auto& view : setup.inputs)
            inputs_.emplace_back(torch::from_blob(
                view.data.data(),
                std::vector<std::int64_t>(view.shape().begin(), view.shape().end()),
                torch::kFloat32));
    }

    void run() override {
        try {
            // A stateless handler promises every run starts from the model's initial state.
            if (!stateful_)
                state_.restore();
            c10::InferenceMode inference;
            const std::vector<at::Tensor> tensors = unpack((*method_)(inputs_));
            if (tensors.size() != outputs_.size())
                throw Error(where() + " returned " + count_text(tensors.size(), "output") +
                            "; the config has " + count_text(outputs_.size(), "output") + " (" +
                            tensor_names(outputs_) + ")");
            for (std::size_t o = 0; o < outputs_.size(); ++o)
                copy_output(o, tensors[o]);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {  // c10::Error's what() would add a C++ backtrace
            throw Error(where() + " failed: " + message_of(e));
        }
    }

    void reset_state() override {
        try {
            state_.restore();
        } catch (const std::exception& e) {
            throw Error(model_ + ": restoring the module's initial state failed: " + message_of(e));
        }
    }

private:
    std::string where() const { return model_ + " method '" + method_name_ + "'"; }

    torch::jit::Method find_method() const {
        if (auto method = module_.find_method(method_name_))
            return *method;
        std::vector<std::string> names;
        for (const auto& method : module_.get_methods())
            names.push_back(method.name());
        throw ConfigError(model_ + " has no method '" + method_name_ + "'; its methods: " +
                          (names.empty() ? std::string("none") : list_text(names)));
    }

    // Inputs are passed by position: the first arguments after self must be the config's
    // inputs, as tensors; any further ones must have defaults.
    void check_arguments(std::span<const TensorView> inputs) const {
        const auto& arguments = method_->function().getSchema().arguments();
        std::vector<std::string> tensors;
        for (std::size_t i = 1; i < arguments.size(); ++i) {  // 0 is self
            const auto& argument = arguments[i];
            const bool tensor = argument.type()->isSubtypeOf(*c10::TensorType::get());
            if (tensor && tensors.size() == i - 1) {
                tensors.push_back(argument.name());
            } else if (!argument.default_value()) {
                throw ConfigError(
                    where() + " argument '" + argument.name() + "' is " +
                    argument.type()->annotation_str() +
                    " without a default; the libtorch engine passes only the config's "
                    "inputs, as float tensors, by position");
            }
        }
        if (tensors.size() != inputs.size())
            throw ConfigError(where() + " takes " + count_text(tensors.size(), "tensor argument") +
                              " (" + list_text(tensors) + "); the config has " +
                              count_text(inputs.size(), "input") + " (" + tensor_names(inputs) +
                              ")");
    }

    // Where the declared return type fixes the output count, check it now rather than at the
    // first run. Lists are only known when they are returned.
    void check_returns() const {
        const auto& returns = method_->function().getSchema().returns();
        if (returns.size() != 1)
            return;
        const c10::TypePtr& type = returns[0].type();
        std::optional<std::size_t> count;
        if (type->isSubtypeOf(*c10::TensorType::get())) {
            count = 1;
        } else if (const auto tuple = type->cast<c10::TupleType>()) {
            for (const auto& element : tuple->elements())
                if (!element->isSubtypeOf(*c10::TensorType::get()))
                    throw Error(where() + " returns " + type->annotation_str() +
                                "; expected a Tensor, or a tuple or list of tensors");
            count = tuple->elements().size();
        } else if (const auto list = type->cast<c10::ListType>()) {
            if (!list->getElementType()->isSubtypeOf(*c10::TensorType::get()))
                throw Error(where() + " returns " + type->annotation_str() +
                            "; expected a Tensor, or a tuple or list of tensors");
        } else if (type->kind() != c10::TypeKind::AnyType) {
            throw Error(where() + " returns " + type->annotation_str() +
                        "; expected a Tensor, or a tuple or list of tensors");
        }
        if (count && *count != outputs_.size())
            throw ConfigError(where() + " returns " + count_text(*count, "tensor") + " (" +
                              type->annotation_str() + "); the config has " +
                              count_text(outputs_.size(), "output") + " (" +
                              tensor_names(outputs_) + ")");
    }

    std::vector<at::Tensor> unpack(const c10::IValue& result) const {
        std::vector<at::Tensor> tensors;
        auto add = [&](const c10::IValue& value) {
            if (!value.isTensor())
                throw Error(where() + " returned a " + value.tagKind() + " at output " +
                            std::to_string(tensors.size()) + "; expected a tensor");
            tensors.push_back(value.toTensor());
        };
        if (result.isTuple()) {
            for (const auto& element : result.toTupleRef().elements())
                add(element);
        } else if (result.isList()) {
            for (const c10::IValue& element : result.toListRef())
                add(element);
        } else {
            add(result);
        }
        return tensors;
    }

    // The tensor must have the spec's shape, up to dimensions of size 1 (a model's [B, 1] may
    // feed a [1, B] output, but not [1, T, 2] a [1, 2, T] one).
    void copy_output(std::size_t o, const at::Tensor& tensor) const {
        const TensorView& view = outputs_[o];
        auto label = [&] {
            return "output " + std::to_string(o) + " (" + view.name() + ") of " + where();
        };
        if (tensor.scalar_type() != at::kFloat)
            throw Error(label() + " is " + std::string(c10::toString(tensor.scalar_type())) +
                        "; expected Float (float32)");
        if (!tensor.device().is_cpu())
            throw Error(label() + " is on " + tensor.device().str() + "; expected the CPU");
        auto squeezed = [](auto shape) {
            std::vector<std::int64_t> dims;
            for (const std::int64_t dim : shape)
                if (dim != 1)
                    dims.push_back(dim);
            return dims;
        };
        const c10::IntArrayRef expected(view.shape().data(), view.shape().size());
        if (squeezed(tensor.sizes()) != squeezed(expected))
            throw OutputShapeError(label() + " has shape " + shape_text(tensor.sizes()) + " (" +
                                       std::to_string(tensor.numel()) + " elements); expected " +
                                       shape_text(expected) + " (" +
                                       std::to_string(view.data.size()) +
                                       " elements; dimensions of size 1 may differ)",
                                   o, tensor.sizes().vec(), expected.vec());
        const at::Tensor contiguous = tensor.contiguous();
        std::memcpy(view.data.data(), contiguous.data_ptr<float>(),
                    view.data.size() * sizeof(float));
    }

    std::vector<TensorView> outputs_;
    std::string model_;  ///< for messages: the path or "<N bytes in memory>"
    std::string method_name_;
    bool stateful_;
    torch::jit::Module module_;  ///< this instance's own copy
    std::optional<torch::jit::Method> method_;
    ModuleState state_;
    std::vector<c10::IValue> inputs_;  ///< Legato's input buffers, wrapped without a copy
};

// --- Describing a model (legato info) ------------------------------------------------------

bool is_tensor_type(const c10::TypePtr& type) {
    return type->isSubtypeOf(*c10::TensorType::get());
}

TensorDescription unshaped(std::string name, const c10::TypePtr& type) {
    TensorDescription description;
    description.name = std::move(name);
    description.element_type = type->annotation_str();
    return description;
}

// TorchScript keeps argument names and types but no shapes and no output names: inputs are the
// leading tensor arguments (what the engine passes, by position), outputs are named by position.
ModelDescription describe_method(const torch::jit::Module& module, const torch::jit::Method& method,
                                 const std::string& where) {
    ModelDescription description;
    description.engine = "libtorch";
    const c10::FunctionSchema& schema = method.function().getSchema();
    // Written here rather than by FunctionSchema's operator<<, which prints self's class and
    // tuples as "((Tensor, Tensor))".
    std::string signature = method.name() + "(";
    for (std::size_t i = 1; i < schema.arguments().size(); ++i)
        signature += (i > 1 ? ", " : "") + schema.arguments()[i].type()->annotation_str() + " " +
                     schema.arguments()[i].name();
    signature += ") -> ";
    std::vector<std::string> return_types;
    for (const auto& value : schema.returns())
        return_types.push_back(value.type()->annotation_str());
    signature += return_types.size() == 1 ? return_types[0] : "(" + list_text(return_types) + ")";
    description.format_details = "TorchScript method " + signature;

    const auto& arguments = schema.arguments();
    // True while in the leading tensor arguments.
    bool passed = true;
    for (std::size_t i = 1; i < arguments.size(); ++i) {  // 0 is self
        const auto& argument = arguments[i];
        passed = passed && is_tensor_type(argument.type());
        if (passed) {
            description.inputs.push_back(unshaped(argument.name(), argument.type()));
        } else if (!argument.default_value()) {
            description.notes.push_back(where + " argument '" + argument.name() + "' is " +
                                        argument.type()->annotation_str() +
                                        " without a default: the libtorch engine passes only "
                                        "float tensors, by position, so it cannot run this method");
        } else {
            description.notes.push_back("argument '" + argument.name() + "' (" +
                                        argument.type()->annotation_str() +
                                        ") keeps its default: the libtorch engine passes only "
                                        "the leading tensor arguments");
        }
    }

    const auto& returns = schema.returns();
    const c10::TypePtr type = returns.size() == 1 ? returns[0].type() : c10::TypePtr();
    const std::string type_text = type ? type->annotation_str() : signature;
    bool supported = type != nullptr;
    if (type && is_tensor_type(type)) {
        description.outputs.push_back(unshaped("output", type));
    } else if (const auto tuple = type ? type->cast<c10::TupleType>() : nullptr) {
        for (std::size_t i = 0; i < tuple->elements().size(); ++i) {
            const auto& element = tuple->elements()[i];
            supported = supported && is_tensor_type(element);
            description.outputs.push_back(unshaped("output_" + std::to_string(i), element));
        }
    } else if (const auto list = type ? type->cast<c10::ListType>() : nullptr) {
        supported = is_tensor_type(list->getElementType());
        description.outputs.push_back(unshaped("outputs", type));
        description.notes.push_back(where + " returns " + type_text +
                                    ": how many outputs it gives is known only when it runs");
    } else if (type) {
        supported = type->kind() == c10::TypeKind::AnyType;
        description.outputs.push_back(unshaped("output", type));
    }
    if (!supported)
        description.notes.push_back(where + " returns " + type_text +
                                    "; the libtorch engine needs a Tensor, or a tuple or list of "
                                    "tensors");

    description.notes.push_back(
        "TorchScript keeps no tensor shapes or element types: take the shapes from the model's "
        "documentation or training code (the engine passes float32 tensors by position and "
        "matches outputs by position)");
    // Attributes the method assigns are state kept between runs, buffers or not (a hidden
    // `self.h = h_n` is the usual way recurrent state is kept in TorchScript).
    std::function<void(const torch::jit::Block*)> find_assignments = [&](const auto* block) {
        for (const torch::jit::Node* node : block->nodes()) {
            if (node->kind() == c10::prim::SetAttr) {
                const std::string name = node->s(c10::attr::name);
                auto& names = description.assigned_attributes;
                if (std::find(names.begin(), names.end(), name) == names.end())
                    names.push_back(name);
            }
            for (const torch::jit::Block* inner : node->blocks())
                find_assignments(inner);
        }
    };
    find_assignments(method.graph()->block());
    if (!description.assigned_attributes.empty())
        description.notes.push_back(
            where + " assigns module attributes (" + list_text(description.assigned_attributes) +
            "): the model keeps state between runs, so its config needs \"stateful\": true (with "
            "false, Legato restores them before every run)");
    std::vector<std::string> buffers;
    for (const auto& buffer : module.named_buffers(/*recurse=*/true))
        buffers.push_back(buffer.name + " " + shape_text(buffer.value.sizes()));
    if (!buffers.empty())
        description.notes.push_back(
            "the module has buffers (" + list_text(buffers) +
            "); if the method changes them, the model keeps state between runs: set "
            "\"stateful\": true to carry it, false to start every run from the loaded values");
    std::vector<std::string> methods;
    for (const auto& other : module.get_methods())
        methods.push_back(other.name());
    if (methods.size() > 1)
        description.notes.push_back("methods (entry points): " + list_text(methods));
    return description;
}

class LibTorchBackend final : public Backend {
public:
    std::string name() const override { return "libtorch"; }

    ModelDescription describe(const ModelSource& model, std::string_view entry_point) override {
        const std::string method_name = entry_point.empty() ? "forward" : std::string(entry_point);
        const std::string where = model.describe() + " method '" + method_name + "'";
        try {
            // The same archive checks as loading for inference (load_module).
            const torch::jit::Module module = load_module(model);
            const auto method = module.find_method(method_name);
            if (!method) {
                std::vector<std::string> names;
                for (const auto& other : module.get_methods())
                    names.push_back(other.name());
                throw Error(
                    model.describe() + " has no method '" + method_name +
                    "'; its methods: " + (names.empty() ? std::string("none") : list_text(names)));
            }
            return describe_method(module, *method, where);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {  // anything LibTorch throws past the checks
            throw Error(model.describe() + ": " + message_of(e));
        }
    }

    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        try {
            return std::make_unique<LibTorchInstance>(setup);
        } catch (const Error&) {
            throw;
        } catch (const std::exception& e) {  // anything LibTorch throws past the checks
            throw Error(setup.model.describe() + ": " + message_of(e));
        }
    }
};

}  // namespace

std::shared_ptr<Backend> make_libtorch_backend(const LibTorchOptions& options) {
    if (options.threads < 1)
        throw Error("LibTorchOptions.threads: must be at least 1, got " +
                    std::to_string(options.threads));
    configure_threads(options.threads);
    return std::make_shared<LibTorchBackend>();
}

}  // namespace legato
