#include "email.hpp"

#include <tapegrad/io/fnv.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace spam_filter {
using tapegrad::IOError;
using tapegrad::ValueError;
namespace {

// ---------------------------------------------------------------- small helpers

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }
inline bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string to_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return s.substr(b, e - b);
}

// One line of s starting at pos: [pos, end) without the line break; next = start of the next line.
struct Line {
    std::string_view text;
    std::size_t next;
};
Line line_at(std::string_view s, std::size_t pos) {
    std::size_t eol = s.find('\n', pos);
    std::size_t end = eol == std::string_view::npos ? s.size() : eol;
    std::size_t next = eol == std::string_view::npos ? s.size() : eol + 1;
    std::string_view text = s.substr(pos, end - pos);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    return {text, next};
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// ---------------------------------------------------------------- headers

struct Headers {
    std::string content_type, transfer_encoding, subject, from;
    bool has_content_type = false, has_transfer_encoding = false, has_subject = false, has_from = false;
    std::vector<std::pair<std::string, std::string>> values;  // top level, non-routing headers
    std::size_t body_start = 0;
};

// Parses the header block at the start of entity. names (top level only) receives every name.
// Headers whose values are routing noise (ids, dates): only their names are kept. Received is not
// among them: received_words below keeps the protocols it names.
bool is_routing(const std::string& lname) {
    static const char* const routing[] = {"message-id", "date", "delivery-date", "delivered-to",
                                          "x-received", "in-reply-to", "references", "subject", "x-uidl",
                                          "x-authentication-warning", "resent-date", "resent-message-id"};
    for (const char* r : routing)
        if (lname == r) return true;
    return false;
}

Headers parse_headers(std::string_view entity, bool top, std::vector<std::string>* names) {
    Headers h;
    std::string* current = nullptr;  // value being collected, null when not one we keep
    std::size_t kept = SIZE_MAX;     // index into h.values of the header being collected
    bool in_header = false, first = true;
    std::size_t pos = 0;
    while (pos < entity.size()) {
        Line line = line_at(entity, pos);
        if (line.text.empty()) {  // the blank line ending the headers
            pos = line.next;
            break;
        }
        if (is_wsp(line.text[0])) {
            if (!in_header) break;  // continuation of nothing: body text
            if (current != nullptr) current->append(line.text);  // unfolding keeps the whitespace
            if (kept != SIZE_MAX) {  // capped at 4096 bytes, as documented
                auto& v = h.values[kept].second;
                if (v.size() < 4096) v.append(line.text.substr(0, 4096 - v.size()));
            }
            pos = line.next;
            first = false;
            continue;
        }
        std::size_t colon = line.text.find(':');
        std::string_view name = colon == std::string_view::npos ? std::string_view() : line.text.substr(0, colon);
        while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);  // obsolete "Name :"
        bool valid = !name.empty();
        for (char c : name)
            if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126) {
                valid = false;
                break;
            }
        if (!valid) {
            if (top && first && line.text.substr(0, 5) == "From ") {  // mbox separator
                pos = line.next;
                first = false;
                continue;
            }
            break;  // not a header: the body starts on this line
        }
        first = false;
        in_header = true;
        current = nullptr;
        kept = SIZE_MAX;
        std::string lname = to_lower(name);
        std::string_view value = line.text.substr(colon + 1);
        if (lname == "content-type" && !h.has_content_type) {
            h.has_content_type = true;
            current = &h.content_type;
        } else if (lname == "content-transfer-encoding" && !h.has_transfer_encoding) {
            h.has_transfer_encoding = true;
            current = &h.transfer_encoding;
        } else if (top && lname == "subject" && !h.has_subject) {
            h.has_subject = true;
            current = &h.subject;
        } else if (top && names != nullptr && lname == "from" && !h.has_from) {
            h.has_from = true;
            current = &h.from;
        }
        if (current != nullptr) current->assign(value);
        if (top && names != nullptr && !is_routing(lname) && h.values.size() < 256) {
            h.values.emplace_back(lname, std::string(value.substr(0, 4096)));
            kept = h.values.size() - 1;
        }
        if (names != nullptr) names->push_back(std::move(lname));
        pos = line.next;
    }
    h.body_start = std::min(pos, entity.size());
    return h;
}

