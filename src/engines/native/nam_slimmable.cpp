#include "engines/native/nam_slimmable.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "legato/error.hpp"

namespace legato::native::nam {
namespace {

// One full (groups 1) weight block, rows x columns x taps in file order and then a bias per
// row, of which the smaller model keeps the first `keep_rows` rows and `keep_columns` columns.
struct Block {
    std::size_t rows, columns, taps;
    std::size_t keep_rows, keep_columns;
    bool bias;
};

void keep(WeightCursor& full, std::vector<float>& slim, const Block& b, const std::string& part) {
    const std::span<const float> w =
        full.take(b.rows * b.columns * b.taps + (b.bias ? b.rows : 0), part);
    std::size_t next = 0;
    for (std::size_t i = 0; i < b.rows; ++i)
        for (std::size_t j = 0; j < b.columns; ++j)
            for (std::size_t k = 0; k < b.taps; ++k, ++next)
                if (i < b.keep_rows && j < b.keep_columns)
                    slim.push_back(w[next]);
    if (b.bias)
        for (std::size_t i = 0; i < b.rows; ++i, ++next)
            if (i < b.keep_rows)
                slim.push_back(w[next]);
}

// A FiLM's 1x1 convolution from the condition: (shift ? 2 : 1) * dim rows, of which the first
// (shift ? 2 : 1) * keep_dim stay (upstream slices the stacked scale and shift rows as one).
void keep_film(WeightCursor& full, std::vector<float>& slim, const FilmConfig& film,
               std::size_t condition, std::size_t dim, std::size_t keep_dim,
               const std::string& part) {
    if (!film.active)
        return;
    const std::size_t factor = film.shift ? 2 : 1;
    keep(full, slim, {factor * dim, condition, 1, factor * keep_dim, condition, true}, part);
}

// upstream's compute_slim_bottleneck: scaled with the channels when layer1x1 maps it back.
std::size_t slim_bottleneck(const LayerArrayConfig& c, std::size_t channels) {
    if (!c.layer1x1)
        return channels;
    return std::max<std::size_t>(1, c.bottleneck * channels / c.channels);
}

void check_slimmable(const LayerArrayConfig& c, const std::string& array) {
    const auto refuse = [&](const std::string& what) {
        throw Error(array + ": cannot be slimmed: " + what +
                    " (slimming keeps the first channels of ungrouped convolutions only)");
    };
    if (c.groups_input != 1)
        refuse("groups_input is " + std::to_string(c.groups_input));
    if (c.groups_input_mixin != 1)
        refuse("groups_input_mixin is " + std::to_string(c.groups_input_mixin));
    if (c.layer1x1 && c.layer1x1_groups != 1)
        refuse("layer1x1.groups is " + std::to_string(c.layer1x1_groups));
    if (c.head1x1 && c.head1x1_groups != 1)
        refuse("head1x1.groups is " + std::to_string(c.head1x1_groups));
    for (const FilmConfig* film :
         {&c.conv_pre_film, &c.conv_post_film, &c.input_mixin_pre_film, &c.input_mixin_post_film,
          &c.activation_pre_film, &c.activation_post_film, &c.layer1x1_post_film,
          &c.head1x1_post_film})
        if (film->active && film->groups != 1)
            refuse("a FiLM has groups " + std::to_string(film->groups));
    if (c.head_kernel_size != 1)
        throw Error(array + ": cannot be slimmed: head kernel_size is " +
                    std::to_string(c.head_kernel_size) + " (upstream slims head kernels of 1)");
}

}  // namespace

std::vector<double> slimmable_breakpoints(const WaveNetConfig& config) {
    std::vector<double> points;
    for (const LayerArrayConfig& c : config.arrays)
        for (std::size_t i = 1; i < c.slimmable_channels.size(); ++i)
            points.push_back(static_cast<double>(i) /
                             static_cast<double>(c.slimmable_channels.size()));
    std::sort(points.begin(), points.end());
    points.erase(std::unique(points.begin(), points.end()), points.end());
    return points;
}

void check_slimmable_size(double size, const std::string& where) {
    if (!(size >= 0.0 && size <= 1.0))
        throw Error(where + ": slimmable size " + std::to_string(size) +
                    " is outside [0, 1] (NAM's SetSlimmableSize ratio)");
}

std::vector<std::size_t> slimmable_channels(const WaveNetConfig& config, double size) {
    std::vector<std::size_t> channels;
    for (const LayerArrayConfig& c : config.arrays) {
        const std::vector<std::size_t>& allowed = c.slimmable_channels;
        if (allowed.empty()) {
            channels.push_back(c.channels);
            continue;
        }
        const auto n = static_cast<double>(allowed.size());
        const auto index =
            std::min(static_cast<std::size_t>(std::floor(size * n)), allowed.size() - 1);
        channels.push_back(allowed[index]);
    }
    return channels;
}

WeightCursor slim_wavenet(WaveNetConfig& config, WeightCursor& full,
                          const std::vector<std::size_t>& channels, const std::string& where) {
    if (config.head)
        throw Error(where + ".head: cannot be slimmed (a post-stack head)");
    std::vector<float> slim;
    std::vector<LayerArrayConfig>& arrays = config.arrays;
    const std::size_t count = arrays.size();
    for (std::size_t a = 0; a < count; ++a) {
        LayerArrayConfig& c = arrays[a];
        const std::string array = where + ".layers[" + std::to_string(a) + "]";
        check_slimmable(c, array);
        const std::string part = "layer array " + std::to_string(a);
        const std::size_t ch = channels[a];
        const std::size_t bn = slim_bottleneck(c, ch);
        const std::size_t input = a == 0 ? c.input_size : channels[a - 1];
        const std::size_t head = a + 1 < count ? channels[a + 1] : c.head_size;
        const std::size_t cond = c.condition_size;
        keep(full, slim, {c.channels, c.input_size, 1, ch, input, false}, part + " (rechannel)");
        for (std::size_t l = 0; l < c.dilations.size(); ++l) {
            const std::string p = part + ", layer " + std::to_string(l);
            const std::size_t z = c.z_rows(l);
            const std::size_t slim_z = c.gating[l] == Gating::none ? bn : 2 * bn;
            keep(full, slim, {z, c.channels, c.kernel_sizes[l], slim_z, ch, true}, p + " (conv)");
            keep(full, slim, {z, cond, 1, slim_z, cond, false}, p + " (input mixin)");
            if (c.layer1x1)
                keep(full, slim, {c.channels, c.bottleneck, 1, ch, bn, true}, p + " (layer1x1)");
            if (c.head1x1)
                keep(full, slim, {c.head1x1_out, c.bottleneck, 1, c.head1x1_out, bn, true},
                     p + " (head1x1)");
            keep_film(full, slim, c.conv_pre_film, cond, c.channels, ch, p + " (conv_pre_film)");
            keep_film(full, slim, c.conv_post_film, cond, z, slim_z, p + " (conv_post_film)");
            keep_film(full, slim, c.input_mixin_pre_film, cond, cond, cond,
                      p + " (input_mixin_pre_film)");
            keep_film(full, slim, c.input_mixin_post_film, cond, z, slim_z,
                      p + " (input_mixin_post_film)");
            keep_film(full, slim, c.activation_pre_film, cond, z, slim_z,
                      p + " (activation_pre_film)");
            keep_film(full, slim, c.activation_post_film, cond, c.bottleneck, bn,
                      p + " (activation_post_film)");
            if (c.layer1x1)
                keep_film(full, slim, c.layer1x1_post_film, cond, c.channels, ch,
                          p + " (layer1x1_post_film)");
            if (c.head1x1)
                keep_film(full, slim, c.head1x1_post_film, cond, c.head1x1_out, c.head1x1_out,
                          p + " (head1x1_post_film)");
        }
        const std::size_t head_in = c.head1x1 ? c.head1x1_out : bn;
        keep(full, slim, {c.head_size, c.head_input_size(), 1, head, head_in, c.head_bias},
             part + " (head rechannel)");

        // This array's weights are taken: its config becomes the smaller one (the next array's
        // walk reads only its own full sizes and `channels`).
        for (std::vector<NamActivation>* list : {&c.activations, &c.secondary})
            for (NamActivation& act : *list)
                if (act.slopes.size() > 1)  // one slope per channel: keep the first ones
                    act.slopes.resize(std::min(act.slopes.size(), bn));
        c.input_size = input;
        c.head_size = head;
        c.channels = ch;
        c.bottleneck = bn;
        // Upstream sizes an inner array's head by the next array's channels; this array adds its
        // own head width to it, so the two must still agree.
        if (a > 0 && c.head_input_size() != arrays[a - 1].head_size)
            throw Error(array + ": cannot be slimmed to " + std::to_string(ch) +
                        " channels: its head width " + std::to_string(c.head_input_size()) +
                        " would not match the previous array's head_size " +
                        std::to_string(arrays[a - 1].head_size));
    }
    const std::span<const float> scale = full.take(1, "head_scale");
    slim.push_back(scale[0]);
    full.expect_end();
    return WeightCursor(std::move(slim), where + " (slimmed weights)");
}

}  // namespace legato::native::nam
