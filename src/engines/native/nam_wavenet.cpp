#include "engines/native/nam_wavenet.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engines/native/kernels.hpp"

namespace legato::native::nam {

namespace {

// Frames per internal step: process() runs layer after layer over this many frames, so a
// layer's weights stay in cache while they serve the whole step.
constexpr std::size_t kChunk = 64;

constexpr std::size_t kMaxDenseValues = std::size_t{1} << 26;  // floats in one convolution

std::size_t next_power_of_two(std::size_t n) {
    std::size_t p = 1;
    while (p < n)
        p *= 2;
    return p;
}

}  // namespace

// NamActivation =============================================================================

void NamActivation::apply(float* x, std::size_t n) const noexcept LEGATO_NONBLOCKING {
    switch (kind) {
        case Kind::tanh:
            return activate(Activation::tanh, x, n);
        case Kind::hard_tanh:
            return activate(Activation::hard_tanh, x, n);
        case Kind::fast_tanh:
            return activate(Activation::fast_tanh, x, n);
        case Kind::relu:
            return activate(Activation::relu, x, n);
        case Kind::sigmoid:
            return activate(Activation::sigmoid, x, n);
        case Kind::leaky_relu:
            return activate(Activation::leaky_relu, x, n, slopes[0]);
        case Kind::prelu:
            if (slopes.size() == 1)
                return activate(Activation::leaky_relu, x, n, slopes[0]);
            for (std::size_t i = 0; i < n; ++i)  // the parser checked one slope per channel
                x[i] = x[i] > 0.0f ? x[i] : slopes[i] * x[i];
            return;
        case Kind::silu:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = x[i] * sigmoid(x[i]);
            return;
        case Kind::hardswish:
            for (std::size_t i = 0; i < n; ++i) {
                const float t = std::clamp(x[i] + 3.0f, 0.0f, 6.0f);
                x[i] = x[i] * t * (1.0f / 6.0f);  // upstream's order of the products
            }
            return;
        case Kind::leaky_hard_tanh:
            for (std::size_t i = 0; i < n; ++i) {
                if (x[i] < min_val)
                    x[i] = (x[i] - min_val) * min_slope + min_val;
                else if (x[i] > max_val)
                    x[i] = (x[i] - max_val) * max_slope + max_val;
            }
            return;
        case Kind::softsign:
            for (std::size_t i = 0; i < n; ++i)
                x[i] = x[i] / (1.0f + std::fabs(x[i]));
            return;
    }
}

// Building blocks ============================================================================

float* WaveNetModel::History::push() noexcept LEGATO_NONBLOCKING {
    newest = (newest + 1) & mask;
    return data.data() + newest * channels;
}

void WaveNetModel::History::push_block(const float* x,
                                       std::size_t frames) noexcept LEGATO_NONBLOCKING {
    const std::size_t first = (newest + 1) & mask;
    const std::size_t before_wrap = std::min(frames, mask + 1 - first);
    std::copy_n(x, before_wrap * channels, data.data() + first * channels);
    std::copy_n(x + before_wrap * channels, (frames - before_wrap) * channels, data.data());
    newest = (newest + frames) & mask;
}

const float* WaveNetModel::History::back(std::size_t frames) const noexcept LEGATO_NONBLOCKING {
    return data.data() + ((newest - frames) & mask) * channels;
}

WaveNetModel::Conv WaveNetModel::take_conv(WeightCursor& weights, std::size_t in, std::size_t out,
                                           std::size_t kernel, std::size_t dilation,
                                           std::size_t groups, bool bias, const std::string& part) {
    Conv conv;
    conv.in = in;
    conv.out = out;
    conv.kernel = kernel;
    conv.dilation = dilation;
    // Grouped convolutions are stored densely: bound what a few weights can make us allocate.
    if (kernel * out * in > kMaxDenseValues)
        weights.fail(part, "(" + std::to_string(out) + " x " + std::to_string(in) + " x " +
                               std::to_string(kernel) + ") is beyond what the native engine runs");
    const std::size_t out_per_group = out / groups;
    const std::size_t in_per_group = in / groups;
    const std::span<const float> source =
        weights.take(out_per_group * in_per_group * kernel * groups + (bias ? out : 0), part);
    // File order (upstream Conv1D/Conv1x1::set_weights_): group, output row, input column,
    // tap; then the bias. Stored densely: tap k's matrix is column-major out x in.
    conv.weight.assign(kernel * out * in, 0.0f);
    std::size_t next = 0;
    for (std::size_t g = 0; g < groups; ++g)
        for (std::size_t i = 0; i < out_per_group; ++i)
            for (std::size_t j = 0; j < in_per_group; ++j)
                for (std::size_t k = 0; k < kernel; ++k) {
                    const std::size_t row = g * out_per_group + i;
                    const std::size_t col = g * in_per_group + j;
                    conv.weight[k * out * in + col * out + row] = source[next++];
                }
    if (bias)
        conv.bias.assign(source.begin() + static_cast<std::ptrdiff_t>(next), source.end());
    return conv;
}

WaveNetModel::History WaveNetModel::make_history(std::size_t channels, std::size_t lookback) {
    History history;
    const std::size_t frames = next_power_of_two(lookback + 1);
    history.data.assign(frames * channels, 0.0f);
    history.channels = channels;
    history.mask = frames - 1;
    return history;
}

std::optional<WaveNetModel::Film> WaveNetModel::take_film(WeightCursor& weights,
                                                          const FilmConfig& film,
                                                          std::size_t condition, std::size_t dim,
                                                          const std::string& part) {
    if (!film.active)
        return std::nullopt;
    Film out;
    out.dim = dim;
    out.shift = film.shift;
    out.conv =
        take_conv(weights, condition, (film.shift ? 2 : 1) * dim, 1, 1, film.groups, true, part);
    return out;
}

// Construction ===============================================================================

WaveNetModel::WaveNetModel(WaveNetConfig config, WeightCursor& weights, ModelInfo info)
    : NamModel(std::move(info)),
      in_channels_(config.in_channels),
      condition_dsp_(std::move(config.condition_dsp)) {
    condition_size_ = condition_dsp_.model ? condition_dsp_.model->output_size() : in_channels_;
    std::size_t lookback = 0;  // frames of past input an output depends on (this model)
    std::size_t widest = std::max(in_channels_, condition_size_);
    std::size_t widest_stream = 1, widest_head_sum = 1, widest_head_out = 1, widest_taps = 1;
    for (std::size_t a = 0; a < config.arrays.size(); ++a) {
        const LayerArrayConfig& c = config.arrays[a];
        const std::string array = "layer array " + std::to_string(a);
        LayerArray& array_out = arrays_.emplace_back();
        array_out.channels = c.channels;
        array_out.head_in = c.head_input_size();
        array_out.rechannel =
            take_conv(weights, c.input_size, c.channels, 1, 1, 1, false, array + " (rechannel)");
        const std::size_t cond = c.condition_size;
        const std::size_t b = c.bottleneck;
        for (std::size_t l = 0; l < c.dilations.size(); ++l) {
            const std::string p = array + ", layer " + std::to_string(l);
            const std::size_t z = c.z_rows(l);
            Layer& layer = array_out.layers.emplace_back();
            layer.conv = take_conv(weights, c.channels, z, c.kernel_sizes[l], c.dilations[l],
                                   c.groups_input, true, p + " (conv)");
            // Room for a whole chunk beyond the look-back: run_layer_block reads each tap's
            // frames for the chunk after pushing them all.
            layer.history =
                make_history(c.channels, (c.kernel_sizes[l] - 1) * c.dilations[l] + kChunk);
            lookback += (c.kernel_sizes[l] - 1) * c.dilations[l];
            layer.mixin = take_conv(weights, cond, z, 1, 1, c.groups_input_mixin, false,
                                    p + " (input mixin)");
            if (c.layer1x1)
                layer.layer1x1 = take_conv(weights, b, c.channels, 1, 1, c.layer1x1_groups, true,
                                           p + " (layer1x1)");
            if (c.head1x1)
                layer.head1x1 = take_conv(weights, b, c.head1x1_out, 1, 1, c.head1x1_groups, true,
                                          p + " (head1x1)");
            layer.conv_pre =
                take_film(weights, c.conv_pre_film, cond, c.channels, p + " (conv_pre_film)");
            layer.conv_post =
                take_film(weights, c.conv_post_film, cond, z, p + " (conv_post_film)");
            layer.mixin_pre = take_film(weights, c.input_mixin_pre_film, cond, cond,
                                        p + " (input_mixin_pre_film)");
            layer.mixin_post = take_film(weights, c.input_mixin_post_film, cond, z,
                                         p + " (input_mixin_post_film)");
            layer.act_pre =
                take_film(weights, c.activation_pre_film, cond, z, p + " (activation_pre_film)");
            layer.act_post =
                take_film(weights, c.activation_post_film, cond, b, p + " (activation_post_film)");
            if (c.layer1x1)
                layer.layer1x1_post = take_film(weights, c.layer1x1_post_film, cond, c.channels,
                                                p + " (layer1x1_post_film)");
            if (c.head1x1)
                layer.head1x1_post = take_film(weights, c.head1x1_post_film, cond, c.head1x1_out,
                                               p + " (head1x1_post_film)");
            if (!layer.conv_post && !layer.mixin_post) {
                layer.conv_and_mixin = layer.conv.weight;
                layer.conv_and_mixin.insert(layer.conv_and_mixin.end(), layer.mixin.weight.begin(),
                                            layer.mixin.weight.end());
            }
            layer.block = !layer.conv_and_mixin.empty() && !layer.conv_pre && !layer.mixin_pre &&
                          !layer.act_pre && !layer.act_post && !layer.layer1x1_post &&
                          !layer.head1x1_post;
            widest_taps = std::max(widest_taps, c.kernel_sizes[l] * c.channels + cond);
            layer.activation = c.activations[l];
            layer.secondary = c.secondary[l];
            layer.gating = c.gating[l];
            layer.bottleneck = b;
            widest = std::max({widest, 2 * c.channels, 2 * z, 2 * cond, 2 * c.head1x1_out});
        }
        array_out.head_rechannel =
            take_conv(weights, array_out.head_in, c.head_size, c.head_kernel_size, 1, 1,
                      c.head_bias, array + " (head rechannel)");
        array_out.head_history = make_history(array_out.head_in, c.head_kernel_size - 1 + kChunk);
        widest_taps = std::max(widest_taps, c.head_kernel_size * array_out.head_in);
        lookback += c.head_kernel_size - 1;
        widest_stream = std::max(widest_stream, c.channels);
        widest_head_sum = std::max(widest_head_sum, array_out.head_in);
        widest_head_out = std::max(widest_head_out, c.head_size);
        widest = std::max({widest, c.channels, array_out.head_in, c.head_size});
    }
    out_channels_ = config.arrays.back().head_size;
    if (config.head) {
        PostHead& head = post_head_.emplace();
        head.activation = config.head->activation;
        std::size_t in = out_channels_;
        const std::vector<std::size_t>& kernels = config.head->kernel_sizes;
        for (std::size_t i = 0; i < kernels.size(); ++i) {
            const std::size_t out =
                i + 1 == kernels.size() ? config.head->out_channels : config.head->channels;
            head.convs.push_back(take_conv(weights, in, out, kernels[i], 1, 1, true,
                                           "head, convolution " + std::to_string(i)));
            head.histories.push_back(make_history(in, kernels[i] - 1));
            widest_taps = std::max(widest_taps, kernels[i] * in);
            lookback += kernels[i] - 1;
            widest = std::max({widest, in, out});
            in = out;
        }
        out_channels_ = config.head->out_channels;
    }
    // Upstream reads head_scale from the last weight (the config's copy is informational).
    head_scale_ = weights.take(1, "head_scale")[0];
    weights.expect_end();

    // Upstream WaveNet: 1 (or the condition model's pre-warm) plus every array's receptive
    // field. A slimmable WaveNet's wrapper reports 0, but its Reset() resets the full-size
    // WaveNet inside, which pre-warms: the reference output (nam-slimmable-wavenet) matches
    // only with the pre-warm.
    const NamModel* condition = condition_dsp_.model.get();
    prewarm_ = (condition ? condition->prewarm_samples() : 1) + lookback;
    // Receptive field: the condition model's (0 when recurrent: unbounded) plus the look-back.
    if (condition == nullptr)
        info_.receptive_field = 1 + lookback;
    else if (condition->info().receptive_field != 0)
        info_.receptive_field = condition->info().receptive_field + lookback;
    else
        info_.receptive_field = 0;
    info_.metadata.emplace_back("prewarm_samples", std::to_string(prewarm_));

    if (condition != nullptr)
        condition_.assign(condition_size_ * kChunk, 0.0f);
    stream_[0].assign(widest_stream * kChunk, 0.0f);
    stream_[1].assign(widest_stream * kChunk, 0.0f);
    head_sum_.assign(widest_head_sum * kChunk, 0.0f);
    head_out_.assign(widest_head_out * kChunk, 0.0f);
    for (Floats* t : {&t0_, &t1_, &t2_, &t3_, &t4_})
        t->assign(widest, 0.0f);
    taps_.assign(widest_taps, 0.0f);
    for (Floats* t : {&block_z_, &block_next_, &block_head_})
        t->assign(widest * kChunk, 0.0f);

    size_prewarm_buffers();
    reset();
}

std::unique_ptr<NamModel> WaveNetModel::clone_nam() const {
    return std::make_unique<WaveNetModel>(*this);
}

void WaveNetModel::clear_state() noexcept LEGATO_NONBLOCKING {
    if (condition_dsp_.model)
        condition_dsp_.model->clear_state();
    auto clear = [](History& h) {
        std::fill(h.data.begin(), h.data.end(), 0.0f);
        h.newest = 0;
    };
    for (LayerArray& array : arrays_) {
        for (Layer& layer : array.layers)
            clear(layer.history);
        clear(array.head_history);
    }
    if (post_head_)
        for (History& h : post_head_->histories)
            clear(h);
}

void WaveNetModel::visit_state(StateVisitor& visitor) noexcept LEGATO_NONBLOCKING {
    auto visit = [&visitor](History& h) noexcept LEGATO_NONBLOCKING {
        visitor.floats(h.data.data(), h.data.size());
        visitor.index(h.newest);
    };
    if (condition_dsp_.model)
        condition_dsp_.model->visit_state(visitor);
    for (LayerArray& array : arrays_) {
        for (Layer& layer : array.layers)
            visit(layer.history);
        visit(array.head_history);
    }
    if (post_head_)
        for (History& h : post_head_->histories)
            visit(h);
}

// Processing =================================================================================

void WaveNetModel::gather_taps(const Conv& conv, const History& history,
                               float* taps) noexcept LEGATO_NONBLOCKING {
    // Tap k sees the input (kernel - 1 - k) * dilation frames back.
    for (std::size_t k = 0; k < conv.kernel; ++k)
        std::copy_n(history.back((conv.kernel - 1 - k) * conv.dilation), conv.in,
                    taps + k * conv.in);
}

void WaveNetModel::conv_frame(const Conv& conv, const History& history,
                              float* y) noexcept LEGATO_NONBLOCKING {
    gather_taps(conv, history, taps_.data());
    matvec(conv.weight.data(), taps_.data(), nullptr, y, conv.out, conv.kernel * conv.in);
    for (std::size_t r = 0; r < conv.bias.size(); ++r)  // bias last, as upstream
        y[r] += conv.bias[r];
}

namespace {

// A 1x1 convolution of one frame: y = W x (+ bias), bias last as upstream.
template <typename ConvT>
void dense_frame(const ConvT& conv, const float* x, float* y) noexcept LEGATO_NONBLOCKING {
    matvec(conv.weight.data(), x, nullptr, y, conv.out, conv.in);
    for (std::size_t r = 0; r < conv.bias.size(); ++r)
        y[r] += conv.bias[r];
}

}  // namespace

void WaveNetModel::film_frame(const Film& film, const float* x, const float* condition,
                              float* y) noexcept LEGATO_NONBLOCKING {
    float* scale_shift = t4_.data();
    dense_frame(film.conv, condition, scale_shift);
    if (film.shift)
        for (std::size_t i = 0; i < film.dim; ++i)
            y[i] = x[i] * scale_shift[i] + scale_shift[film.dim + i];
    else
        for (std::size_t i = 0; i < film.dim; ++i)
            y[i] = x[i] * scale_shift[i];
}

void WaveNetModel::activate_frame(const Layer& layer, float* z,
                                  float* aside) noexcept LEGATO_NONBLOCKING {
    const std::size_t b = layer.bottleneck;
    switch (layer.gating) {
        case Gating::none:
            layer.activation.apply(z, b);
            return;
        case Gating::gated:
            layer.activation.apply(z, b);
            layer.secondary.apply(z + b, b);
            for (std::size_t i = 0; i < b; ++i)
                z[i] *= z[b + i];
            return;
        case Gating::blended:
            std::copy_n(z, b, aside);  // the pre-activation, blended back in
            layer.activation.apply(z, b);
            layer.secondary.apply(z + b, b);
            for (std::size_t i = 0; i < b; ++i) {
                const float alpha = z[b + i];
                z[i] = alpha * z[i] + (1.0f - alpha) * aside[i];
            }
            return;
    }
}

void WaveNetModel::run_layer(Layer& layer, float* x, std::size_t channels, const float* condition,
                             float* head_sum, std::size_t head_in,
                             std::size_t frames) noexcept LEGATO_NONBLOCKING {
    const std::size_t z_rows = layer.conv.out;
    float* z = t0_.data();      // conv output, then the activation
    float* aside = t1_.data();  // input-mixin input; pre-activation copy; head1x1 output
    float* mix = t2_.data();    // input-mixin output
    float* next = t3_.data();   // layer1x1 output
    for (std::size_t f = 0; f < frames; ++f) {
        float* x_f = x + f * channels;
        const float* c_f = condition + f * condition_size_;

        float* slot = layer.history.push();
        if (layer.conv_pre)
            film_frame(*layer.conv_pre, x_f, c_f, slot);
        else
            std::copy_n(x_f, channels, slot);
        if (!layer.conv_and_mixin.empty()) {
            // z = [W_conv W_mixin] [taps; condition] + bias: one product.
            float* taps = taps_.data();
            const std::size_t tap_values = layer.conv.kernel * channels;
            gather_taps(layer.conv, layer.history, taps);
            if (layer.mixin_pre)
                film_frame(*layer.mixin_pre, c_f, c_f, taps + tap_values);
            else
                std::copy_n(c_f, condition_size_, taps + tap_values);
            matvec(layer.conv_and_mixin.data(), taps, nullptr, z, z_rows,
                   tap_values + condition_size_);
            for (std::size_t r = 0; r < z_rows; ++r)
                z[r] += layer.conv.bias[r];
        } else {
            conv_frame(layer.conv, layer.history, z);
            if (layer.conv_post)
                film_frame(*layer.conv_post, z, c_f, z);
            const float* mix_in = c_f;
            if (layer.mixin_pre) {
                film_frame(*layer.mixin_pre, c_f, c_f, aside);
                mix_in = aside;
            }
            dense_frame(layer.mixin, mix_in, mix);
            if (layer.mixin_post)
                film_frame(*layer.mixin_post, mix, c_f, mix);
            for (std::size_t r = 0; r < z_rows; ++r)
                z[r] += mix[r];
        }
        if (layer.act_pre)
            film_frame(*layer.act_pre, z, c_f, z);

        activate_frame(layer, z, aside);
        if (layer.act_post)
            film_frame(*layer.act_post, z, c_f, z);
        if (layer.layer1x1) {
            dense_frame(*layer.layer1x1, z, next);
            // Upstream applies layer1x1_post_film only in blended layers (its weights are read
            // for every gating mode); the reference outputs follow that.
            if (layer.layer1x1_post && layer.gating == Gating::blended)
                film_frame(*layer.layer1x1_post, next, c_f, next);
        }

        const float* head = z;
        if (layer.head1x1) {
            dense_frame(*layer.head1x1, z, aside);
            if (layer.head1x1_post)
                film_frame(*layer.head1x1_post, aside, c_f, aside);
            head = aside;
        }
        float* sum = head_sum + f * head_in;
        for (std::size_t r = 0; r < head_in; ++r)
            sum[r] += head[r];
        if (layer.layer1x1)  // residual; without layer1x1 the input passes unchanged
            for (std::size_t r = 0; r < channels; ++r)
                x_f[r] += next[r];
    }
}

void WaveNetModel::convolve_pushed(const float* w, const Conv& conv, const History& history,
                                   std::size_t frames, const ColumnBlock* extra,
                                   float* y) noexcept LEGATO_NONBLOCKING {
    // Tap k of frame f reads the ring (kernel - 1 - k) * dilation frames before f: for
    // consecutive frames, consecutive slots, until the stretch wraps around the ring.
    const std::size_t ring = history.mask + 1;
    const std::size_t first = (history.newest - (frames - 1)) & history.mask;
    const std::size_t blocks_total = conv.kernel + (extra != nullptr ? 1 : 0);
    const float* bias = conv.bias.empty() ? nullptr : conv.bias.data();
    for (std::size_t done = 0; done < frames;) {
        auto slot = [&](std::size_t k) {
            return (first + done - (conv.kernel - 1 - k) * conv.dilation) & history.mask;
        };
        std::size_t n = frames - done;
        for (std::size_t k = 0; k < conv.kernel; ++k)
            n = std::min(n, ring - slot(k));
        // kMaxColumnBlocks blocks per pass; a further pass continues the same sums.
        const float* w_pass = w;
        for (std::size_t k0 = 0; k0 < blocks_total; k0 += kMaxColumnBlocks) {
            const std::size_t count = std::min(kMaxColumnBlocks, blocks_total - k0);
            ColumnBlock blocks[kMaxColumnBlocks];
            std::size_t cols = 0;
            for (std::size_t i = 0; i < count; ++i) {
                const std::size_t k = k0 + i;
                blocks[i] =
                    k < conv.kernel
                        ? ColumnBlock{history.data.data() + slot(k) * conv.in, conv.in, conv.in}
                        : ColumnBlock{extra->x + done * extra->stride, extra->cols, extra->stride};
                cols += blocks[i].cols;
            }
            const bool last = k0 + count == blocks_total;
            matmul_blocks(w_pass, conv.out, blocks, count, y + done * conv.out, conv.out, n, k0 > 0,
                          last ? bias : nullptr);
            w_pass += cols * conv.out;
        }
        done += n;
    }
}

void WaveNetModel::run_layer_block(Layer& layer, float* x, std::size_t channels,
                                   const float* condition, float* head_sum, std::size_t head_in,
                                   std::size_t frames) noexcept LEGATO_NONBLOCKING {
    const std::size_t b = layer.bottleneck;
    const std::size_t z_rows = layer.conv.out;
    History& history = layer.history;
    history.push_block(x, frames);

    // z = [W_conv W_mixin] [taps; condition] + bias for every frame: one product over the
    // taps (stretches of the ring) and the condition.
    float* z = block_z_.data();
    const ColumnBlock condition_block{condition, condition_size_, condition_size_};
    convolve_pushed(layer.conv_and_mixin.data(), layer.conv, history, frames, &condition_block, z);

    const bool per_channel =
        layer.activation.kind == NamActivation::Kind::prelu && layer.activation.slopes.size() > 1;
    if (layer.gating == Gating::none && !per_channel) {
        layer.activation.apply(z, frames * b);  // z_rows == b: the chunk is one run
    } else {
        for (std::size_t f = 0; f < frames; ++f)
            activate_frame(layer, z + f * z_rows, t1_.data());
    }

    const float* head = z;
    std::size_t head_stride = z_rows;
    if (layer.head1x1) {
        const Conv& conv = *layer.head1x1;
        matmul(conv.weight.data(), conv.out, b, z, z_rows, block_head_.data(), conv.out, frames,
               false, conv.bias.empty() ? nullptr : conv.bias.data());
        head = block_head_.data();
        head_stride = conv.out;
    }
    if (head_stride == head_in)  // frame after frame: one run
        add(head_sum, head, frames * head_in);
    else
        for (std::size_t f = 0; f < frames; ++f)
            add(head_sum + f * head_in, head + f * head_stride, head_in);
    if (layer.layer1x1) {  // residual; without layer1x1 the input passes unchanged
        const Conv& conv = *layer.layer1x1;
        float* next = block_next_.data();
        matmul(conv.weight.data(), channels, b, z, z_rows, next, channels, frames, false,
               conv.bias.empty() ? nullptr : conv.bias.data());
        add(x, next, frames * channels);
    }
}

void WaveNetModel::run_post_head(const float* head_out, float* out,
                                 std::size_t frames) noexcept LEGATO_NONBLOCKING {
    PostHead& head = *post_head_;
    const std::size_t in = arrays_.back().head_rechannel.out;
    for (std::size_t f = 0; f < frames; ++f) {
        float* v = t0_.data();
        for (std::size_t r = 0; r < in; ++r)
            v[r] = head_scale_ * head_out[f * in + r];
        for (std::size_t i = 0; i < head.convs.size(); ++i) {
            const Conv& conv = head.convs[i];
            head.activation.apply(v, conv.in);
            std::copy_n(v, conv.in, head.histories[i].push());
            float* y = i + 1 == head.convs.size() ? out + f * out_channels_ : t1_.data();
            conv_frame(conv, head.histories[i], y);
            if (y == t1_.data())
                std::copy_n(y, conv.out, v);
        }
    }
}

void WaveNetModel::run_chunk(const float* in, float* out,
                             std::size_t frames) noexcept LEGATO_NONBLOCKING {
    const float* condition = in;
    if (condition_dsp_.model) {
        condition_dsp_.model->process(in, condition_.data(), frames);
        condition = condition_.data();
    }
    const float* source = in;  // the first array reads the input itself
    std::size_t source_rows = in_channels_;
    for (std::size_t a = 0; a < arrays_.size(); ++a) {
        LayerArray& array = arrays_[a];
        float* x = stream_[a % 2].data();
        matmul(array.rechannel.weight.data(), array.channels, source_rows, source, source_rows, x,
               array.channels, frames, false);  // the rechannel has no bias
        // The head sum starts at zero, or at the previous array's head output.
        const std::size_t head_values = array.head_in * frames;
        if (a == 0)
            std::fill_n(head_sum_.begin(), head_values, 0.0f);
        else
            std::copy_n(head_out_.begin(), head_values, head_sum_.begin());
        for (Layer& layer : array.layers)
            if (layer.block)
                run_layer_block(layer, x, array.channels, condition, head_sum_.data(),
                                array.head_in, frames);
            else
                run_layer(layer, x, array.channels, condition, head_sum_.data(), array.head_in,
                          frames);
        array.head_history.push_block(head_sum_.data(), frames);
        convolve_pushed(array.head_rechannel.weight.data(), array.head_rechannel,
                        array.head_history, frames, nullptr, head_out_.data());
        source = x;
        source_rows = array.channels;
    }
    if (post_head_) {
        run_post_head(head_out_.data(), out, frames);
        return;
    }
    for (std::size_t i = 0; i < frames * out_channels_; ++i)
        out[i] = head_scale_ * head_out_[i];
}

void WaveNetModel::process(const float* in, float* out,
                           std::size_t frames) noexcept LEGATO_NONBLOCKING {
    for (std::size_t done = 0; done < frames;) {
        const std::size_t n = std::min(kChunk, frames - done);
        run_chunk(in + done * in_channels_, out + done * out_channels_, n);
        done += n;
    }
}

}  // namespace legato::native::nam
