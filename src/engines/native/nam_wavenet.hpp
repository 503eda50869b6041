#pragma once
// NAM's WaveNet architecture: layer arrays of gated or plain dilated causal convolutions with
// an input mixin from the condition (the audio itself, or the output of a condition_dsp model),
// residual connections to the next layer and skip connections summed into a head, arrays
// chained through a rechannel, scaled by head_scale, optionally followed by a post-stack head.
// Covers A1 ("standard", "lite", "feather", "nano") and the A2-era options (bottleneck, grouped
// convolutions, gating/blending with a secondary activation, head1x1, layer1x1, FiLM at eight
// places, per-layer kernel sizes and activations, head kernels). Reference: NeuralAmpModelerCore
// NAM/wavenet/*.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engines/native/kernels.hpp"
#include "engines/native/nam_file.hpp"

namespace legato::native::nam {

/// One NAM activation with its parameters, as a .nam file names it.
struct NamActivation {
    enum class Kind {
        tanh,
        hard_tanh,
        fast_tanh,
        relu,
        leaky_relu,  ///< slopes[0] below 0
        prelu,       ///< slopes: one for all channels, or one per channel
        sigmoid,
        silu,
        hardswish,
        leaky_hard_tanh,  ///< identity in [min_val, max_val], slopes min_slope/max_slope outside
        softsign,
    };
    Kind kind = Kind::tanh;
    std::string name = "Tanh";  ///< for ModelInfo
    std::vector<float> slopes;  ///< leaky_relu, prelu
    float min_val = -1.0f, max_val = 1.0f, min_slope = 0.01f, max_slope = 0.01f;

    /// [any thread] x[i] = f(x[i]) for i < n; element i is channel i (PReLU's slope). Real-time
    /// safe.
    void apply(float* x, std::size_t n) const noexcept LEGATO_NONBLOCKING;
};

enum class Gating {
    none,     ///< z -> activation(z)
    gated,    ///< [a; b] -> activation(a) * secondary(b)
    blended,  ///< [a; b] -> s * activation(a) + (1 - s) * a, s = secondary(b)
};

/// A FiLM insertion point: scale (and shift) from a grouped 1x1 conv of the condition.
struct FilmConfig {
    bool active = false;
    bool shift = true;
    std::size_t groups = 1;
};

/// One entry of config.layers, resolved per layer.
struct LayerArrayConfig {
    std::size_t input_size = 1;
    std::size_t condition_size = 1;
    std::size_t channels = 1;
    std::size_t bottleneck = 1;
    std::vector<std::size_t> kernel_sizes;   ///< per layer
    std::vector<std::size_t> dilations;      ///< per layer
    std::vector<NamActivation> activations;  ///< per layer
    std::vector<Gating> gating;              ///< per layer
    std::vector<NamActivation> secondary;    ///< per layer (used when gated or blended)
    std::size_t groups_input = 1;
    std::size_t groups_input_mixin = 1;
    bool layer1x1 = true;
    std::size_t layer1x1_groups = 1;
    bool head1x1 = false;
    std::size_t head1x1_out = 0;
    std::size_t head1x1_groups = 1;
    std::size_t head_size = 1;  ///< head rechannel outputs
    std::size_t head_kernel_size = 1;
    bool head_bias = false;
    FilmConfig conv_pre_film, conv_post_film, input_mixin_pre_film, input_mixin_post_film,
        activation_pre_film, activation_post_film, layer1x1_post_film, head1x1_post_film;
    /// slimmable.kwargs.allowed_channels, ascending to `channels`; empty: not slimmable.
    std::vector<std::size_t> slimmable_channels;

