#pragma once
// Neural Amp Modeler (.nam) files for the native engine: the loader, and what the NAM models
// share (the weight cursor they take their parameters from, and the base class that gives them
// NAM's pre-warm on reset). Reference semantics: NeuralAmpModelerCore (sdatkinson), file
// versions 0.5 to 0.7, architectures LSTM and WaveNet (A1 and the A2-era options), and
// SlimmableContainer / slimmable WaveNets at their default (largest) size or a size asked for.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engines/native/stream_model.hpp"
#include "legato/nonblocking.hpp"

namespace legato::native {

/// How to build a NAM model.
struct NamOptions {
    /// NAM's SetSlimmableSize(ratio) for a slimmable model (a SlimmableContainer or a WaveNet
    /// with layers[].slimmable): the variant that ratio selects, as upstream picks it. Unset:
    /// the default, full size. Ignored by models with one size.
    std::optional<double> slimmable_size;
};

/// [setup thread] Parses a .nam file's text and builds its model, pre-warmed as NAM does on
/// Reset(). `where` (usually the path) starts every error message. Throws legato::Error for
/// text that is not JSON, an unsupported version or architecture, a missing or ill-typed field
/// (named by its JSON path), a weight count that does not fit the architecture, a weight that
/// is NaN or infinite as a float, or a slimmable size the model cannot be slimmed to.
std::unique_ptr<StreamModel> load_nam(std::string_view text, const std::string& where,
                                      const NamOptions& options = {});

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

/// Every piece of state a model's process() changes, handed out one by one (NamModel's
/// snapshot). The callbacks run on the audio thread when reset() restores a snapshot.
class StateVisitor {
public:
    virtual void floats(float* values, std::size_t count) noexcept LEGATO_NONBLOCKING = 0;
    virtual void index(std::size_t& value) noexcept LEGATO_NONBLOCKING = 0;

protected:
    ~StateVisitor() = default;
};

/// A NAM model: reset() gives the state right after loading (zero histories, or the LSTM
/// state stored in the file) followed by `prewarm_samples()` frames of silence, as upstream
/// DSP::Reset() does; the reference outputs include that pre-warm. The pre-warm runs once, at
/// load; reset() copies the state it left (a large WaveNet's pre-warm takes milliseconds, too
/// long for an audio callback that resets an inline model).
class NamModel : public StreamModel {
public:
    /// [audio or worker thread] The state right after loading and pre-warm: a copy of the
    /// snapshot take_snapshot() kept (before it, the pre-warm itself). Real-time safe.
    void reset() noexcept LEGATO_NONBLOCKING final;

    /// [setup thread] Pre-warms from the initial state and keeps the result for reset().
    /// Throws std::bad_alloc only.
    void take_snapshot();

    /// [audio or worker thread] Hands every piece of mutable state to `visitor`, always in the
    /// same order (nested models included). Real-time safe.
    virtual void visit_state(StateVisitor& visitor) noexcept LEGATO_NONBLOCKING = 0;

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
    void prewarm() noexcept LEGATO_NONBLOCKING;

    std::vector<float> prewarm_in_;   // silence, kPrewarmBlock frames
    std::vector<float> prewarm_out_;  // discarded output
    bool has_snapshot_ = false;
    std::vector<float> snapshot_floats_;
    std::vector<std::size_t> snapshot_indices_;
};

}  // namespace nam
}  // namespace legato::native
