#pragma once
// The staged reference models of the native engine ($LEGATO_NATIVE_MODELS/cases.json, normally
// ../shared/models-native: RTNeural and NAM files with the upstream libraries' outputs), and
// the streaming comparison every native test uses.

#include <cstddef>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/native/stream_model.hpp"
#include "legato/model_source.hpp"

namespace legato::test::native_cases {

struct Case {
    std::string name;
    std::string format;  ///< "rtneural-json" or "nam"
    std::filesystem::path model;
    std::vector<float> input;      ///< mono, 96 000 samples
    std::vector<float> reference;  ///< the upstream library's output
    double tolerance = 0.0;        ///< max absolute difference allowed
};

/// [test] The cases of `format`, or none with `skip_reason` set (the folder is absent or
/// LEGATO_NATIVE_MODELS points nowhere). Throws std::runtime_error for a broken cases.json.
std::vector<Case> load(const std::string& format, std::string& skip_reason);

/// [test] The block sizes every case streams at: 1, 3, 64, 97, 4096, and 0 = varying sizes
/// (a fixed pseudo-random pattern of 1..300).
const std::vector<std::size_t>& block_sizes();

/// [test] Resets `model` and streams the case's input through it in blocks of `block` (0:
/// varying), returning the output (output 0 of each frame).
std::vector<float> stream(native::StreamModel& model, const std::vector<float>& input,
                          std::size_t block);

/// What stream_inline() saw.
struct InlineRun {
    std::vector<float> output;
    bool ran_inline = false;
    std::size_t latency = 0;
};

/// [test] Streams `input` through a stateful mono handler on the native engine with
/// "inline": "always" (hop 32, host blocks of 97 frames) and returns what came out.
InlineRun stream_inline(const ModelSource& model, const std::vector<float>& input);

/// [test] A model file's text.
std::string read_text(const std::filesystem::path& path);

/// [test] A seeded random JSON array of `rows` x `cols` in [-0.4, 0.4) (cols 0: a vector of
/// `rows`), for writing small models in the RTNeural format.
nlohmann::json random_array(std::mt19937& rng, std::size_t rows, std::size_t cols = 0);

/// [test] Max |a - b| over the common length, and where (for messages).
double max_abs_error(const std::vector<float>& a, const std::vector<float>& b,
                     std::size_t* at = nullptr);

}  // namespace legato::test::native_cases