    /// [any thread] Rows of the convolution output (2 * bottleneck when gated or blended).
    std::size_t z_rows(std::size_t layer) const {
        return gating[layer] == Gating::none ? bottleneck : 2 * bottleneck;
    }
    /// [any thread] Width of what each layer adds to the head sum.
    std::size_t head_input_size() const { return head1x1 ? head1x1_out : bottleneck; }
};

/// config.head: Conv1D stack after the layer arrays (activation before each convolution).
struct PostHeadConfig {
    std::size_t channels = 1;      ///< between the convolutions
    std::size_t out_channels = 1;  ///< model outputs
    std::vector<std::size_t> kernel_sizes;
    NamActivation activation;
};

struct WaveNetConfig {
    std::size_t in_channels = 1;
    std::vector<LayerArrayConfig> arrays;
    std::optional<PostHeadConfig> head;
    /// Some layers[].slimmable: the model can be slimmed (nam_slimmable.hpp); full size unless
    /// asked.
    bool slimmable = false;
    /// config.condition_dsp: turns the input into the layers' condition (null: the input).
    std::unique_ptr<NamModel> condition_dsp;
};

class WaveNetModel final : public NamModel {
public:
    /// [setup thread] Takes the weights in upstream's set_weights_ order (per array: rechannel,
    /// per layer conv, input mixin, layer1x1, head1x1, the FiLMs; head rechannel; then the
    /// post-stack head; last head_scale). `config` is validated by the parser (sizes chain).
    /// Throws legato::Error (weight count) or std::bad_alloc.
    WaveNetModel(WaveNetConfig config, WeightCursor& weights, ModelInfo info);

    /// [any thread] Audio inputs per frame.
    std::size_t input_size() const noexcept override { return in_channels_; }
    /// [any thread] Outputs per frame.
    std::size_t output_size() const noexcept override { return out_channels_; }
    /// [audio or worker thread] Real-time safe.
    void process(const float* in, float* out,
                 std::size_t frames) noexcept LEGATO_NONBLOCKING override;
    /// [any thread] See NamModel.
    std::size_t prewarm_samples() const noexcept LEGATO_NONBLOCKING override { return prewarm_; }
    /// [audio or worker thread] Zeroes every convolution history. Real-time safe.
    void clear_state() noexcept LEGATO_NONBLOCKING override;
    /// [audio or worker thread] Every history (and the condition model's state).
    void visit_state(StateVisitor& visitor) noexcept LEGATO_NONBLOCKING override;
    /// [setup thread] A copy with its own state. Throws std::bad_alloc only.
    std::unique_ptr<NamModel> clone_nam() const override;

private:
    // A (grouped) convolution stored densely as one column-major out x (kernel * in) matrix,
    // taps oldest first (the zeros off the group blocks add exactly nothing), so that a frame
    // is one matrix-vector product over its gathered taps.
    struct Conv {
        std::size_t in = 0, out = 0, kernel = 1, dilation = 1;
        Floats weight;
        Floats bias;  // empty: none
    };
    // The past inputs of a causal convolution: a power-of-two ring of frames.
    struct History {
        Floats data;
        std::size_t channels = 0, mask = 0, newest = 0;
        float* push() noexcept LEGATO_NONBLOCKING;
        const float* back(std::size_t frames) const noexcept LEGATO_NONBLOCKING;
        /// `frames` frames (frame-major) at once, in at most two copies; fewer than the ring.
        void push_block(const float* x, std::size_t frames) noexcept LEGATO_NONBLOCKING;
    };
    struct Film {
        Conv conv;  // condition -> scale (and shift)
        std::size_t dim = 0;
        bool shift = true;
    };
    struct Layer {
        Conv conv;
        History history;
        Conv mixin;
        // [conv taps | input mixin] side by side, when no FiLM comes between the two products
        // (then z is one product over [taps; condition]); empty otherwise.
        Floats conv_and_mixin;
        // No FiLM anywhere (A1 and most A2 files): the layer runs over the whole chunk as
        // matrix products (run_layer_block) instead of frame by frame.
        bool block = false;
        std::optional<Conv> layer1x1, head1x1;
        NamActivation activation, secondary;
        Gating gating = Gating::none;
        std::size_t bottleneck = 0;
        std::optional<Film> conv_pre, conv_post, mixin_pre, mixin_post, act_pre, act_post,
            layer1x1_post, head1x1_post;
    };
    struct LayerArray {
        Conv rechannel;
        std::vector<Layer> layers;
        Conv head_rechannel;
        History head_history;
        std::size_t channels = 0, head_in = 0;
    };
    struct PostHead {
        std::vector<Conv> convs;
        std::vector<History> histories;
        NamActivation activation;
    };

