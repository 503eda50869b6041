// The LV2 plugin (examples/lv2) in two hosts:
//  - a minimal host of our own (dlopen + the LV2 C API) that passes or withholds the options and
//    buf-size features, runs varying block sizes and reads the output control ports (latency,
//    late_inferences), which lv2apply does not show;
//  - lv2apply (lilv), which finds the bundle through LV2_PATH, parses its .ttl and renders a WAV
//    one frame per run() call.
// Outputs are checked against the model's PyTorch reference (models/cnn_past.out.npy) delayed by
// the reported latency, against `legato run`, and mix = 0 against the input delayed exactly.
//
// Environment (set by CTest): LEGATO_LV2_BUNDLE, LEGATO_LV2_BINARY, LEGATO_TEST_MODELS_DIR,
// LEGATO_LV2APPLY (optional), LEGATO_CLI (optional).

#include <dlfcn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/options/options.h>
#include <lv2/urid/urid.h>
#include <nlohmann/json.hpp>
#include <sndfile.h>

#include <legato/latency.hpp>

#include "npy.hpp"
#include "ports.hpp"

namespace fs = std::filesystem;
using legato::examples::lv2::Port;

namespace {

constexpr double sample_rate = 48000.0;
// The test config's fixed inference-time bound (instead of "measure"): every instance, in every
// process, then has the same latency, so lv2apply's (which nobody can read) is known.
constexpr double fixed_inference_ms = 2.0;
// Streamed ONNX Runtime vs. the whole-stream PyTorch reference.
constexpr float reference_tolerance = 1e-5F;
// Two renders of the same engine through the same handler code (plugin vs. `legato run`).
constexpr float render_tolerance = 1e-6F;

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

fs::path models_dir() {
    return env("LEGATO_TEST_MODELS_DIR");
}

std::vector<float> row(const legato::test::NpyArray& array, std::size_t index) {
    const std::size_t length = array.shape.back();
    return {array.data.begin() + static_cast<std::ptrdiff_t>(index * length),
            array.data.begin() + static_cast<std::ptrdiff_t>((index + 1) * length)};
}

// cnn_past.json with a fixed max_inference_time_ms and absolute model paths, in the working
// directory. Returns the path and the hop (for the latency arithmetic).
struct TestConfig {
    fs::path path;
    std::size_t hop = 0;
    std::size_t parallel = 1;
};

TestConfig write_test_config() {
    std::ifstream in(models_dir() / "cnn_past.json");
    if (!in)
        throw std::runtime_error("cannot read " + (models_dir() / "cnn_past.json").string());
    nlohmann::json config = nlohmann::json::parse(in);
    config["max_inference_time_ms"] = fixed_inference_ms;
    config.erase("measure");
    for (auto& engine : config["engines"])
        engine["model"] = (models_dir() / engine["model"].get<std::string>()).string();
    TestConfig result;
    result.path = fs::absolute("lv2_test_cnn_past.json");
    result.hop = config["inputs"][0]["hop"].get<std::size_t>();
    result.parallel = config.value("parallel_instances", std::size_t{1});
    std::ofstream(result.path) << config.dump(2) << '\n';
    return result;
}

std::size_t expected_latency(const TestConfig& config, std::size_t max_block, bool variable) {
    legato::LatencyInputs inputs;
    inputs.sample_rate = sample_rate;
    inputs.max_block_size = max_block;
    inputs.variable_block_size = variable;
    inputs.hop = config.hop;
    inputs.max_inference_time_ms = fixed_inference_ms;
    inputs.parallel_inferences = config.parallel;
    return legato::compute_latency(inputs);
}

// --- A minimal LV2 host -------------------------------------------------------------------

// urid:map for the options feature: URIs get consecutive ids from 1.
struct UridMap {
    std::vector<std::string> uris;
    LV2_URID_Map feature{this, &UridMap::map};
    static LV2_URID map(LV2_URID_Map_Handle handle, const char* uri) {
        auto& self = *static_cast<UridMap*>(handle);
        for (std::size_t i = 0; i < self.uris.size(); ++i)
            if (self.uris[i] == uri)
                return static_cast<LV2_URID>(i + 1);
        self.uris.emplace_back(uri);
        return static_cast<LV2_URID>(self.uris.size());
    }
};

struct HostFeatures {
    bool provide_options = false;
    std::int32_t max_block = 0;
    bool fixed_block = false;
};

class PluginLibrary {
public:
    explicit PluginLibrary(const fs::path& binary) {
        handle_ = dlopen(binary.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle_ == nullptr)
            throw std::runtime_error(std::string("dlopen: ") + dlerror());
        auto entry = reinterpret_cast<LV2_Descriptor_Function>(dlsym(handle_, "lv2_descriptor"));
        if (entry == nullptr)
            throw std::runtime_error("no lv2_descriptor in " + binary.string());
        descriptor_ = entry(0);
        if (entry(1) != nullptr)
            throw std::runtime_error("more than one plugin in " + binary.string());
    }
    ~PluginLibrary() {
        if (handle_ != nullptr)
            dlclose(handle_);
    }
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;
    const LV2_Descriptor* descriptor() const { return descriptor_; }

private:
    void* handle_ = nullptr;
    const LV2_Descriptor* descriptor_ = nullptr;
};

struct Render {
    std::vector<float> left, right;
    float latency = -1.0F;
    float late_inferences = -1.0F;
};

class PluginInstance {
public:
    PluginInstance(const LV2_Descriptor* descriptor, const HostFeatures& host)
        : descriptor_(descriptor) {
        std::vector<const LV2_Feature*> features;
        if (host.provide_options) {
            const LV2_URID atom_int = urid_.feature.map(&urid_, "http://lv2plug.in/ns/ext/atom#Int");
            max_block_ = host.max_block;
            options_ = {
                {LV2_OPTIONS_INSTANCE, 0, urid_.feature.map(&urid_, LV2_BUF_SIZE__maxBlockLength),
                 sizeof(std::int32_t), atom_int, &max_block_},
                {LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, nullptr}};
            map_feature_ = {LV2_URID__map, &urid_.feature};
            options_feature_ = {LV2_OPTIONS__options, options_.data()};
            features.push_back(&map_feature_);
            features.push_back(&options_feature_);
        }
        fixed_feature_ = {LV2_BUF_SIZE__fixedBlockLength, nullptr};
        if (host.fixed_block)
            features.push_back(&fixed_feature_);
        features.push_back(nullptr);
        handle_ = descriptor_->instantiate(descriptor_, sample_rate, env("LEGATO_LV2_BUNDLE").c_str(),
                                           features.data());
        if (handle_ == nullptr)
            return;
        connect(Port::mix, &mix_);
        connect(Port::offline, &offline_);
        connect(Port::freewheel, &freewheel_);
        connect(Port::latency, &latency_);
        connect(Port::late_inferences, &late_);
        descriptor_->activate(handle_);
    }
    ~PluginInstance() {
        if (handle_ != nullptr) {
            descriptor_->deactivate(handle_);
            descriptor_->cleanup(handle_);
        }
    }
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    bool loaded() const { return handle_ != nullptr; }

