#pragma once
// Replacing a file whole or not at all: what every writer in tapegrad (checkpoints, metrics,
// plots) uses, so that a run killed mid-save leaves the previous file intact.
#include <functional>
#include <string>

#include "tapegrad/core/errors.hpp"

namespace tapegrad {
namespace io {

// Calls write(tmp) to fill a temporary file in path's directory (path + ".tmp.<pid>"), fsyncs it,
// renames it over path and fsyncs the directory. On any failure (an exception from write
// included) the temporary file is removed and path is untouched; errors are IOError prefixed by
// `fn` ("save_npz: '<path>': …"). Temporary files left by earlier processes that no longer exist
// (a SIGKILLed save) are removed first: path.tmp.<pid>, and libzip's path.tmp.<pid>.XXXXXX that a
// save_npz killed while libzip wrote its archive leaves.
void replace_file_atomically(const std::string& fn, const std::string& path,
                             const std::function<void(const std::string& tmp)>& write);

// Writes text to path through replace_file_atomically.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace io
}  // namespace tapegrad