    static Conv take_conv(WeightCursor& weights, std::size_t in, std::size_t out,
                          std::size_t kernel, std::size_t dilation, std::size_t groups, bool bias,
                          const std::string& part);
    static History make_history(std::size_t channels, std::size_t lookback);
    static std::optional<Film> take_film(WeightCursor& weights, const FilmConfig& film,
                                         std::size_t condition, std::size_t dim,
                                         const std::string& part);

    static void gather_taps(const Conv& conv, const History& history,
                            float* taps) noexcept LEGATO_NONBLOCKING;
    void conv_frame(const Conv& conv, const History& history, float* y) noexcept LEGATO_NONBLOCKING;
    // y = W [taps; extra] + bias (bias last, as upstream) for the `frames` frames last pushed
    // into `history`, frame-major with conv.out rows; W's columns are the taps oldest first, then
    // `extra`'s (if not null; its x at the first of those frames). The frames are cut where a
    // tap's stretch of the ring wraps; any kernel size (passes of kMaxColumnBlocks blocks, each
    // continuing the sums of the one before, so neither cut changes a bit).
    static void convolve_pushed(const float* w, const Conv& conv, const History& history,
                                std::size_t frames, const ColumnBlock* extra,
                                float* y) noexcept LEGATO_NONBLOCKING;
    void film_frame(const Film& film, const float* x, const float* condition,
                    float* y) noexcept LEGATO_NONBLOCKING;
    void run_chunk(const float* in, float* out, std::size_t frames) noexcept LEGATO_NONBLOCKING;
    void run_layer(Layer& layer, float* x, std::size_t channels, const float* condition,
                   float* head_sum, std::size_t head_in,
                   std::size_t frames) noexcept LEGATO_NONBLOCKING;
    // One frame's activation and gating: z (conv rows) -> z[0..bottleneck); `aside` holds a
    // bottleneck's worth of scratch.
    static void activate_frame(const Layer& layer, float* z,
                               float* aside) noexcept LEGATO_NONBLOCKING;
    void run_layer_block(Layer& layer, float* x, std::size_t channels, const float* condition,
                         float* head_sum, std::size_t head_in,
                         std::size_t frames) noexcept LEGATO_NONBLOCKING;
    void run_post_head(const float* head_out, float* out,
                       std::size_t frames) noexcept LEGATO_NONBLOCKING;

    // The condition model, deep-copied with the WaveNet (clone() gives independent state).
    struct ConditionModel {
        std::unique_ptr<NamModel> model;
        ConditionModel() = default;
        explicit ConditionModel(std::unique_ptr<NamModel> m) : model(std::move(m)) {}
        ConditionModel(const ConditionModel& other)
            : model(other.model ? other.model->clone_nam() : nullptr) {}
        ConditionModel& operator=(const ConditionModel&) = delete;
    };

    std::size_t in_channels_ = 1;
    std::size_t out_channels_ = 1;
    std::size_t condition_size_ = 1;
    ConditionModel condition_dsp_;
    std::vector<LayerArray> arrays_;
    std::optional<PostHead> post_head_;
    float head_scale_ = 1.0f;
    std::size_t prewarm_ = 0;

    // Scratch, sized at load for kChunk frames (process() splits longer calls).
    Floats condition_;                          // condition_size x chunk (from condition_dsp)
    Floats stream_[2];                          // layer activations, ping-pong between arrays
    Floats head_sum_;                           // head inputs summed over layers
    Floats head_out_;                           // head rechannel output
    Floats t0_, t1_, t2_, t3_, t4_;             // per-frame vectors
    Floats taps_;                               // a convolution's gathered inputs
    Floats block_z_, block_next_, block_head_;  // run_layer_block: chunk x rows
};

}  // namespace legato::native::nam