    /// Runs the whole input through in blocks cycling through `block_sizes`.
    Render render(const std::vector<float>& left, const std::vector<float>& right, float mix,
                  float offline, const std::vector<std::size_t>& block_sizes) {
        mix_ = mix;
        offline_ = offline;
        Render out;
        out.left.assign(left.size(), 0.0F);
        out.right.assign(left.size(), 0.0F);
        std::size_t block_index = 0;
        for (std::size_t done = 0; done < left.size();) {
            const std::size_t n =
                std::min(block_sizes[block_index++ % block_sizes.size()], left.size() - done);
            // Hosts may connect audio ports anew before every run().
            connect(Port::input_left, const_cast<float*>(left.data() + done));
            connect(Port::input_right, const_cast<float*>(right.data() + done));
            connect(Port::output_left, out.left.data() + done);
            connect(Port::output_right, out.right.data() + done);
            descriptor_->run(handle_, static_cast<std::uint32_t>(n));
            done += n;
        }
        out.latency = latency_;
        out.late_inferences = late_;
        return out;
    }

private:
    void connect(Port port, float* data) { descriptor_->connect_port(handle_, port, data); }

    const LV2_Descriptor* descriptor_;
    LV2_Handle handle_ = nullptr;
    UridMap urid_;
    std::int32_t max_block_ = 0;
    std::vector<LV2_Options_Option> options_;
    LV2_Feature map_feature_{}, options_feature_{}, fixed_feature_{};
    float mix_ = 1.0F, offline_ = 0.0F, freewheel_ = 0.0F, latency_ = -1.0F, late_ = -1.0F;
};

// --- WAV files and comparisons ---------------------------------------------------------------

void write_wav(const fs::path& path, const std::vector<float>& left,
               const std::vector<float>& right) {
    SF_INFO info{};
    info.samplerate = static_cast<int>(sample_rate);
    info.channels = 2;
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
    if (file == nullptr)
        throw std::runtime_error("cannot write " + path.string() + ": " + sf_strerror(nullptr));
    std::vector<float> interleaved(left.size() * 2);
    for (std::size_t i = 0; i < left.size(); ++i) {
        interleaved[2 * i] = left[i];
        interleaved[2 * i + 1] = right[i];
    }
    sf_writef_float(file, interleaved.data(), static_cast<sf_count_t>(left.size()));
    sf_close(file);
}

// Returns channels of a WAV file (empty on failure).
std::vector<std::vector<float>> read_wav(const fs::path& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (file == nullptr)
        return {};
    std::vector<float> interleaved(static_cast<std::size_t>(info.frames * info.channels));
    sf_readf_float(file, interleaved.data(), info.frames);
    sf_close(file);
    std::vector<std::vector<float>> channels(static_cast<std::size_t>(info.channels),
                                             std::vector<float>(static_cast<std::size_t>(info.frames)));
    for (std::size_t i = 0; i < static_cast<std::size_t>(info.frames); ++i)
        for (std::size_t c = 0; c < channels.size(); ++c)
            channels[c][i] = interleaved[i * channels.size() + c];
    return channels;
}

// max |actual[n] - expected[n - delay]| over n in [delay, delay + expected.size()) (frames
// before `delay` are not compared: they hold the model's response to the silence before the
// stream); +inf if `actual` is too short.
float max_delayed_error(const std::vector<float>& actual, const std::vector<float>& expected,
                        std::size_t delay, const char* what = "") {
    if (actual.size() < delay + expected.size())
        return INFINITY;
    float error = 0.0F;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const float e = std::abs(actual[delay + i] - expected[i]);
        if (!(e <= error))  // NaN is the worst
            error = e;
    }
    if (what[0] != '\0')
        std::printf("%s: max abs error %.3g at latency %zu\n", what, static_cast<double>(error),
                    delay);
    return error;
}

