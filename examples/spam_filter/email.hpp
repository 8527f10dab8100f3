#pragma once
// Email preprocessing for text classifiers (the spam filter): RFC 822 / MIME parsing down to the
// readable text, a tokenizer, and hashed unigram + bigram features.
//
// Everything here takes arbitrary bytes: malformed MIME, missing or wrong boundaries, bad base64 or
// quoted-printable, unterminated HTML, NUL bytes, huge lines. It never throws on content, never
// reads out of bounds, recurses at most kMaxMimeDepth levels, and its output size is linear in
// the input's. (The only exception: hashed_features' `buckets` argument.) Charsets are not
// converted: decoded bytes are passed through as they come (UTF-8, Latin-1, ...).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tapegrad/core/errors.hpp"

namespace spam_filter {

// A parsed email: what a content classifier should see.
struct Email {
    // The first Subject header: unfolded, RFC 2047 encoded words decoded (=?cs?B?..?= base64 and
    // =?cs?Q?..?= quoted-printable, whitespace between adjacent encoded words dropped, the charset
    // ignored), leading/trailing whitespace trimmed. "" if there is none.
    std::string subject;
    // The first top-level From header, unfolded, encoded words decoded, trimmed ("" if none).
    std::string from;
    // (lower-cased name, unfolded value with encoded words decoded) of every top-level header
    // except Subject and the routing headers (Message-ID, Date, Delivered-To, References,
    // In-Reply-To, ...): From, To, Cc, Return-Path, X-Mailer, Content-Type, List-*, ... At most 256
    // headers of at most 4096 bytes each. A Received header is kept as the protocols it names
    // only: of the tokens (see tokenize) of its unfolded value, each one that follows a "with" and
    // has no ASCII digit, joined by single spaces ("... by relay with ESMTP id X; date" -> "esmtp";
    // "" when there is none): which software relayed the message is signal, its hosts, ids and
    // dates are not.
    std::vector<std::pair<std::string, std::string>> header_values;
    // The text of every text/plain and text/html part, in document order, joined with '\n':
    // Content-Transfer-Encoding quoted-printable / base64 decoded where declared, HTML stripped
    // (see strip_html). multipart/* is walked recursively (both versions of a
    // multipart/alternative are kept); message/rfc822 parts contribute their subject and body.
    // Other parts (images, application/*, other text/* subtypes, signatures) are skipped, whatever
    // their Content-Disposition. A part without Content-Type, or with an unparsable one, is
    // text/plain (RFC 2045), except that a top-level body without Content-Type starting with
    // "<html" or "<!doctype" is treated as HTML.
    std::string body;
    // Names of the top-level headers, lower-cased, in order, duplicates kept (e.g. "received"
    // several times). Only the names: the values of routing headers (Message-ID, Date, ...) are
    // never used — which headers a mailer writes (X-Mailer, List-Id, ...) is signal, the ids and
    // dates they name are noise.
    std::vector<std::string> header_names;
};

// Deepest MIME nesting parse_email walks (multipart in multipart ...); deeper parts are skipped.
constexpr int kMaxMimeDepth = 16;

// Headers end at the first empty line (LF or CRLF); continuation lines (starting with space or
// tab) are unfolded; a first line "From ..." (the mbox separator the SpamAssassin files start
// with) is skipped. A line that is neither a header nor a continuation also ends the headers (the
// body starts there). Multipart boundaries come from Content-Type's boundary parameter; when it is
// missing, the first body line starting with "--" gives it; when no delimiter line is found, the
// body is read as text/plain.
Email parse_email(std::string_view raw);

// Lower-cased tokens of text, in order. The rule:
//   - a token is a maximal run of word bytes: ASCII letters and digits, and every byte >= 0x80
//     (so UTF-8 and Latin-1 letters pass through unchanged), except the UTF-8 encodings of
//     U+00A0 (no-break space) and U+2000..U+202F (typographic spaces, zero-width characters,
//     dashes, quotes, bullets, ellipsis), which separate tokens like ASCII punctuation does;
//   - an apostrophe (ASCII ' or U+2019) with a word byte on both sides stays inside the token, as
//     ASCII ': "Don't" -> "don't", "don\u2019t" -> "don't", "'quoted'" -> "quoted";
//   - ASCII letters are lower-cased, nothing else is changed;
//   - tokens longer than kMaxTokenBytes bytes (hashes, base64 debris, long URLs' runs) are dropped,
//     not cut.
// Example: "Hello, WORLD! It's 42 o'clock." -> hello world it's 42 o'clock
constexpr std::size_t kMaxTokenBytes = 40;
std::vector<std::string> tokenize(std::string_view text);

// The features of an email, as strings, in document order, duplicates kept:
//   for the subject's tokens t0 t1 t2 ...:  "s:t0", "s:t1", "s:t0 t1", "s:t2", "s:t1 t2", ...
//   then each top-level header name n:     "h:n" (unigrams only)
//   then for each (n, v) of header_values, the tokens of v: "n:v0", "n:v1", ... (unigrams only)
//   then for the body's tokens u0 u1 ...:   "u0", "u1", "u0 u1", "u2", "u1 u2", ...
// i.e. each token's unigram followed by the bigram it ends; bigrams do not cross from one stream to
// the next. (Tokens never contain ' ' or ':' - ':' is not a word byte - so the prefixed streams
// and the body cannot collide as strings.)
std::vector<std::string> feature_strings(const Email& e);

// tapegrad::io::fnv1a64(feature) % buckets for each entry of feature_strings(e), in the same order (computed
// without building the strings). An email with no tokens gives an empty vector.
// Throws ValueError unless 1 <= buckets <= 2^63 - 1.
std::vector<std::int64_t> hashed_features(const Email& e, std::size_t buckets = std::size_t{1} << 18);

// The decoders parse_email uses, for tests, tools and fuzzers. All are total (never throw on
// content) and linear.
// Quoted-printable (RFC 2045): "=XX" (hex, either case) -> the byte; "=" followed by optional
// spaces/tabs and a line break -> nothing (soft line break); any other "=" is kept as is.
std::string decode_quoted_printable(std::string_view s);
// Base64, leniently: characters outside the alphabet (line breaks, junk) are ignored; '=' ends a
// quantum (its incomplete bits are dropped) and decoding goes on, so concatenated blobs decode.
std::string decode_base64(std::string_view s);
// RFC 2047 encoded words in a header value (see Email::subject); malformed ones are kept as is.
std::string decode_encoded_words(std::string_view s);
// HTML to text: tags removed (block-level tags such as <p>, <br>, <div>, <td> become a space;
// inline ones such as <b>, <font>, <span>, <a> become nothing, so "V<b></b>iagra" -> "Viagra");
// comments removed; <script> and <style> dropped with their content; character references
// decoded: &amp; &lt; &gt; &quot; &apos; &nbsp; (as a space) and a few more named ones, &#NNN;
// and &#xHH; (to UTF-8; NUL, controls and invalid code points become a space). A '<' not
// followed by a letter, '/', '!' or '?' is text; an unterminated tag drops the rest.
std::string strip_html(std::string_view html);

}  // namespace spam_filter