struct ContentType {
    std::string type, subtype;  // lower-cased; empty when unparsable
    std::string boundary;
    bool has_boundary = false;
};

ContentType parse_content_type(std::string_view v) {
    ContentType ct;
    std::size_t i = 0, n = v.size();
    auto skip_ws = [&] {
        while (i < n && is_space(v[i])) ++i;
    };
    auto token_char = [](char c) { return !is_space(c) && c != ';' && c != '/' && c != '=' && c != '"'; };
    skip_ws();
    std::size_t b = i;
    while (i < n && token_char(v[i])) ++i;
    std::string type = to_lower(v.substr(b, i - b));
    skip_ws();
    if (i < n && v[i] == '/') {
        ++i;
        skip_ws();
        b = i;
        while (i < n && token_char(v[i])) ++i;
        std::string subtype = to_lower(v.substr(b, i - b));
        if (!type.empty() && !subtype.empty()) {
            ct.type = std::move(type);
            ct.subtype = std::move(subtype);
        }
    }
    // parameters: [;] name = (token | "quoted"), leniently (missing ';' tolerated)
    while (i < n) {
        while (i < n && (is_space(v[i]) || v[i] == ';')) ++i;
        b = i;
        while (i < n && !is_space(v[i]) && v[i] != ';' && v[i] != '=') ++i;
        std::string_view pname = v.substr(b, i - b);
        skip_ws();
        if (i >= n || v[i] != '=') {
            if (i < n && v[i] != ';' && i == b) ++i;  // stray character: always make progress
            continue;
        }
        ++i;  // '='
        skip_ws();
        std::string value;
        if (i < n && v[i] == '"') {
            ++i;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n) ++i;
                value += v[i++];
            }
            if (i < n) ++i;  // closing quote
        } else {
            b = i;
            while (i < n && !is_space(v[i]) && v[i] != ';') ++i;
            value.assign(v.substr(b, i - b));
        }
        if (!ct.has_boundary && iequals(pname, "boundary") && !value.empty()) {
            ct.boundary = std::move(value);
            ct.has_boundary = true;
        }
    }
    return ct;
}

// ---------------------------------------------------------------- MIME walk

std::string decode_transfer(std::string_view body, std::string_view encoding) {
    std::string_view enc = trim(encoding);
    if (iequals(enc, "base64")) return decode_base64(body);
    if (iequals(enc, "quoted-printable")) return decode_quoted_printable(body);
    return std::string(body);  // 7bit, 8bit, binary, unknown: as is
}

void append_part(std::string& body, std::string_view text) {
    if (text.empty()) return;
    if (!body.empty()) body += '\n';
    body.append(text);
}

bool looks_like_html(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size() && i < 4096 && is_space(s[i])) ++i;
    std::string_view rest = s.substr(std::min(i, s.size()));
    return istarts_with(rest, "<html") || istarts_with(rest, "<!doctype");
}

// Is `line` a delimiter of boundary `delim` ("--" + boundary)? 1: open, 2: close, 0: no.
int delimiter_kind(std::string_view line, std::string_view delim) {
    if (line.size() < delim.size() || line.compare(0, delim.size(), delim) != 0) return 0;
    std::string_view rest = line.substr(delim.size());
    if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-') return 2;
    for (char c : rest)
        if (!is_space(c)) return 0;  // a longer boundary sharing this prefix
    return 1;
}

void walk(std::string_view entity, int depth, bool top, std::string* subject, std::vector<std::string>* names,
          std::string& body, std::string* from = nullptr,
          std::vector<std::pair<std::string, std::string>>* values = nullptr);