// mix = 0: exactly the input delayed by `delay`, silence before.
bool is_exact_delay(const std::vector<float>& actual, const std::vector<float>& input,
                    std::size_t delay) {
    for (std::size_t n = 0; n < actual.size(); ++n) {
        const float expected = n < delay ? 0.0F : input[n - delay];
        if (actual[n] != expected) {
            std::fprintf(stderr, "mix 0: sample %zu is %.9g, expected %.9g\n", n, actual[n],
                         expected);
            return false;
        }
    }
    return true;
}

int run_command(const std::string& command) {
    std::fprintf(stderr, "$ %s\n", command.c_str());
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string shell_quoted(const fs::path& path) {
    return "'" + path.string() + "'";
}

// --- The fixture: signals, reference, the library ---------------------------------------------

class Lv2Plugin : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        ASSERT_FALSE(env("LEGATO_LV2_BINARY").empty()) << "run through ctest";
        config_ = write_test_config();
        ASSERT_EQ(setenv("LEGATO_MODEL_CONFIG", config_.path.c_str(), 1), 0);
        const auto mono = legato::test::read_npy(models_dir() / "stream_mono.npy");
        const auto stereo = legato::test::read_npy(models_dir() / "stream_stereo.npy");
        const auto reference = legato::test::read_npy(models_dir() / "cnn_past.out.npy");
        signal_ = row(mono, 0);
        other_ = row(stereo, 1);
        reference_ = row(reference, 0);
        library_ = std::make_unique<PluginLibrary>(env("LEGATO_LV2_BINARY"));
    }
    static void TearDownTestSuite() { library_.reset(); }

    // The signal followed by `tail` zeros, so the delayed output is complete.
    static std::vector<float> padded(const std::vector<float>& samples, std::size_t tail) {
        std::vector<float> result(samples);
        result.resize(samples.size() + tail, 0.0F);
        return result;
    }

    static TestConfig config_;
    static std::vector<float> signal_, other_, reference_;
    static std::unique_ptr<PluginLibrary> library_;
};

TestConfig Lv2Plugin::config_;
std::vector<float> Lv2Plugin::signal_, Lv2Plugin::other_, Lv2Plugin::reference_;
std::unique_ptr<PluginLibrary> Lv2Plugin::library_;

