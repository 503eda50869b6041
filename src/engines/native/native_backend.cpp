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

// The audio channels of a tensor when a mono model runs each of them as its own stream (a
// config with "channels": C over a model that takes one value per frame); 1 otherwise.
std::size_t stream_channels(const TensorView& view, std::size_t per_frame) {
    return per_frame == 1 && view.spec != nullptr && view.spec->role == TensorRole::audio
               ? std::max<std::size_t>(view.spec->channels, 1)
               : 1;
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
        channels_ = stream_channels(input_, model_->input_size());
        if (stream_channels(output_, model_->output_size()) != channels_)
            throw Error("input '" + input_.name() + "' has " + std::to_string(channels_) +
                        " channels and output '" + output_.name() + "' " +
                        std::to_string(output_.spec->channels) +
                        ": each channel of a native model streams through its own copy of it");
        frames_ = frames_of(input_, model_->input_size(), "input", what) / channels_;
        out_frames_ = frames_of(output_, model_->output_size(), "output", what) / channels_;
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
            if (channels_ == 1)
                window_output_.assign(frames_ * model_->output_size(), 0.0f);
        }
        if (channels_ > 1)
            prepare_channels();
    }

    void run() override {
        if (channels_ > 1) {
            run_channels();
            return;
        }
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

    void reset_state() override {
        model_->reset();
        for (auto& copy : copies_)
            copy->reset();
    }

private:
    // Several channels: one batched copy of the model (or a copy per channel when the model
    // cannot batch), fed frame by frame with every channel's sample.
    void prepare_channels() {
        for (const TensorView* view : {&input_, &output_}) {
            const AudioLayout layout = view->spec->layout;
            if (layout != AudioLayout::channels_first && layout != AudioLayout::channels_last)
                throw Error("'" + view->name() +
                            "': with several channels the native engine takes the "
                            "channels_first or channels_last layout");
        }
        if (auto batch = model_->with_channels(channels_)) {
            model_ = std::move(batch);
        } else {
            for (std::size_t k = 0; k < channels_; ++k)
                copies_.push_back(model_->clone());
            mono_in_.assign(frames_, 0.0f);
            mono_out_.assign(frames_, 0.0f);
        }
        frames_in_.assign(frames_ * channels_, 0.0f);
        frames_out_.assign(frames_ * channels_, 0.0f);
    }

    void run_channels() {
        const std::size_t C = channels_;
        const bool in_first = input_.spec->layout == AudioLayout::channels_first;
        const float* in = input_.data.data();
        for (std::size_t t = 0; t < frames_; ++t)
            for (std::size_t k = 0; k < C; ++k)
                frames_in_[t * C + k] = in_first ? in[k * frames_ + t] : in[t * C + k];
        if (copies_.empty()) {
            if (!stateful_)
                model_->reset();
            model_->process(frames_in_.data(), frames_out_.data(), frames_);
        } else {
            for (std::size_t k = 0; k < C; ++k) {
                if (!stateful_)
                    copies_[k]->reset();
                for (std::size_t t = 0; t < frames_; ++t)
                    mono_in_[t] = frames_in_[t * C + k];
                copies_[k]->process(mono_in_.data(), mono_out_.data(), frames_);
                for (std::size_t t = 0; t < frames_; ++t)
                    frames_out_[t * C + k] = mono_out_[t];
            }
        }
        // The last out_frames_ frames (a window with past context gives fewer than it takes).
        const bool out_first = output_.spec->layout == AudioLayout::channels_first;
        const std::size_t skipped = frames_ - out_frames_;
        float* out = output_.data.data();
        for (std::size_t t = 0; t < out_frames_; ++t)
            for (std::size_t k = 0; k < C; ++k)
                (out_first ? out[k * out_frames_ + t] : out[t * C + k]) =
                    frames_out_[(skipped + t) * C + k];
    }

    std::unique_ptr<StreamModel> model_;
    bool stateful_;
    TensorView input_, output_;
    std::size_t channels_ = 1;
    std::size_t frames_ = 0, out_frames_ = 0;  ///< per channel
    std::vector<float> window_output_;  // all frames of a window with past context (else empty)
    // Several channels: every channel's frames, frame after frame; per-channel copies and
    // their mono buffers when the model cannot batch.
    std::vector<float> frames_in_, frames_out_, mono_in_, mono_out_;
    std::vector<std::unique_ptr<StreamModel>> copies_;
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

// Every channel inline through one batched copy of the model: the host's channels are
// interleaved into frames for it and back (which also lets in[k] be out[k]).
class NativeStreamingBatch final : public StreamingBatch {
public:
    NativeStreamingBatch(std::unique_ptr<StreamModel> model, std::size_t max_block)
        : model_(std::move(model)),
          channels_(model_->channels()),
          input_(max_block * channels_, 0.0f),
          output_(max_block * channels_, 0.0f) {}

    void process(const float* const* in, float* const* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override {
        const std::size_t C = channels_;
        for (std::size_t k = 0; k < C; ++k)
            for (std::size_t t = 0; t < frames; ++t)
                input_[t * C + k] = in[k][t];
        model_->process(input_.data(), output_.data(), frames);
        for (std::size_t k = 0; k < C; ++k)
            for (std::size_t t = 0; t < frames; ++t)
                out[k][t] = output_[t * C + k];
    }

    void reset() noexcept LEGATO_NONBLOCKING override { model_->reset(); }

private:
    std::unique_ptr<StreamModel> model_;
    std::size_t channels_;
    std::vector<float> input_, output_;
};

class NativeBackend final : public Backend {
    // Inline, every channel runs a mono model.
    static std::unique_ptr<StreamModel> load_mono(const ModelSource& model) {
        auto loaded = native::load_model(model);
        if (loaded->input_size() != 1 || loaded->output_size() != 1)
            throw Error(model.describe() + ": the model takes " +
                        std::to_string(loaded->input_size()) + " and gives " +
                        std::to_string(loaded->output_size()) +
                        " values per frame; inline, every channel runs a mono model (1 and 1)");
        return loaded;
    }

public:
    std::string name() const override { return "native"; }

    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<NativeInstance>(native::load_model(setup.model), setup);
    }

    std::unique_ptr<StreamingInstance> create_streaming_instance(const ModelSource& model,
                                                                 std::size_t max_block) override {
        return std::make_unique<NativeStreaming>(load_mono(model), max_block);
    }

    std::unique_ptr<StreamingBatch> create_streaming_batch(const ModelSource& model,
                                                           std::size_t max_block,
                                                           std::size_t channels) override {
        auto loaded = load_mono(model);
        auto batch = loaded->with_channels(channels);
        if (!batch)
            return nullptr;  // NAM models: a copy per channel
        return std::make_unique<NativeStreamingBatch>(std::move(batch), max_block);
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
