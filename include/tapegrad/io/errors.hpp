#pragma once
// The one place the readers/writers in data/ and io/ get their exception type from, so that
// re-pointing IOError means editing only this header.
//
// tapegrad/errors.hpp already declares tapegrad::IOError (derived from tapegrad::Error, itself a
// std::runtime_error). Declaring a second `struct IOError : std::runtime_error` here would be a
// redefinition in any translation unit that includes both headers, so this header forwards to
// that declaration instead; callers can still catch it as std::runtime_error.
#include "tapegrad/errors.hpp"
