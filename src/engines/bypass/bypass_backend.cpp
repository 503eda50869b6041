#include "legato/bypass_backend.hpp"

#include <algorithm>
#include <vector>

#include "legato/audio_tensor_copy.hpp"

namespace legato {

namespace {

class BypassInstance final : public ModelInstance {
public:
    explicit BypassInstance(const InstanceSetup& setup)
        : inputs_(setup.inputs.begin(), setup.inputs.end()),
          outputs_(setup.outputs.begin(), setup.outputs.end()) {
        std::size_t longest = 0;
        for (const auto& view : inputs_) {
            if (view.spec->role == TensorRole::audio) {
                audio_inputs_.push_back(&view);
                longest = std::max(longest, view.spec->hop);
            }
        }
        hop_.resize(longest);
    }

    void run() override {
        std::size_t audio_index = 0;
        for (const auto& out : outputs_) {
            if (out.spec->role != TensorRole::audio) {
                std::fill(out.data.begin(), out.data.end(), 0.0f);
                continue;
            }
            const TensorView& in =
                *audio_inputs_[audio_index < audio_inputs_.size() ? audio_index : 0];
            ++audio_index;
            const std::span<float> hop(hop_.data(), out.spec->hop);
            for (std::size_t c = 0; c < out.spec->channels; ++c) {
                read_input_hop(in, c % in.spec->channels, hop);
                write_output_hop(out, c, hop);
            }
        }
    }

private:
    std::vector<TensorView> inputs_;
    std::vector<TensorView> outputs_;
    std::vector<const TensorView*> audio_inputs_;
    std::vector<float> hop_;  // scratch, sized at setup
};

class BypassBackend final : public Backend {
public:
    std::string name() const override { return "bypass"; }
    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<BypassInstance>(setup);
    }
};

}  // namespace

std::shared_ptr<Backend> make_bypass_backend() {
    return std::make_shared<BypassBackend>();
}

}  // namespace legato