std::string received_words(std::string_view value);

// The parts of a multipart body; false when no delimiter line is found.
bool split_multipart(std::string_view body, std::string_view boundary, std::vector<std::string_view>& parts) {
    const std::string delim = "--" + std::string(boundary);
    std::size_t pos = 0;
    std::size_t part_start = std::string_view::npos;  // npos: still in the preamble
    bool found = false;
    while (pos < body.size()) {
        Line line = line_at(body, pos);
        int kind = line.text.size() >= delim.size() && line.text[0] == '-' ? delimiter_kind(line.text, delim) : 0;
        if (kind != 0) {
            found = true;
            if (part_start != std::string_view::npos) {
                // the line break before a delimiter belongs to the delimiter
                std::size_t end = pos;
                if (end > part_start && body[end - 1] == '\n') --end;
                if (end > part_start && body[end - 1] == '\r') --end;
                parts.push_back(body.substr(part_start, end - part_start));
            }
            if (kind == 2) return true;  // the epilogue is ignored
            part_start = line.next;
        }
        pos = line.next;
    }
    if (part_start != std::string_view::npos && part_start < body.size())  // no close delimiter
        parts.push_back(body.substr(part_start));
    return found;
}

// A boundary guessed from the first body line starting with "--" (when the parameter is missing).
std::string guess_boundary(std::string_view body) {
    std::size_t pos = 0;
    while (pos < body.size()) {
        Line line = line_at(body, pos);
        if (line.text.size() > 2 && line.text[0] == '-' && line.text[1] == '-') {
            std::string_view b = line.text.substr(2);
            while (!b.empty() && is_space(b.back())) b.remove_suffix(1);
            if (!b.empty() && !is_space(b[0])) return std::string(b);
        }
        pos = line.next;
    }
    return std::string();
}

void walk(std::string_view entity, int depth, bool top, std::string* subject, std::vector<std::string>* names,
          std::string& body, std::string* from, std::vector<std::pair<std::string, std::string>>* values) {
    if (depth > kMaxMimeDepth) return;
    Headers h = parse_headers(entity, top, names);
    if (values != nullptr)
        for (auto& [n, v] : h.values) values->emplace_back(n, n == "received" ? received_words(v) : decode_encoded_words(v));
    std::string_view content = entity.substr(h.body_start);
    if (subject != nullptr && h.has_subject) *subject = decode_encoded_words(h.subject);
    if (from != nullptr && h.has_from) *from = std::string(trim(decode_encoded_words(h.from)));
    ContentType ct;
    if (h.has_content_type) ct = parse_content_type(h.content_type);
    const bool typed = !ct.type.empty();

    if (typed && ct.type == "multipart") {
        std::string boundary = ct.has_boundary ? ct.boundary : guess_boundary(content);
        std::vector<std::string_view> parts;
        if (!boundary.empty() && split_multipart(content, boundary, parts)) {
            for (std::string_view part : parts) walk(part, depth + 1, false, nullptr, nullptr, body);
            return;
        }
        // no usable boundary: fall through and read the body as text/plain
    } else if (typed && ct.type == "message" && ct.subtype == "rfc822") {
        std::string inner_subject;
        std::string inner_body;
        const std::string decoded = decode_transfer(content, h.transfer_encoding);
        walk(decoded, depth + 1, true, &inner_subject, nullptr, inner_body);
        append_part(body, trim(inner_subject));
        append_part(body, inner_body);
        return;
    } else if (typed && !(ct.type == "text" && (ct.subtype == "plain" || ct.subtype == "html"))) {
        return;  // images, attachments, signatures, other text/* subtypes
    }
    std::string text = decode_transfer(content, h.transfer_encoding);
    bool html = typed ? ct.subtype == "html" : (top && !h.has_content_type && looks_like_html(text));
    if (html) text = strip_html(text);
    append_part(body, text);
}

// ---------------------------------------------------------------- HTML

