#include "legato/custom_backend.hpp"

#include <vector>

#include "legato/error.hpp"

namespace legato {

namespace {

class CustomInstance final : public ModelInstance {
public:
    CustomInstance(const InstanceSetup& setup, CustomInstanceFactory factory)
        : inputs_(setup.inputs.begin(), setup.inputs.end()),
          outputs_(setup.outputs.begin(), setup.outputs.end()),
          model_(setup.model),
          entry_point_(setup.entry_point),
          index_(setup.instance_index),
          stateful_(setup.stateful),
          factory_(std::move(factory)) {
        function_ = factory_(describe());
        if (!function_)
            throw Error("the custom backend's factory returned an empty function");
    }

    void run() override { function_(inputs_, outputs_); }

    void reset_state() override { function_ = factory_(describe()); }

private:
    InstanceSetup describe() const {
        return {model_, entry_point_, inputs_, outputs_, index_, stateful_};
    }

    std::vector<TensorView> inputs_;
    std::vector<TensorView> outputs_;
    ModelSource model_;
    std::string entry_point_;
    std::size_t index_;
    bool stateful_;
    CustomInstanceFactory factory_;
    CustomFunction function_;
};

class CustomBackend final : public Backend {
public:
    CustomBackend(std::string name, CustomInstanceFactory factory)
        : name_(std::move(name)), factory_(std::move(factory)) {}
    std::string name() const override { return name_; }
    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<CustomInstance>(setup, factory_);
    }

private:
    std::string name_;
    CustomInstanceFactory factory_;
};

}  // namespace

std::shared_ptr<Backend> make_custom_backend(std::string name, CustomFunction function) {
    if (!function)
        throw Error("make_custom_backend('" + name + "'): the function is empty");
    return std::make_shared<CustomBackend>(
        std::move(name),
        [function = std::move(function)](const InstanceSetup&) { return function; });
}

std::shared_ptr<Backend> make_custom_backend(std::string name, CustomInstanceFactory factory) {
    if (!factory)
        throw Error("make_custom_backend('" + name + "'): the factory is empty");
    return std::make_shared<CustomBackend>(std::move(name), std::move(factory));
}

}  // namespace legato
