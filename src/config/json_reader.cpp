#include "config/json_reader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "legato/error.hpp"

namespace legato::config {

std::string type_name(const Json& value) {
    switch (value.type()) {
        case Json::value_t::null:
            return "null";
        case Json::value_t::object:
            return "an object";
        case Json::value_t::array:
            return "an array";
        case Json::value_t::string:
            return "a string";
        case Json::value_t::boolean:
            return "a boolean";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned:
            return "an integer";
        case Json::value_t::number_float:
            return "a number";
        default:
            return "an unsupported value";
    }
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] =
                std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0U : 1U)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string quoted_list(std::span<const std::string_view> names) {
    std::string text;
    for (const auto name : names)
        text += (text.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    return text;
}

void Reader::fail(const std::string& path, const std::string& what) const {
    throw Error(origin_ + ": " + (path.empty() ? "" : path + ": ") + what);
}

const Json& Reader::object(const Json& value, const std::string& path,
                           std::span<const std::string_view> known_keys) const {
    if (!value.is_object())
        fail(path, "expected an object, got " + type_name(value));
    for (const auto& item : value.items()) {
        const std::string& key = item.key();
        if (std::find(known_keys.begin(), known_keys.end(), key) != known_keys.end())
            continue;
        std::string_view closest;
        std::size_t best = 3;  // suggest only near misses
        for (const auto known : known_keys) {
            const std::size_t d = edit_distance(key, known);
            if (d < best)
                best = d, closest = known;
        }
        fail(at(path, key), closest.empty()
                                ? "unknown key; expected one of " + quoted_list(known_keys)
                                : "unknown key (did you mean \"" + std::string(closest) + "\"?)");
    }
    return value;
}

const Json& Reader::array(const Json& value, const std::string& path) const {
    if (!value.is_array())
        fail(path, "expected an array, got " + type_name(value));
    return value;
}

std::string Reader::string(const Json& value, const std::string& path) const {
    if (!value.is_string())
        fail(path, "expected a string, got " + type_name(value));
    return value.get<std::string>();
}

bool Reader::boolean(const Json& value, const std::string& path) const {
    if (!value.is_boolean())
        fail(path, "expected true or false, got " + type_name(value));
    return value.get<bool>();
}

double Reader::number(const Json& value, const std::string& path) const {
    if (!value.is_number())
        fail(path, "expected a number, got " + type_name(value));
    const double x = value.get<double>();
    if (!std::isfinite(x))
        fail(path, "expected a finite number");
    return x;
}

std::int64_t Reader::integer(const Json& value, const std::string& path) const {
    if (value.is_number_float()) {
        const double x = value.get<double>();
        if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9.0e15)
            return static_cast<std::int64_t>(x);
        fail(path, "expected an integer, got " + value.dump());
    }
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail(path, "is too large: " + value.dump());
    if (!value.is_number_integer())
        fail(path, "expected an integer, got " + type_name(value));
    return value.get<std::int64_t>();
}

std::size_t Reader::count(const Json& value, const std::string& path) const {
    const std::int64_t n = integer(value, path);
    if (n < 0)
        fail(path, "must be zero or more, got " + std::to_string(n));
    return static_cast<std::size_t>(n);
}

std::vector<std::int64_t> Reader::shape(const Json& value, const std::string& path) const {
    if (!value.is_array())
        fail(path, "expected an array of integers, got " + type_name(value));
    std::vector<std::int64_t> dims;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::int64_t d = integer(value[i], at(path, i));
        if (d < -1)
            fail(at(path, i),
                 "must be -1 (resolved at prepare) or a size, got " + std::to_string(d));
        dims.push_back(d);
    }
    return dims;
}

std::vector<float> Reader::values(const Json& value, const std::string& path) const {
    std::vector<float> out;
    if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i)
            out.push_back(static_cast<float>(number(value[i], at(path, i))));
    } else {
        out.push_back(static_cast<float>(number(value, path)));
    }
    return out;
}

}  // namespace legato::config
