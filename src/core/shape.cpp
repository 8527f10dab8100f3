// shape_str: the one spelling of a shape in messages.
#include <sstream>

#include "tapegrad/core/shape.hpp"

namespace tapegrad {

std::string shape_str(const Shape& s) {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
    os << ']';
    return os.str();
}

}  // namespace tapegrad
