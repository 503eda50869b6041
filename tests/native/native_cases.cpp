#include "native_cases.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "legato/legato.hpp"
#include "npy.hpp"

namespace legato::test::native_cases {

namespace {

std::filesystem::path folder() {
    if (const char* env = std::getenv("LEGATO_NATIVE_MODELS"); env != nullptr && *env != '\0')
        return env;
    return {};
}

}  // namespace

std::vector<Case> load(const std::string& format, std::string& skip_reason) {
    const std::filesystem::path root = folder();
    if (root.empty()) {
        skip_reason =
            "LEGATO_NATIVE_MODELS is not set (.ci/run points it at ../shared/models-native)";
        return {};
    }
    if (!std::filesystem::exists(root / "cases.json")) {
        skip_reason = "no cases.json in LEGATO_NATIVE_MODELS=" + root.string();
        return {};
    }
    std::ifstream file(root / "cases.json");
    const nlohmann::json cases = nlohmann::json::parse(file);
    std::vector<Case> out;
    for (const auto& entry : cases) {
        if (entry.at("format").get<std::string>() != format)
            continue;
        Case c;
        c.name = entry.at("name").get<std::string>();
        c.format = format;
        c.model =
            root / entry.at("folder").get<std::string>() / entry.at("model").get<std::string>();
        c.input = read_npy(root / entry.at("stream_input").get<std::string>()).data;
        c.reference = read_npy(root / entry.at("stream_output").get<std::string>()).data;
        c.tolerance = entry.at("tolerance_abs").get<double>();
        out.push_back(std::move(c));
    }
    if (out.empty())
        skip_reason = "no " + format + " cases in " + (root / "cases.json").string();
    return out;
}

const std::vector<std::size_t>& block_sizes() {
    static const std::vector<std::size_t> sizes{1, 3, 64, 97, 4096, 0};
    return sizes;
}

std::vector<float> stream(native::StreamModel& model, const std::vector<float>& input,
                          std::size_t block) {
    model.reset();
    const std::size_t ins = model.input_size();
    const std::size_t outs = model.output_size();
    std::vector<float> frame_in(4096 * ins, 0.0f);
    std::vector<float> frame_out(4096 * outs, 0.0f);
    std::vector<float> output(input.size(), 0.0f);
    std::uint32_t state = 12345;
    for (std::size_t at = 0; at < input.size();) {
        std::size_t n = block;
        if (n == 0) {  // varying: 1..300, a fixed xorshift pattern
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            n = 1 + state % 300;
        }
        n = std::min(n, input.size() - at);
        // Mono audio on input 0; further inputs (conditioning features) stay 0.
        std::fill(frame_in.begin(), frame_in.begin() + static_cast<std::ptrdiff_t>(n * ins), 0.0f);
        for (std::size_t f = 0; f < n; ++f)
            frame_in[f * ins] = input[at + f];
        model.process(frame_in.data(), frame_out.data(), n);
        for (std::size_t f = 0; f < n; ++f)
            output[at + f] = frame_out[f * outs];
        at += n;
    }
    return output;
}

nlohmann::json random_array(std::mt19937& rng, std::size_t rows, std::size_t cols) {
    std::uniform_real_distribution<float> u(-0.4f, 0.4f);
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t r = 0; r < rows; ++r) {
        if (cols == 0) {
            out.push_back(u(rng));
            continue;
        }
        nlohmann::json row = nlohmann::json::array();
        for (std::size_t k = 0; k < cols; ++k)
            row.push_back(u(rng));
        out.push_back(row);
    }
    return out;
}

std::string read_text(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

double max_abs_error(const std::vector<float>& a, const std::vector<float>& b, std::size_t* at) {
    double worst = 0.0;
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
        if (!(d <= worst)) {  // NaN counts as worst
            worst = std::isnan(d) ? INFINITY : d;
            if (at != nullptr)
                *at = i;
        }
    }
    return worst;
}

InlineRun stream_inline(const ModelSource& model, const std::vector<float>& input) {
    InferenceConfig config;
    config.engines.push_back({make_backend("native"), model, {}, {}, {}});
    TensorSpec in;
    in.name = "in";
    in.shape = {1, 1, -1};
    in.hop = 32;
    TensorSpec out = in;
    out.name = "out";
    config.inputs = {in};
    config.outputs = {out};
    config.stateful = true;
    config.inline_mode = InlineMode::always;
    InferenceHandler handler(config);
    HostConfig host;
    host.max_block_size = 97;
    handler.prepare(host);
    InlineRun run;
    run.ran_inline = handler.runs_inline();
    run.output.assign(input.size(), 0.0f);
    for (std::size_t at = 0; at < input.size(); at += 97) {
        const std::size_t n = std::min<std::size_t>(97, input.size() - at);
        const float* i[1] = {input.data() + at};
        float* o[1] = {run.output.data() + at};
        handler.process(i, 1, o, 1, n);
    }
    run.latency = handler.latency();
    return run;
}

}  // namespace legato::test::native_cases
