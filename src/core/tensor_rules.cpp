#include "core/tensor_rules.hpp"

#include <algorithm>

#include "legato/error.hpp"

namespace legato {

std::size_t element_count(std::span<const std::int64_t> shape) noexcept {
    std::size_t count = 1;
    for (const std::int64_t dim : shape)
        count *= dim > 0 ? static_cast<std::size_t>(dim) : 0;
    return count;
}

std::string ModelSource::describe() const {
    if (!bytes.empty())
        return "<" + std::to_string(bytes.size()) + " bytes in memory>";
    return path.string();
}

}  // namespace legato

namespace legato::core {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw Error(path + ": " + what);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i > 0)
            text += ", ";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

std::string role_text(TensorRole role) {
    switch (role) {
        case TensorRole::audio:
            return "audio";
        case TensorRole::parameter:
            return "parameter";
        case TensorRole::state:
            return "state";
    }
    return "?";
}

// Elements the tensor must hold, or 0 if its role takes any concrete shape.
std::size_t required_elements(const TensorSpec& spec) {
    return spec.role == TensorRole::audio ? required_audio_elements(spec) : 0;
}

void check_shape(const TensorSpec& spec, const std::string& path) {
    if (spec.shape.empty())
        fail(path + ".shape", "must have at least one dimension");
    int dynamic = 0;
    for (std::size_t i = 0; i < spec.shape.size(); ++i) {
        const std::int64_t dim = spec.shape[i];
        if (dim == -1) {
            ++dynamic;
        } else if (dim <= 0) {
            fail(path + ".shape", "dimension " + std::to_string(i) + " is " + std::to_string(dim) +
                                      "; expected a positive size or -1");
        }
    }
    if (dynamic > 1)
        fail(path + ".shape", "at most one dimension may be -1, got " + shape_text(spec.shape));
    if (dynamic == 1 && spec.role != TensorRole::audio)
        fail(path + ".shape", "a " + role_text(spec.role) +
                                  " tensor needs a fixed shape (no -1), got " +
                                  shape_text(spec.shape));
    // A tensor holds at most 2^31 elements (8 GB of floats): this keeps every size computed
    // from a shape far from overflow (the config fuzzer found a product wrapping to zero).
    constexpr std::size_t max_elements = std::size_t{1} << 31;
    std::size_t known = 1;
    for (const std::int64_t dim : spec.shape) {
        if (dim <= 0)
            continue;
        if (static_cast<std::size_t>(dim) > max_elements / known)
            fail(path + ".shape", shape_text(spec.shape) + " holds more than 2^31 elements");
        known *= static_cast<std::size_t>(dim);
    }
    const std::size_t required = required_elements(spec);
    if (required == 0)
        return;
    if (required > max_elements)
        fail(path, "needs " + std::to_string(required) +
                       " elements per inference (channels x window samples), more than the "
                       "2^31 a tensor may hold");
    const std::string need =
        std::to_string(required) + " elements (" + std::to_string(spec.channels) + " channels x " +
        (is_sliding(spec.layout)
             ? std::to_string(spec.hop / std::max<std::size_t>(spec.window_hop, 1)) +
                   " windows x " + std::to_string(spec.window_length) + " samples)"
             : std::to_string(window_length(spec)) + " samples of past_context + hop)");
    if (dynamic == 0 && known != required)
        fail(path + ".shape", shape_text(spec.shape) + " holds " + std::to_string(known) +
                                  " elements; the audio layout needs " + need);
    if (dynamic == 1 && required % known != 0)
        fail(path + ".shape",
             "no size for the -1 dimension of " + shape_text(spec.shape) + " gives " + need);
}

}  // namespace

std::size_t required_audio_elements(const TensorSpec& spec) noexcept {
    if (is_sliding(spec.layout)) {
        const std::size_t windows = spec.window_hop > 0 ? spec.hop / spec.window_hop : 0;
        return windows * spec.window_length * spec.channels;
    }
    return window_length(spec) * spec.channels;
}

void validate_tensor(const TensorSpec& spec, Direction direction, const std::string& path) {
    const bool input = direction == Direction::input;
    if (spec.name.empty())
        fail(path + ".name", "must not be empty");
    if (spec.role == TensorRole::audio) {
        if (spec.channels == 0)
            fail(path + ".channels", "must be at least 1");
        if (spec.hop == 0)
            fail(path + ".hop", "must be at least 1");
        // Bounds that keep every ring and request far from overflow (2^24 samples is minutes).
        constexpr std::size_t limit = std::size_t{1} << 24;
        if (spec.hop > limit)
            fail(path + ".hop",
                 "must be at most " + std::to_string(limit) + ", got " + std::to_string(spec.hop));
        if (spec.past_context > limit)
            fail(path + ".past_context", "must be at most " + std::to_string(limit) + ", got " +
                                             std::to_string(spec.past_context));
        if (spec.channels > 1024)
            fail(path + ".channels", "must be at most 1024, got " + std::to_string(spec.channels));
        if (spec.window_length > limit)
            fail(path + ".window_length", "must be at most " + std::to_string(limit) + ", got " +
                                              std::to_string(spec.window_length));
        if (is_sliding(spec.layout)) {
            if (!input)
                fail(path + ".layout",
                     "sliding-window layouts are for inputs only; use "
                     "channels_last for a [windows, channels] output");
            if (spec.window_length == 0)
                fail(path + ".window_length", "must be at least 1");
            if (spec.window_hop == 0)
                fail(path + ".window_hop", "must be at least 1");
            if (spec.hop % spec.window_hop != 0)
                fail(path + ".hop", "must be a multiple of window_hop (" +
                                        std::to_string(spec.window_hop) + "), got " +
                                        std::to_string(spec.hop));
            if (spec.window_length > spec.window_hop &&
                spec.past_context < spec.window_length - spec.window_hop)
                fail(path + ".past_context",
                     "sliding windows of " + std::to_string(spec.window_length) +
                         " samples every " + std::to_string(spec.window_hop) +
                         " samples need past_context >= " +
                         std::to_string(spec.window_length - spec.window_hop) + ", got " +
                         std::to_string(spec.past_context));
        }
    }
    if (!spec.initial_value.empty() && !(input && spec.role == TensorRole::parameter))
        fail(path + ".initial_value", "only parameter inputs take an initial value");
    check_shape(spec, path);
    if (spec.role == TensorRole::parameter && !spec.initial_value.empty() &&
        spec.initial_value.size() != element_count(spec.shape))
        fail(path + ".initial_value", "has " + std::to_string(spec.initial_value.size()) +
                                          " values; shape " + shape_text(spec.shape) + " needs " +
                                          std::to_string(element_count(spec.shape)));
}

TensorSpec resolve_tensor(const TensorSpec& spec, const TensorOverride* override_spec,
                          Direction direction, const std::string& path) {
    TensorSpec resolved = spec;
    if (override_spec != nullptr) {
        if (!override_spec->name.empty())
            resolved.name = override_spec->name;
        if (!override_spec->shape.empty())
            resolved.shape = override_spec->shape;
        if (override_spec->layout)
            resolved.layout = *override_spec->layout;
    }
    validate_tensor(resolved, direction, path);
    const std::size_t required = required_elements(resolved);
    std::size_t known = 1;
    for (const std::int64_t dim : resolved.shape)
        if (dim > 0)
            known *= static_cast<std::size_t>(dim);
    for (std::int64_t& dim : resolved.shape)
        if (dim == -1)
            dim = static_cast<std::int64_t>(required / known);
    return resolved;
}

}  // namespace legato::core