TEST_F(Lv2Plugin, DescriptorHasTheUri) {
    ASSERT_NE(library_->descriptor(), nullptr);
    EXPECT_STREQ(library_->descriptor()->URI, legato::examples::lv2::plugin_uri);
}

// A host that states its maximum block length and then varies the block size: the plugin
// prepares for that bound, reports the matching latency, and the output is the model's.
TEST_F(Lv2Plugin, VariableBlocksWithOptionsMatchReference) {
    PluginInstance plugin(library_->descriptor(), {true, 512, false});
    ASSERT_TRUE(plugin.loaded());
    const std::size_t latency = expected_latency(config_, 512, true);
    const auto input = padded(signal_, latency);
    const Render out = plugin.render(input, input, 1.0F, 1.0F, {1, 17, 512, 64, 256, 333, 2, 500});
    EXPECT_EQ(out.latency, static_cast<float>(latency));
    EXPECT_EQ(out.late_inferences, 0.0F);
    EXPECT_LE(max_delayed_error(out.left, reference_, latency, "variable blocks, left vs reference"),
              reference_tolerance);
    EXPECT_LE(max_delayed_error(out.right, reference_, latency, "variable blocks, right vs reference"),
              reference_tolerance);
}

// bufsz:fixedBlockLength: every block is the maximum, which needs less latency.
TEST_F(Lv2Plugin, FixedBlocksNeedLessLatency) {
    PluginInstance plugin(library_->descriptor(), {true, 256, true});
    ASSERT_TRUE(plugin.loaded());
    const std::size_t latency = expected_latency(config_, 256, false);
    EXPECT_LT(latency, expected_latency(config_, 256, true));
    // Whole blocks only (the tail is padded to a block multiple).
    const std::size_t length = (signal_.size() + latency + 255) / 256 * 256;
    const auto input = padded(signal_, length - signal_.size());
    const Render out = plugin.render(input, input, 1.0F, 1.0F, {256});
    EXPECT_EQ(out.latency, static_cast<float>(latency));
    EXPECT_EQ(out.late_inferences, 0.0F);
    EXPECT_LE(max_delayed_error(out.left, reference_, latency, "fixed blocks vs reference"),
              reference_tolerance);
}

// No features at all (lv2apply): the documented default bound, any block size.
TEST_F(Lv2Plugin, WithoutOptionsUsesTheDefaultBound) {
    PluginInstance plugin(library_->descriptor(), {});
    ASSERT_TRUE(plugin.loaded());
    const Render out = plugin.render(padded(signal_, 0), padded(signal_, 0), 1.0F, 1.0F, {1});
    EXPECT_EQ(out.latency, static_cast<float>(expected_latency(config_, 4096, true)));
}

// mix = 0 is the input delayed by the latency, bit for bit, each channel its own.
TEST_F(Lv2Plugin, DryIsTheInputDelayedExactly) {
    PluginInstance plugin(library_->descriptor(), {true, 512, false});
    ASSERT_TRUE(plugin.loaded());
    const std::size_t latency = expected_latency(config_, 512, true);
    const auto left = padded(signal_, latency);
    const auto right = padded(other_, latency);
    const Render out = plugin.render(left, right, 0.0F, 1.0F, {100, 512, 7});
    EXPECT_EQ(out.latency, static_cast<float>(latency));
    EXPECT_TRUE(is_exact_delay(out.left, left, latency));
    EXPECT_TRUE(is_exact_delay(out.right, right, latency));
}

// A config that cannot load: instantiate() returns NULL (and says why on stderr), no crash.
TEST_F(Lv2Plugin, BadConfigFailsToInstantiate) {
    ASSERT_EQ(setenv("LEGATO_MODEL_CONFIG", "/nonexistent/model.json", 1), 0);
    PluginInstance plugin(library_->descriptor(), {});
    ASSERT_EQ(setenv("LEGATO_MODEL_CONFIG", config_.path.c_str(), 1), 0);
    EXPECT_FALSE(plugin.loaded());
}

