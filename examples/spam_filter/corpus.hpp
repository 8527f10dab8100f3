#pragma once
// Reader for text corpora stored one folder per class (20 Newsgroups, the SpamAssassin corpus,
// sklearn's load_files layout):
//
//   root/<folder>/<document>      e.g. root/spam-1/00001.7848dde101aa985090474a91ec93fcf0.txt
//
// Documents are returned as raw bytes (no decoding, no newline conversion). A bad root is reported
// as tapegrad::IOError; a bad document only as a warning.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tapegrad/core/errors.hpp"

namespace spam_filter {

// Documents longer than this are truncated to it (by default).
constexpr std::size_t kMaxDocumentBytes = std::size_t{1} << 20;

// One corpus; texts, labels, paths and is_test are parallel (one entry per document kept).
struct TextCorpus {
    std::vector<std::string> texts;         // file contents, raw bytes (at most max_bytes_per_file)
    std::vector<std::int64_t> labels;       // index into class_names
    std::vector<std::string> paths;         // root/folder/name as given (root not canonicalised)
    std::vector<std::string> class_names;   // sorted (std::string order); label i = class_names[i]
    std::vector<bool> is_test;              // the split rule below
    std::size_t skipped = 0;                // documents left out (empty, binary, unreadable)
    std::vector<std::string> warnings;      // one line per skipped or truncated document, etc.
};

// Reads every class folder of root.
//
// Class folders: the subfolders of root (symlinks followed; names starting with '.' ignored).
//   folder_to_class empty: every subfolder is a class named like the folder.
//   folder_to_class given: only the folders it names are read (others are ignored), each as the
//     class it maps to; several folders may map to one class. The classes are then all the
//     distinct values of the map, even one whose folders are all missing (a warning names each
//     missing folder), so the numbering depends on the map only.
// Labels: classes numbered 0, 1, ... in sorted order of class name.
// Documents: the entries of a class folder whose names do not start with '.', in sorted order of
//   name (byte-wise). Documents come class folder by class folder, in sorted order of folder name.
// Split: a document is in the test set (is_test) when its index in that sorted listing of its own
//   folder is divisible by 5 (0, 5, 10, ...: 1 in 5); the rest is training. Skipped entries keep
//   their index, so a document's split never depends on whether other files could be read.
// Skipped with a warning naming the file (counted in `skipped`): entries that cannot be opened or
//   read (a dangling symlink, no permission), that are not regular files (a subdirectory, a FIFO),
//   that are empty (0 bytes), or that are binary (a NUL byte in the first 8 KiB).
// Files longer than max_bytes_per_file are kept, truncated to their first max_bytes_per_file bytes,
//   with a warning (not counted in `skipped`).
// Throws IOError naming the path when root does not exist, is not a folder, cannot be listed or
// has no class folder, or when a class folder cannot be listed; ValueError when
// max_bytes_per_file is 0.
TextCorpus load_text_folders(const std::string& root,
                             const std::map<std::string, std::string>& folder_to_class = {},
                             std::size_t max_bytes_per_file = kMaxDocumentBytes);

// One document, read as load_text_folders reads each (and as --predict reads an email): at most
// max_bytes (> 0) of a regular file into `text`, `truncated` telling whether bytes were left unread.
// Returns false, with `why` saying it ("cannot open: No such file or directory", "not a regular
// file (a directory)", "empty file", "binary (a NUL byte in the first 8 KiB)"), when the document is
// refused. Never blocks on a FIFO.
bool read_document(const std::string& path, std::size_t max_bytes, std::string& text, bool& truncated,
                   std::string& why);

// The class map of the SpamAssassin corpus as laid out by third_party/fetch-spamassassin.sh:
// easy-ham-1, easy-ham-2, hard-ham-1 -> "ham"; spam-1, spam-2 -> "spam" (so ham = 0, spam = 1).
std::map<std::string, std::string> spamassassin_classes();

}  // namespace spam_filter
