#pragma once
// Reading one JSON value of a model configuration file at a known JSON path: every error names
// the file and the path. Shared by the readers of each section (config/read_config.hpp) and by
// to_json(), which writes the same enum spellings.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace legato::config {

using Json = nlohmann::ordered_json;  // ordered: to_json() keeps the documented key order

// The JSON spelling of each enum, in enum order: read by Reader::choice, written by to_json().
inline constexpr std::string_view role_names[] = {"audio", "parameter", "state"};
inline constexpr std::string_view layout_names[] = {"channels_first", "channels_last",
                                                    "sliding_windows_channels_last",
                                                    "sliding_windows_channels_first"};
inline constexpr std::string_view late_policy_names[] = {"silence", "dry", "repeat_last"};
inline constexpr std::string_view inline_mode_names[] = {"auto", "always", "never"};
inline constexpr std::string_view wake_strategy_names[] = {"sleep", "poll", "timer", "anticipate"};

/// [setup thread] "an object", "a string", ...: the JSON type of `value` for error messages.
std::string type_name(const Json& value);

/// [setup thread] Levenshtein distance, to suggest the known key nearest to a misspelt one.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// [setup thread] `"a", "b", "c"`: the names as an error message lists them.
std::string quoted_list(std::span<const std::string_view> names);

/// Reads one JSON value at a known path; every error names the file and the path.
/// Every function runs on the setup thread and throws legato::Error.
class Reader {
public:
    explicit Reader(std::string origin) : origin_(std::move(origin)) {}

    /// Throws legato::Error "ORIGIN: PATH: what" (no "PATH: " for the root).
    [[noreturn]] void fail(const std::string& path, const std::string& what) const;

    /// The path of member `key` of the object at `path`.
    static std::string at(const std::string& path, std::string_view key) {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }
    /// The path of element `index` of the array at `path`.
    static std::string at(const std::string& path, std::size_t index) {
        return path + "[" + std::to_string(index) + "]";
    }

    /// `value`, checked to be an object whose keys are all among `known_keys` (an unknown key
    /// is an error suggesting the nearest known one).
    const Json& object(const Json& value, const std::string& path,
                       std::span<const std::string_view> known_keys) const;
    const Json& array(const Json& value, const std::string& path) const;
    std::string string(const Json& value, const std::string& path) const;
    bool boolean(const Json& value, const std::string& path) const;
    /// A finite number.
    double number(const Json& value, const std::string& path) const;
    /// An integer; a float with an integral value (1.0, 2e3) counts as one.
    std::int64_t integer(const Json& value, const std::string& path) const;
    /// An integer, zero or more.
    std::size_t count(const Json& value, const std::string& path) const;

    /// The enum whose spelling in `names` (enum order) is the string `value`.
    template <typename Enum>
    Enum choice(const Json& value, const std::string& path,
                std::span<const std::string_view> names) const {
        const std::string text = string(value, path);
        for (std::size_t i = 0; i < names.size(); ++i)
            if (text == names[i])
                return static_cast<Enum>(i);
        fail(path, "\"" + text + "\" is not one of " + quoted_list(names));
    }

    /// A tensor shape: an array of sizes, -1 for a dimension resolved at prepare.
    std::vector<std::int64_t> shape(const Json& value, const std::string& path) const;
    /// One number or an array of numbers, as floats.
    std::vector<float> values(const Json& value, const std::string& path) const;

private:
    std::string origin_;
};

}  // namespace legato::config
