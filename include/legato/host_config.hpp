#pragma once
// HostConfig: what the audio host promises about its callbacks.

#include <cstddef>
#include <optional>

namespace legato {

struct HostConfig {
    double sample_rate = 48000.0;
    /// The largest block process() will be called with. Larger blocks still work (they are
    /// processed in chunks of this size) but are counted as oversized and may cause late
    /// inferences.
    std::size_t max_block_size = 512;
    /// True if the host may call process() with smaller and varying block sizes (up to
    /// max_block_size). The latency then covers every block sequence, which costs more latency
    /// than a fixed block size (docs/latency.md).
    bool variable_block_size = false;
    /// Offline rendering: process() waits for late results instead of substituting them, so the
    /// output is exact however fast the host calls. Not real-time safe by design (it waits);
    /// switchable at run time with InferenceHandler::set_offline_rendering.
    bool offline_rendering = false;
    /// Use this latency (samples) instead of the computed minimum, e.g. to fit a latency
    /// budget. Below the minimum, inferences that take their full maximum time arrive late and
    /// are substituted and counted; above it, extra headroom.
    std::optional<std::size_t> latency_override;

    /// Largest latency_override accepted (2^24 samples, about 5.8 minutes at 48 kHz).
    static constexpr std::size_t max_latency_override = std::size_t{1} << 24;

    /// [setup thread] Throws legato::Error for a non-positive sample rate or block size.
    void validate() const;
};

}  // namespace legato
