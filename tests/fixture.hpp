#pragma once
// Reading the PyTorch fixtures of tools/gen_fixtures.py: {"shape": [...], "data": [...]} tensors,
// non-finite numbers spelled "nan", "inf", "-inf".
#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>
#include <xtensor/xarray.hpp>

namespace fixture {

inline nlohmann::json load(const std::string& name) {
    std::ifstream f(std::string(TAPEGRAD_FIXTURES) + "/" + name);
    if (!f) throw std::runtime_error("fixture not found: " + name + " (run tools/gen_fixtures.py)");
    return nlohmann::json::parse(f);
}

inline double number(const nlohmann::json& v) {
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
        throw std::runtime_error("fixture: bad number string " + s);
    }
    return v.get<double>();
}

template <class T> xt::xarray<T> array(const nlohmann::json& j) {
    std::vector<std::size_t> shape = j.at("shape").get<std::vector<std::size_t>>();
    xt::xarray<T> a = xt::xarray<T>::from_shape(shape);
    const auto& d = j.at("data");
    if (d.size() != a.size()) throw std::runtime_error("fixture: data size does not match shape");
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = static_cast<T>(number(d[i]));
    return a;
}

inline xt::xarray<std::int64_t> int_array(const nlohmann::json& j) {
    std::vector<std::size_t> shape = j.at("shape").get<std::vector<std::size_t>>();
    xt::xarray<std::int64_t> a = xt::xarray<std::int64_t>::from_shape(shape);
    const auto& d = j.at("data");
    for (std::size_t i = 0; i < a.size(); ++i) a.data()[i] = d[i].get<std::int64_t>();
    return a;
}

// |a − b| ≤ tol·max(1, |b|) elementwise, NaN matching NaN and infinities matching exactly.
// Returns the worst relative error seen (or +inf on a NaN/inf mismatch or a shape mismatch).
template <class T> double worst_rel_error(const xt::xarray<T>& a, const xt::xarray<double>& b) {
    if (a.size() != b.size() || a.dimension() != b.dimension()) return std::numeric_limits<double>::infinity();
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = double(a.data()[i]), y = b.data()[i];
        if (std::isnan(y) || std::isnan(x)) {
            if (std::isnan(x) != std::isnan(y)) return std::numeric_limits<double>::infinity();
            continue;
        }
        if (std::isinf(y) || std::isinf(x)) {
            if (x != y) return std::numeric_limits<double>::infinity();
            continue;
        }
        worst = std::max(worst, std::abs(x - y) / std::max(1.0, std::abs(y)));
    }
    return worst;
}

}  // namespace fixture
