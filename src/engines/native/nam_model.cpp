// What every NAM model shares: the weight cursor the builders take parameters from, and the
// pre-warm and its snapshot (nam_file.hpp). The loader is nam_file.cpp.

#include "engines/native/nam_file.hpp"

#include <algorithm>

#include "legato/error.hpp"

namespace legato::native::nam {

// WeightCursor ===============================================================================

WeightCursor::WeightCursor(std::vector<float> weights, std::string where)
    : weights_(std::move(weights)), where_(std::move(where)) {}

std::span<const float> WeightCursor::take(std::size_t count, std::string_view part) {
    if (count > left())
        throw Error(where_ + ": " + std::string(part) + " needs " + std::to_string(count) +
                    " more weights, the file has " + std::to_string(left()) + " left");
    const std::span<const float> out(weights_.data() + next_, count);
    next_ += count;
    return out;
}

void WeightCursor::fail(std::string_view part, std::string_view what) const {
    throw Error(where_ + ": " + std::string(part) + " " + std::string(what));
}

void WeightCursor::expect_end() const {
    if (left() != 0)
        throw Error(where_ + ": " + std::to_string(left()) +
                    " values left over after the last layer (the file has " +
                    std::to_string(weights_.size()) + ", the architecture takes " +
                    std::to_string(next_) + ")");
}

// NamModel ===================================================================================

namespace {
constexpr std::size_t kPrewarmBlock = 64;  // frames per pre-warm call
}  // namespace

void NamModel::size_prewarm_buffers() {
    prewarm_in_.assign(kPrewarmBlock * input_size(), 0.0f);
    prewarm_out_.assign(kPrewarmBlock * output_size(), 0.0f);
}

namespace {

// take_snapshot(): counts, then copies into the storage sized from the count; reset(): copies
// back. The same visit order every time, so positions match.
class CountingVisitor final : public StateVisitor {
public:
    std::size_t floats_seen = 0, indices_seen = 0;
    void floats(float*, std::size_t count) noexcept LEGATO_NONBLOCKING override {
        floats_seen += count;
    }
    void index(std::size_t&) noexcept LEGATO_NONBLOCKING override { ++indices_seen; }
};

class CopyingVisitor final : public StateVisitor {
public:
    CopyingVisitor(float* floats, std::size_t* indices, bool restore)
        : floats_(floats), indices_(indices), restore_(restore) {}
    void floats(float* values, std::size_t count) noexcept LEGATO_NONBLOCKING override {
        if (restore_)
            std::copy_n(floats_, count, values);
        else
            std::copy_n(values, count, floats_);
        floats_ += count;
    }
    void index(std::size_t& value) noexcept LEGATO_NONBLOCKING override {
        if (restore_)
            value = *indices_;
        else
            *indices_ = value;
        ++indices_;
    }

private:
    float* floats_;
    std::size_t* indices_;
    bool restore_;
};

}  // namespace

void NamModel::take_snapshot() {
    has_snapshot_ = false;
    reset();
    CountingVisitor count;
    visit_state(count);
    snapshot_floats_.assign(count.floats_seen, 0.0f);
    snapshot_indices_.assign(count.indices_seen, 0);
    CopyingVisitor save(snapshot_floats_.data(), snapshot_indices_.data(), false);
    visit_state(save);
    has_snapshot_ = true;
}

void NamModel::reset() noexcept LEGATO_NONBLOCKING {
    if (has_snapshot_) {
        CopyingVisitor restore(snapshot_floats_.data(), snapshot_indices_.data(), true);
        visit_state(restore);
        return;
    }
    clear_state();
    prewarm();
}

void NamModel::prewarm() noexcept LEGATO_NONBLOCKING {
    // Exactly prewarm_samples() frames of silence (upstream rounds up to its block size; the
    // difference cannot show in a WaveNet, whose pre-warm covers its receptive field).
    for (std::size_t done = 0; done < prewarm_samples();) {
        const std::size_t n = std::min(kPrewarmBlock, prewarm_samples() - done);
        process(prewarm_in_.data(), prewarm_out_.data(), n);
        done += n;
    }
}

}  // namespace legato::native::nam
