#pragma once
// Shapes, and how every message in tapegrad spells one: "[2, 3]", as torch.Size prints.
#include <cstddef>
#include <string>
#include <vector>

namespace tapegrad {

using Shape = std::vector<std::size_t>;

std::string shape_str(const Shape& s);  // "[2, 3]"
template <class S> std::string shape_str_of(const S& s) { return shape_str(Shape(s.begin(), s.end())); }
// The multi-index of element `flat` of a row-major array of this shape (numpy.unravel_index).
Shape unravel_index(std::size_t flat, const Shape& shape);

}  // namespace tapegrad