bool tag_is_inline(std::string_view name) {
    static constexpr std::array<std::string_view, 18> kInline = {
        "a",    "abbr", "b",      "big",    "em",  "font", "i",  "s",  "small",
        "span", "strike", "strong", "sub", "sup", "tt",   "u",  "ins", "del"};
    for (std::string_view t : kInline)
        if (iequals(name, t)) return true;
    return false;
}

struct NamedEntity {
    std::string_view name;
    std::uint32_t cp;
    bool legacy;  // also recognised without the ';'
};
constexpr std::array<NamedEntity, 22> kEntities = {{
    {"amp", '&', true},       {"lt", '<', true},        {"gt", '>', true},        {"quot", '"', true},
    {"apos", '\'', false},    {"nbsp", ' ', true},      {"copy", 0xA9, true},     {"reg", 0xAE, true},
    {"trade", 0x2122, false}, {"euro", 0x20AC, false},  {"pound", 0xA3, false},   {"cent", 0xA2, false},
    {"mdash", 0x2014, false}, {"ndash", 0x2013, false}, {"hellip", 0x2026, false}, {"bull", 0x2022, false},
    {"lsquo", 0x2018, false}, {"rsquo", 0x2019, false}, {"ldquo", 0x201C, false}, {"rdquo", 0x201D, false},
    {"laquo", 0xAB, false},   {"raquo", 0xBB, false},
}};

// Decodes the character reference at s[i] == '&'; returns the length consumed (0: not one).
std::size_t decode_entity(std::string_view s, std::size_t i, std::string& out) {
    std::size_t n = s.size(), j = i + 1;
    if (j < n && s[j] == '#') {
        ++j;
        bool hex = j < n && (s[j] == 'x' || s[j] == 'X');
        if (hex) ++j;
        std::uint32_t cp = 0;
        std::size_t digits = 0;
        while (j < n && (hex ? hex_value(s[j]) >= 0 : is_digit(s[j]))) {
            if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + static_cast<std::uint32_t>(hex ? hex_value(s[j]) : s[j] - '0');
            ++j;
            ++digits;
        }
        if (digits == 0) return 0;
        if (j < n && s[j] == ';') ++j;
        bool bad = cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp < 32 && cp != '\t' && cp != '\n') ||
                   (cp >= 0x7F && cp < 0xA0) || cp == 0xA0;
        if (bad)
            out += ' ';
        else
            append_utf8(out, cp);
        return j - i;
    }
    std::size_t b = j;
    while (j < n && j - b < 8 && is_alnum(s[j])) ++j;
    std::string_view name = s.substr(b, j - b);
    bool semicolon = j < n && s[j] == ';';
    if (semicolon)
        for (const NamedEntity& e : kEntities)
            if (iequals(name, e.name)) {
                append_utf8(out, e.cp);
                return j - i + 1;
            }
    // legacy references also work without ';', as a prefix ("&nbspx" -> " x"), as in HTML5
    for (const NamedEntity& e : kEntities)
        if (e.legacy && istarts_with(name, e.name)) {
            append_utf8(out, e.cp);
            return 1 + e.name.size();
        }
    return 0;
}

// Position just past the next '>' at or after i, or npos.
std::size_t after_gt(std::string_view s, std::size_t i) {
    std::size_t gt = s.find('>', i);
    return gt == std::string_view::npos ? gt : gt + 1;
}

// Position of "</name" (case-insensitive) at or after i, or npos.
std::size_t find_closing(std::string_view s, std::size_t i, std::string_view name) {
    while (i < s.size()) {
        std::size_t lt = s.find("</", i);
        if (lt == std::string_view::npos) return lt;
        if (istarts_with(s.substr(lt + 2), name)) return lt;
        i = lt + 2;
    }
    return std::string_view::npos;
}

