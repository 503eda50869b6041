#pragma once
// Slimmable NAM WaveNets (layers[].slimmable, method slice_channels_uniform): a smaller model
// made from the first channels of every layer array. Reference semantics: NeuralAmpModelerCore
// NAM/wavenet/slimmable.cpp. A size (a ratio in [0, 1], NAM's SetSlimmableSize) picks one of
// each array's allowed channel counts; the smaller WaveNet keeps the first rows and columns of
// every weight, with the bottleneck scaled alike and the arrays' sizes chained.

#include <cstddef>
#include <string>
#include <vector>

#include "engines/native/nam_file.hpp"
#include "engines/native/nam_wavenet.hpp"

namespace legato::native::nam {

/// [setup thread] The sizes at which some array changes its channel count (i / n for an array
/// with n allowed counts), ascending, without repeats; empty when no array is slimmable.
std::vector<double> slimmable_breakpoints(const WaveNetConfig& config);

/// [setup thread] Throws legato::Error ("<where>: slimmable size ...") unless 0 <= size <= 1
/// (NAM's SetSlimmableSize ratio), for every kind of slimmable model.
void check_slimmable_size(double size, const std::string& where);

/// [setup thread] The channels of every array at `size` (in [0, 1]: check_slimmable_size first):
/// allowed[min(floor(size * n), n - 1)] for a slimmable array, its full count for the others.
std::vector<std::size_t> slimmable_channels(const WaveNetConfig& config, double size);

/// [setup thread] Slims `config` to `channels` (one count per array) and returns the weights of
/// the smaller model, taken from `full` in upstream's set_weights_ order (which it consumes
/// whole). `where` prefixes messages ("file.nam: config"). Throws legato::Error for what
/// upstream cannot slim either: grouped convolutions or FiLMs, head kernels above 1, a
/// post-stack head; and for a weight count that does not fit (naming the part).
WeightCursor slim_wavenet(WaveNetConfig& config, WeightCursor& full,
                          const std::vector<std::size_t>& channels, const std::string& where);

}  // namespace legato::native::nam