// Without LEGATO_MODEL_CONFIG the compiled-in default (models/cnn_past.json, which measures its
// inference time, so the latency is not predictable) loads and runs.
TEST_F(Lv2Plugin, DefaultConfigLoads) {
    ASSERT_EQ(unsetenv("LEGATO_MODEL_CONFIG"), 0);
    PluginInstance plugin(library_->descriptor(), {true, 256, true});
    ASSERT_EQ(setenv("LEGATO_MODEL_CONFIG", config_.path.c_str(), 1), 0);
    ASSERT_TRUE(plugin.loaded());
    const auto input = padded(signal_, 4096);  // a whole number of blocks, room for the delay
    const Render out = plugin.render(input, input, 1.0F, 1.0F, {256});
    ASSERT_GT(out.latency, 0.0F);
    ASSERT_LE(out.latency, 4096.0F);
    EXPECT_EQ(out.late_inferences, 0.0F);
    EXPECT_LE(max_delayed_error(out.left, reference_, static_cast<std::size_t>(out.latency)),
              reference_tolerance);
}

// lv2apply finds the bundle through LV2_PATH, parses the .ttl and runs one frame per run().
// It cannot read output ports, so the latency is the one the fixed-time config gives without
// options (checked above); `legato run` renders the same file for comparison.
TEST_F(Lv2Plugin, Lv2applyMatchesReferenceAndLegatoRun) {
    const std::string lv2apply = env("LEGATO_LV2APPLY");
    if (lv2apply.empty())
        GTEST_SKIP() << "lv2apply not found (lilv-utils)";
    const std::size_t latency = expected_latency(config_, 4096, true);
    const auto input = padded(signal_, latency);
    const fs::path wet_in = fs::absolute("lv2_test_in.wav");
    const fs::path dry_in = fs::absolute("lv2_test_in_dry.wav");
    const fs::path wet_out = fs::absolute("lv2_test_out.wav");
    const fs::path dry_out = fs::absolute("lv2_test_out_dry.wav");
    write_wav(wet_in, input, input);
    write_wav(dry_in, input, padded(other_, latency));
    // LV2_PATH lists folders holding bundles: the bundle's parent (LEGATO_LV2_BUNDLE ends in /).
    const fs::path bundle_folder = fs::path(env("LEGATO_LV2_BUNDLE")).parent_path().parent_path();
    const std::string host = "LV2_PATH=" + shell_quoted(bundle_folder) +
                             " LEGATO_MODEL_CONFIG=" + shell_quoted(config_.path) + " " + lv2apply;
    const std::string uri = legato::examples::lv2::plugin_uri;
    ASSERT_EQ(run_command(host + " -i " + shell_quoted(wet_in) + " -o " + shell_quoted(wet_out) +
                          " -c offline 1 " + uri),
              0);
    ASSERT_EQ(run_command(host + " -i " + shell_quoted(dry_in) + " -o " + shell_quoted(dry_out) +
                          " -c offline 1 -c mix 0 " + uri),
              0);

    const auto wet = read_wav(wet_out);
    ASSERT_EQ(wet.size(), 2U);
    ASSERT_EQ(wet[0].size(), input.size());
    EXPECT_LE(max_delayed_error(wet[0], reference_, latency, "lv2apply left vs reference"),
              reference_tolerance);
    EXPECT_LE(max_delayed_error(wet[1], reference_, latency, "lv2apply right vs reference"),
              reference_tolerance);
    const auto dry = read_wav(dry_out);
    ASSERT_EQ(dry.size(), 2U);
    EXPECT_TRUE(is_exact_delay(dry[0], input, latency));
    EXPECT_TRUE(is_exact_delay(dry[1], padded(other_, latency), latency));

    const std::string cli = env("LEGATO_CLI");
    if (cli.empty()) {
        std::fprintf(stderr, "legato CLI not built: comparison with `legato run` skipped\n");
        return;
    }
    // `legato run --compensate-latency` drops its own latency: sample n is aligned with input
    // sample n, so the plugin's output at n + latency must equal it.
    const fs::path rendered = fs::absolute("lv2_test_legato_run.wav");
    ASSERT_EQ(run_command(shell_quoted(fs::path(cli)) + " run --compensate-latency --no-progress " +
                          shell_quoted(config_.path) + " " + shell_quoted(wet_in) + " " + shell_quoted(rendered)),
              0);
    const auto reference_run = read_wav(rendered);
    ASSERT_EQ(reference_run.size(), 2U);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::vector<float> head(reference_run[c].begin(),
                                      reference_run[c].end() - static_cast<std::ptrdiff_t>(latency));
        EXPECT_LE(max_delayed_error(wet[c], head, latency, "lv2apply vs legato run"), render_tolerance)
            << "channel " << c;
    }
}

}  // namespace