// Parses the RFC 2047 encoded word "=?charset?E?text?=" at s[i]; on success appends its decoded
// bytes to out, sets end past it and returns true.
bool parse_encoded_word(std::string_view s, std::size_t i, std::size_t& end, std::string& out) {
    const std::size_t n = s.size();
    if (!(i + 1 < n && s[i] == '=' && s[i + 1] == '?')) return false;
    std::size_t q1 = s.find('?', i + 2);
    if (q1 == std::string_view::npos || q1 == i + 2 || q1 + 2 >= n || s[q1 + 2] != '?') return false;
    const char enc = lower(s[q1 + 1]);
    if (enc != 'b' && enc != 'q') return false;
    const std::size_t text_start = q1 + 3;
    const std::size_t q2 = s.find('?', text_start);
    if (q2 == std::string_view::npos || q2 + 1 >= n || s[q2 + 1] != '=') return false;
    for (std::size_t k = i + 2; k < q2; ++k)
        if (is_space(s[k])) return false;
    const std::string_view text = s.substr(text_start, q2 - text_start);
    if (enc == 'b') {
        out += decode_base64(text);
    } else {
        for (std::size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '_') {
                out += ' ';
            } else if (text[k] == '=' && k + 2 < text.size() && hex_value(text[k + 1]) >= 0 &&
                       hex_value(text[k + 2]) >= 0) {
                out += static_cast<char>(hex_value(text[k + 1]) * 16 + hex_value(text[k + 2]));
                k += 2;
            } else {
                out += text[k];
            }
        }
    }
    end = q2 + 2;
    return true;
}

// ---------------------------------------------------------------- tokens

// Separator code points in UTF-8 (U+00A0, U+2000..U+202F) at s[i]: their byte length, else 0.
inline std::size_t utf8_separator(std::string_view s, std::size_t i) {
    auto u = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    if (u(i) == 0xC2 && i + 1 < s.size() && u(i + 1) == 0xA0) return 2;
    if (u(i) == 0xE2 && i + 2 < s.size() && u(i + 1) == 0x80 && u(i + 2) >= 0x80 && u(i + 2) <= 0xAF) return 3;
    return 0;
}
inline bool is_rsquo(std::string_view s, std::size_t i) {  // U+2019
    return i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
           static_cast<unsigned char>(s[i + 2]) == 0x99;
}
// A word byte at s[i] (not a separator sequence)?
inline bool word_at(std::string_view s, std::size_t i) {
    if (i >= s.size()) return false;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return is_alnum(static_cast<char>(c));
    return utf8_separator(s, i) == 0;
}

// Calls f(token) for each token of text; the view is only valid during the call.
template <class F>
void for_each_token(std::string_view s, std::string& buf, F&& f) {
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        if (!word_at(s, i)) {
            std::size_t sep = static_cast<unsigned char>(s[i]) >= 0x80 ? utf8_separator(s, i) : 0;
            i += sep != 0 ? sep : 1;
            continue;
        }
        buf.clear();
        bool too_long = false;
        while (i < n) {
            if (word_at(s, i)) {
                if (buf.size() < kMaxTokenBytes)
                    buf += lower(s[i]);
                else
                    too_long = true;
                ++i;
                continue;
            }
            // an apostrophe between two word bytes stays in the token, as '
            std::size_t alen = s[i] == '\'' ? 1 : (is_rsquo(s, i) ? 3 : 0);
            if (alen != 0 && word_at(s, i + alen)) {
                if (buf.size() < kMaxTokenBytes)
                    buf += '\'';
                else
                    too_long = true;
                i += alen;
                continue;
            }
            break;
        }
        if (!too_long && !buf.empty()) f(std::string_view(buf));
    }
}

