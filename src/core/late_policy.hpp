#pragma once
// Late-inference substitution: what the audio thread writes in place of a hop whose inference
// did not deliver in time (late, expired, dropped or failed), per InferenceConfig::late_policy.

#include <cstddef>
#include <cstdint>

#include "legato/inference_config.hpp"
#include "legato/nonblocking.hpp"
#include "rt/sample_ring.hpp"

namespace legato::core {

/// [audio thread] Fills output positions [position, position + hop) of every channel of
/// `output` according to `policy`:
/// - silence: zeros;
/// - dry: the input at position - latency (the input aligned as the processed signal would
///   have been), input channel c % input.channels() for output channel c;
/// - repeat_last: the output of the previous hop, [position - hop, position).
/// Preconditions: the rings hold those positions (input: latency + hop back; output: two hops).
/// Wait-free, no allocation.
inline void substitute(LatePolicy policy, rt::SampleRing& output, const rt::SampleRing& input,
                       std::uint64_t position, std::size_t hop,
                       std::size_t latency) noexcept LEGATO_NONBLOCKING {
    for (std::size_t c = 0; c < output.channels(); ++c) {
        switch (policy) {
            case LatePolicy::silence:
                output.write(c, position, nullptr, hop);
                break;
            case LatePolicy::dry:
                if (input.channels() == 0)
                    output.write(c, position, nullptr, hop);
                else
                    output.copy_from(input, c % input.channels(), position - latency, c, position,
                                     hop);
                break;
            case LatePolicy::repeat_last:
                output.copy_within(c, position - hop, position, hop);
                break;
        }
    }
}

}  // namespace legato::core
