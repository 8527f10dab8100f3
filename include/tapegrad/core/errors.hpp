#pragma once
// The exception types every public entry point throws. Messages name the function, what was
// expected and what came, in PyTorch's wording where PyTorch has one.
#include <stdexcept>
#include <string>

namespace tapegrad {

// Base of everything tapegrad throws on bad input or misuse.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// Shapes that do not fit the op (broadcasting, matmul, reshape, loss shapes).
struct ShapeError : Error {
    using Error::Error;
};
// An argument outside its domain (an option value, a dim, a probability).
struct ValueError : Error {
    using Error::Error;
};
// An index outside its range (class targets, embedding indices).
struct IndexError : Error {
    using Error::Error;
};
// Misuse of the tape: backward twice, on a non-scalar, on another thread's graph.
struct AutogradError : Error {
    using Error::Error;
};
// A file that cannot be read or written, or whose content is malformed.
struct IOError : Error {
    using Error::Error;
};

}  // namespace tapegrad
