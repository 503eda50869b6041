#pragma once
// Neural Amp Modeler (.nam) files for the native engine: the loader, and what the NAM models
// share (the weight cursor they take their parameters from, and the base class that gives them
// NAM's pre-warm on reset). Reference semantics: NeuralAmpModelerCore (sdatkinson), file
// versions 0.5 to 0.7, architectures LSTM and WaveNet (A1 and the A2-era options), and
// SlimmableContainer / slimmable WaveNets at their default (largest) size.

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engines/native/stream_model.hpp"
#include "legato/nonblocking.hpp"

namespace legato::native {

/// [setup thread] Parses a .nam file's text and builds its model, pre-warmed as NAM does on
/// Reset(). `where` (usually the path) starts every error message. Throws legato::Error for
/// text that is not JSON, an unsupported version or architecture, a missing or ill-typed field
/// (named by its JSON path), a weight count that does not fit the architecture, or a weight
/// that is NaN or infinite as a float.
std::unique_ptr<StreamModel> load_nam(std::string_view text, const std::string& where);

namespace nam {

/// Hands out a file's weights in the order the architecture consumes them, so that a count
/// that does not fit is reported at the part that ran short.
class WeightCursor {
public:
    /// [setup thread] `weights` already checked finite; `where` prefixes messages.
    WeightCursor(std::vector<float> weights, std::string where);

    /// [setup thread] The next `count` weights, for `part` ("layer array 0, layer 3 (conv)").
    /// Throws legato::Error when fewer are left.
    std::span<const float> take(std::size_t count, std::string_view part);

    /// [setup thread] Throws legato::Error unless every weight was taken.
    void expect_end() const;

    /// [setup thread] Values not taken yet.
    std::size_t left() const noexcept { return weights_.size() - next_; }

    /// [setup thread] Throws legato::Error "<where>: <part> <what>".
    [[noreturn]] void fail(std::string_view part, std::string_view what) const;

private:
    std::vector<float> weights_;
    std::size_t next_ = 0;
    std::string where_;
};

/// A NAM model: reset() restores the state right after loading (zero histories, or the LSTM
/// state stored in the file) and then feeds `prewarm_samples()` frames of silence, as upstream
/// DSP::Reset() does; the reference outputs include that pre-warm.
class NamModel : public StreamModel {
public:
    /// [audio or worker thread] Initial state plus pre-warm. Real-time safe: the pre-warm runs
    /// through process() with buffers sized at load.
    void reset() noexcept LEGATO_NONBLOCKING final;

    /// [any thread] Frames of silence reset() feeds (NAM's GetPrewarmSamples()).
    virtual std::size_t prewarm_samples() const noexcept LEGATO_NONBLOCKING = 0;

    /// [audio or worker thread] Back to the state right after construction, without pre-warm
    /// (also what an enclosing WaveNet does to its condition model before its own pre-warm).
    virtual void clear_state() noexcept LEGATO_NONBLOCKING = 0;

    /// [setup thread] A copy of the concrete model (clone() with the NAM interface).
    virtual std::unique_ptr<NamModel> clone_nam() const = 0;

    /// [setup thread] See StreamModel::clone().
    std::unique_ptr<StreamModel> clone() const final { return clone_nam(); }

    /// [any thread] See StreamModel::info().
    const ModelInfo& info() const noexcept final { return info_; }

    /// [setup thread] The description, for the loader to complete (a container names the
    /// submodel it runs).
    ModelInfo& edit_info() noexcept { return info_; }

protected:
    explicit NamModel(ModelInfo info) : info_(std::move(info)) {}

    /// [setup thread] Sizes the pre-warm buffers; call once input/output sizes are known.
    void size_prewarm_buffers();

    ModelInfo info_;

private:
    std::vector<float> prewarm_in_;   // silence, kPrewarmBlock frames
    std::vector<float> prewarm_out_;  // discarded output
};

}  // namespace nam
}  // namespace legato::native