// The protocols a Received header names: the token after each "with" ("with ESMTP id ...",
// "with QMQP;", "with Microsoft SMTPSVC", "with HTTP"), lower-cased, joined by single spaces;
// tokens with a digit are dropped. Which software relayed a message, and how, is signal (bulk
// mailers forge odd chains); the rest of the header is not used: its hosts mostly say which
// mailbox collected the message (in a corpus: which folder it came from), its ids and dates are
// noise. tokenize gives the words back unchanged; never longer than value (each kept token keeps
// or loses bytes, and the "with" before it and its separators are gone).
std::string received_words(std::string_view value) {
    std::string out, buf;
    bool after_with = false;
    for_each_token(value, buf, [&](std::string_view t) {
        const bool keep = after_with && std::none_of(t.begin(), t.end(), [](char c) { return is_digit(c); });
        after_with = t == "with";
        if (!keep) return;
        if (!out.empty()) out += ' ';
        out.append(t);
    });
    return out;
}

using tapegrad::io::fnv1a64;

// Calls unigram(prefix, tok) / bigram(prefix, prev, tok) in feature order for one field.
template <class U, class B>
void for_each_feature(std::string_view text, std::string_view prefix, std::string& buf, std::string& prev,
                      U&& unigram, B&& bigram) {
    bool have_prev = false;
    for_each_token(text, buf, [&](std::string_view tok) {
        unigram(prefix, tok);
        if (have_prev) bigram(prefix, std::string_view(prev), tok);
        prev.assign(tok);
        have_prev = true;
    });
}

}  // namespace

// ---------------------------------------------------------------- decoders

std::string decode_quoted_printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n; ++i) {
        char c = s[i];
        if (c != '=') {
            out += c;
            continue;
        }
        if (i + 2 < n && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
            continue;
        }
        // soft line break: '=' [spaces/tabs] (CRLF | LF | end of input)
        std::size_t j = i + 1;
        while (j < n && is_wsp(s[j])) ++j;
        if (j == n) {
            i = n;
            break;
        }
        if (s[j] == '\n') {
            i = j;
            continue;
        }
        if (s[j] == '\r' && (j + 1 == n || s[j + 1] == '\n')) {
            i = j + 1 < n ? j + 1 : j;
            continue;
        }
        out += '=';  // not an escape: keep it
    }
    return out;
}

std::string decode_base64(std::string_view s) {
    static const std::array<signed char, 256> table = [] {
        std::array<signed char, 256> t{};
        t.fill(-1);
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int k = 0; k < 64; ++k) t[static_cast<unsigned char>(alphabet[k])] = static_cast<signed char>(k);
        t[static_cast<unsigned char>('-')] = 62;  // base64url, harmless here
        t[static_cast<unsigned char>('_')] = 63;
        return t;
    }();
    std::string out;
    out.reserve(s.size() / 4 * 3 + 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : s) {
        if (c == '=') {  // end of a quantum
            acc = 0;
            bits = 0;
            continue;
        }
        int v = table[c];
        if (v < 0) continue;
        acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xFFFFFFu;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

std::string decode_encoded_words(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const std::size_t n = s.size();
    std::size_t i = 0;
    bool after_word = false;  // the last thing appended was an encoded word
    while (i < n) {
        std::size_t end = 0;
        if (parse_encoded_word(s, i, end, out)) {
            i = end;
            after_word = true;
            continue;
        }
        if (after_word && is_space(s[i])) {
            std::size_t j = i;
            while (j < n && is_space(s[j])) ++j;
            std::string scratch;
            std::size_t end2 = 0;
            // whitespace between two encoded words is dropped, anywhere else kept
            if (!(j < n && parse_encoded_word(s, j, end2, scratch))) out.append(s.substr(i, j - i));
            i = j;
            after_word = false;
            continue;
        }
        out += s[i++];
        after_word = false;
    }
    return out;
}

std::string strip_html(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        char c = s[i];
        if (c == '&') {
            std::size_t used = decode_entity(s, i, out);
            if (used == 0) {
                out += '&';
                ++i;
            } else {
                i += used;
            }
            continue;
        }
        if (c != '<') {
            out += c;
            ++i;
            continue;
        }
        char d = i + 1 < n ? s[i + 1] : '\0';
        if (!(is_alpha(d) || d == '/' || d == '!' || d == '?')) {  // "a < b": text
            out += '<';
            ++i;
            continue;
        }
        if (s.substr(i, 4) == "<!--") {
            std::size_t end = s.find("-->", i + 4);
            i = end == std::string_view::npos ? n : end + 3;
            continue;
        }
        std::size_t j = i + 1;
        bool closing = j < n && s[j] == '/';
        if (closing) ++j;
        std::size_t name_start = j;
        while (j < n && (is_alnum(s[j]) || s[j] == '-' || s[j] == ':')) ++j;
        std::string_view name = s.substr(name_start, j - name_start);
        std::size_t end = after_gt(s, j);
        if (end == std::string_view::npos) break;  // unterminated tag: drop the rest
        if (!closing && (iequals(name, "script") || iequals(name, "style")) && s[end - 2] != '/') {
            std::size_t close = find_closing(s, end, name);
            if (close == std::string_view::npos) break;  // unterminated script: drop the rest
            end = after_gt(s, close + 2);
            if (end == std::string_view::npos) break;
        }
        if (!tag_is_inline(name)) out += ' ';
        i = end;
    }
    return out;
}

