// The "native" engine behind the Backend interface: model files are RTNeural JSON, NAM (.nam)
// or ONNX (the subset of onnx_import.hpp); each instance streams its hop frame by frame through its
// own copy of the model.

#include "legato/native_backend.hpp"

#include <algorithm>
#include <vector>

#include "legato/error.hpp"
#include "native_model_file.hpp"

namespace legato {

namespace {

using native::StreamModel;

// The tensor's frames: its element count over the values per frame. Accepts [.., frames] for
// one value per frame and [.., frames, values] otherwise.
std::size_t frames_of(const TensorView& view, std::size_t per_frame, const char* what,
                      const std::string& model) {
    const auto shape = view.shape();
    const std::size_t count = view.data.size();
    const bool fits = per_frame == 1
                          ? true
                          : (!shape.empty() && static_cast<std::size_t>(shape.back()) == per_frame);
    if (!fits || count % per_frame != 0)
        throw Error(std::string(what) + " '" + view.name() + "': the native model " + model +
                    " takes " + std::to_string(per_frame) +
                    " values per frame: give the tensor a last dimension of " +
                    std::to_string(per_frame) + " (frames before it)");
    return count / per_frame;
}

class NativeInstance final : public ModelInstance {
public:
    NativeInstance(std::unique_ptr<StreamModel> model, const InstanceSetup& setup)
        : model_(std::move(model)), stateful_(setup.stateful) {
        const std::string what = setup.model.describe();
        if (setup.inputs.size() != 1 || setup.outputs.size() != 1)
            throw Error(
                "the native engine runs models with one input and one output tensor; the "
                "config has " +
                std::to_string(setup.inputs.size()) + " and " +
                std::to_string(setup.outputs.size()));
        if (!setup.entry_point.empty())
            throw Error("entry_point '" + std::string(setup.entry_point) +
                        "': native models have one entry point; leave it empty");
        input_ = setup.inputs[0];
        output_ = setup.outputs[0];
        frames_ = frames_of(input_, model_->input_size(), "input", what);
        out_frames_ = frames_of(output_, model_->output_size(), "output", what);
        const std::string frames_text = "output '" + output_.name() + "' holds " +
                                        std::to_string(out_frames_) + " frames, input '" +
                                        input_.name() + "' " + std::to_string(frames_);
        if (out_frames_ > frames_)
            throw Error(frames_text + ": a native model gives one output frame per input frame");
        if (out_frames_ < frames_) {
            // A window with past context: the model runs over all of it from its initial state
            // and the last frames are the output, as engines that run a padding-free
            // convolution give them. A stateful model carries its past itself.
            if (stateful_)
                throw Error(frames_text +
                            ": a stateful native model carries its own past; give the input no "
                            "past context (as many frames as the output)");
            window_output_.assign(frames_ * model_->output_size(), 0.0f);
        }
    }

    void run() override {
        // A stateless handler's every run starts from the model's initial state.
        if (!stateful_)
            model_->reset();
        if (window_output_.empty()) {
            model_->process(input_.data.data(), output_.data.data(), frames_);
            return;
        }
        model_->process(input_.data.data(), window_output_.data(), frames_);
        const std::size_t skipped = (frames_ - out_frames_) * model_->output_size();
        std::copy(window_output_.begin() + static_cast<std::ptrdiff_t>(skipped),
                  window_output_.end(), output_.data.begin());
    }

    void reset_state() override { model_->reset(); }

private:
    std::unique_ptr<StreamModel> model_;
    bool stateful_;
    TensorView input_, output_;
    std::size_t frames_ = 0, out_frames_ = 0;
    std::vector<float> window_output_;  // all frames of a window with past context (else empty)
};

// One channel inline: copies the input first, so that the host may pass the same buffer twice.
class NativeStreaming final : public StreamingInstance {
public:
    NativeStreaming(std::unique_ptr<StreamModel> model, std::size_t max_block)
        : model_(std::move(model)), input_(max_block, 0.0f) {}

    void process(const float* in, float* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override {
        std::copy(in, in + frames, input_.begin());
        model_->process(input_.data(), out, frames);
    }

    void reset() noexcept LEGATO_NONBLOCKING override { model_->reset(); }

private:
    std::unique_ptr<StreamModel> model_;
    std::vector<float> input_;
};

class NativeBackend final : public Backend {
public:
    std::string name() const override { return "native"; }

    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<NativeInstance>(native::load_model(setup.model), setup);
    }

    std::unique_ptr<StreamingInstance> create_streaming_instance(const ModelSource& model,
                                                                 std::size_t max_block) override {
        auto loaded = native::load_model(model);
        if (loaded->input_size() != 1 || loaded->output_size() != 1)
            throw Error(model.describe() + ": the model takes " +
                        std::to_string(loaded->input_size()) + " and gives " +
                        std::to_string(loaded->output_size()) +
                        " values per frame; inline, every channel runs a mono model (1 and 1)");
        return std::make_unique<NativeStreaming>(std::move(loaded), max_block);
    }

    ModelDescription describe(const ModelSource& model, std::string_view entry_point) override {
        if (!entry_point.empty())
            throw Error("entry_point '" + std::string(entry_point) +
                        "': native models have one entry point");
        const auto loaded = native::load_model(model);
        return native::description(*loaded);
    }
};

}  // namespace

std::shared_ptr<Backend> make_native_backend() {
    return std::make_shared<NativeBackend>();
}

}  // namespace legato
