#pragma once
// The latency arithmetic: the smallest delay that guarantees no late inference. Derived in
// docs/latency.md.

#include <cstddef>

namespace legato {

struct LatencyInputs {
    double sample_rate = 48000.0;
    std::size_t max_block_size = 512;     ///< host block size (the fixed size, or the maximum)
    bool variable_block_size = false;     ///< the host may pass any block size up to the maximum
    std::size_t hop = 0;                  ///< samples per inference
    double max_inference_time_ms = 0;     ///< worst time from submission to a finished result
    std::size_t parallel_inferences = 1;  ///< how many inferences of the handler run at once
};

/// [any thread] The minimum latency in samples such that, if every inference finishes within
/// max_inference_time_ms after it could start, no output is ever due before its inference
/// finished. Throws legato::Error if no latency suffices (the model cannot keep up: the
/// maximum inference time exceeds parallel_inferences hops) or an input is out of range.
std::size_t compute_latency(const LatencyInputs& inputs);

}  // namespace legato