// ---------------------------------------------------------------- public API

Email parse_email(std::string_view raw) {
    Email e;
    walk(raw, 0, true, &e.subject, &e.header_names, e.body, &e.from, &e.header_values);
    e.subject = std::string(trim(e.subject));
    return e;
}

std::vector<std::string> tokenize(std::string_view text) {
    std::vector<std::string> tokens;
    std::string buf;
    for_each_token(text, buf, [&](std::string_view t) { tokens.emplace_back(t); });
    return tokens;
}

std::vector<std::string> feature_strings(const Email& e) {
    std::vector<std::string> out;
    std::string buf, prev;
    auto uni = [&](std::string_view prefix, std::string_view t) {
        std::string f;
        f.reserve(prefix.size() + t.size());
        f.append(prefix).append(t);
        out.push_back(std::move(f));
    };
    auto bi = [&](std::string_view prefix, std::string_view a, std::string_view b) {
        std::string f;
        f.reserve(prefix.size() + a.size() + 1 + b.size());
        f.append(prefix).append(a).append(1, ' ').append(b);
        out.push_back(std::move(f));
    };
    for_each_feature(e.subject, "s:", buf, prev, uni, bi);
    for (const auto& n : e.header_names) uni("h:", n);
    for (const auto& [n, v] : e.header_values) {
        const std::string prefix = n + ":";
        for_each_token(v, buf, [&](std::string_view t) { uni(prefix, t); });
    }
    for_each_feature(e.body, "", buf, prev, uni, bi);
    return out;
}

std::vector<std::int64_t> hashed_features(const Email& e, std::size_t buckets) {
    if (buckets == 0 || buckets > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))
        throw ValueError("hashed_features: buckets must be in [1, 2^63 - 1], got " + std::to_string(buckets));
    std::vector<std::int64_t> out;
    std::string buf, prev;
    const std::uint64_t nb = buckets;
    auto uni = [&](std::string_view prefix, std::string_view t) {
        out.push_back(static_cast<std::int64_t>(fnv1a64(t, fnv1a64(prefix)) % nb));
    };
    auto bi = [&](std::string_view prefix, std::string_view a, std::string_view b) {
        std::uint64_t h = fnv1a64(a, fnv1a64(prefix));
        h = fnv1a64(" ", h);
        out.push_back(static_cast<std::int64_t>(fnv1a64(b, h) % nb));
    };
    for_each_feature(e.subject, "s:", buf, prev, uni, bi);
    for (const auto& n : e.header_names) uni("h:", n);
    for (const auto& [n, v] : e.header_values) {
        const std::string prefix = n + ":";
        for_each_token(v, buf, [&](std::string_view t) { uni(prefix, t); });
    }
    for_each_feature(e.body, "", buf, prev, uni, bi);
    return out;
}

}  // namespace spam_filter
