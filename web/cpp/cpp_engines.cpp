#include "cpp_engines.hpp"

#include <cmath>
#include <map>
#include <span>

#include "legato/custom_backend.hpp"
#include "legato/error.hpp"

namespace legato::web {

namespace {

std::map<std::string, std::function<std::shared_ptr<Backend>()>>& registry() {
    static std::map<std::string, std::function<std::shared_ptr<Backend>()>> engines;
    return engines;
}

// The module's example C++ engine (and the web tests'): y = tanh(0.5 x), element by element
// over the first input and output tensors.
const bool example_registered = [] {
    register_cpp_engine("example-tanh", [] {
        return make_custom_backend(
            "example-tanh",
            [](std::span<const TensorView> inputs, std::span<const TensorView> outputs) {
                const auto in = inputs[0].data;
                const auto out = outputs[0].data;
                for (std::size_t n = 0; n < out.size() && n < in.size(); ++n)
                    out[n] = std::tanh(0.5f * in[n]);
            });
    });
    return true;
}();

}  // namespace

void register_cpp_engine(const std::string& name, std::function<std::shared_ptr<Backend>()> make) {
    registry()[name] = std::move(make);
}

std::shared_ptr<Backend> make_cpp_engine(const std::string& name) {
    const auto found = registry().find(name);
    if (found == registry().end()) {
        std::string names;
        for (const auto& [known, make] : registry())
            names += (names.empty() ? "" : ", ") + known;
        throw ConfigError("no C++ engine \"" + name + "\" is compiled into this module (it has: " +
                          names + ")");
    }
    return found->second();
}

std::vector<std::string> cpp_engine_names() {
    std::vector<std::string> names;
    for (const auto& [name, make] : registry())
        names.push_back(name);
    return names;
}

}  // namespace legato::web
