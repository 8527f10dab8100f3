#pragma once
// --compare "OPTIONS": one case under two settings, side by side. Setting A is the command line,
// setting B is A with OPTIONS on top (the same flags, e.g. --compare '--label-smoothing 0.1' or
// --compare "--weight '[1, 2, 3]'"). Printed: each sample's (or element's) term before the
// reduction, the losses, every gradient row under A and B with the difference, and what changed
// and why; with --json, {"a": {"loss", "grad"}, "b": {"loss", "grad"}}.
#include <ostream>
#include <string>
#include <vector>

#include "by_hand.hpp"

namespace explain_ce {

// Splits OPTIONS into arguments as a shell would for these flags: whitespace separates, except
// inside quotes ('...' or "...", which are removed) and inside [...] (JSON lists keep their spaces).
// An unclosed quote or bracket is an InputError.
std::vector<std::string> split_options(const std::string& options);

// `options` is what --compare was given, for the heading. Returns 0 when both settings agree with
// tapegrad by hand, 1 otherwise.
int explain_compare(const UserInput& a, const UserInput& b, const std::string& options, std::ostream& out);

void compare_json(const UserInput& a, const UserInput& b, std::ostream& out);

}  // namespace explain_ce
