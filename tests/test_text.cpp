// Text corpora: the one-folder-per-class reader, email parsing (MIME, encodings, HTML), the
// tokenizer and the hashed features.
#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "email.hpp"
#include <tapegrad/io/fnv.hpp>
#include "corpus.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using spam_filter::Email;
using Strings = std::vector<std::string>;

namespace {

using test_util::TempDir;

void write_file(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    f << bytes;
    if (!f) throw std::runtime_error("cannot write " + p.string());
}

template <class F>
std::string io_error_of(F&& f) {
    try {
        f();
    } catch (const tapegrad::IOError& e) {
        return e.what();
    }
    return "(no IOError thrown)";
}

bool any_contains(const Strings& v, const std::string& a, const std::string& b) {
    for (const auto& s : v)
        if (s.find(a) != std::string::npos && s.find(b) != std::string::npos) return true;
    return false;
}

// Words of a text, for checks that should not depend on whitespace.
Strings words(const std::string& s) { return spam_filter::tokenize(s); }
bool has_word(const std::string& s, const std::string& w) {
    for (const auto& t : words(s))
        if (t == w) return true;
    return false;
}

std::string spamassassin_cache() {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    std::string base = (xdg != nullptr && *xdg != '\0') ? xdg : std::string(home != nullptr ? home : "") + "/.cache";
    return base + "/tapegrad/spam-assassin";
}

}  // namespace

// ------------------------------------------------------------------ tokenizer and hashing

TEST_CASE("fnv1a64 gives the FNV-1a 64-bit reference values", "[text]") {
    using tapegrad::io::fnv1a64;
    CHECK(fnv1a64("") == 0xcbf29ce484222325ull);
    CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cull);
    CHECK(fnv1a64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("tokenize: lower-cased runs of letters and digits, inner apostrophes, 1..40 bytes", "[text]") {
    using spam_filter::tokenize;
    CHECK(tokenize("Hello, WORLD! It's 42 o'clock.") == Strings{"hello", "world", "it's", "42", "o'clock"});
    CHECK(tokenize("'quoted' rock''n x") == Strings{"quoted", "rock", "n", "x"});
    CHECK(tokenize("e-mail foo_bar a.b $100 me@x.com") ==
          Strings{"e", "mail", "foo", "bar", "a", "b", "100", "me", "x", "com"});
    CHECK(tokenize("").empty());
    CHECK(tokenize(" \t\r\n!?.,;:'\"").empty());
    // UTF-8 passes through; U+00A0 and U+2000..U+202F separate; U+2019 is an apostrophe
    CHECK(tokenize("Caf\xC3\xA9 NA\xC3\xAFVE") == Strings{"caf\xC3\xA9", "na\xC3\xAFve"});
    CHECK(tokenize("a\xC2\xA0" "b") == Strings{"a", "b"});
    CHECK(tokenize("\xE2\x80\x9Chi\xE2\x80\x9D \xE2\x80\x94 there\xE2\x80\xA6") == Strings{"hi", "there"});
    CHECK(tokenize("Don\xE2\x80\x99t") == Strings{"don't"});
    // length: 40 bytes kept, 41 dropped (not cut)
    const std::string a40(40, 'a'), b41(41, 'b');
    CHECK(tokenize("x " + a40 + " " + b41 + " y") == Strings{"x", a40, "y"});
    CHECK(tokenize(std::string(39, 'c') + "'d e").size() == 1);  // 41 bytes with the apostrophe: dropped
    // NUL and control bytes are separators
    CHECK(tokenize(std::string("ab\0cd", 5)) == Strings{"ab", "cd"});
}

TEST_CASE("feature_strings and hashed_features: subject and body unigrams and bigrams", "[text]") {
    using namespace spam_filter;
    using tapegrad::io::fnv1a64;
    Email e;
    e.subject = "Win CASH";
    e.body = "Click here, now!";
    const Strings expected = {"s:win", "s:cash", "s:win cash", "click", "here", "click here", "now", "here now"};
    CHECK(feature_strings(e) == expected);
    for (std::size_t buckets : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 18, std::size_t{1} << 40}) {
        const std::vector<std::int64_t> h = hashed_features(e, buckets);
        REQUIRE(h.size() == expected.size());
        for (std::size_t i = 0; i < h.size(); ++i) {
            CHECK(h[i] == static_cast<std::int64_t>(fnv1a64(expected[i]) % buckets));
            CHECK(h[i] >= 0);
            CHECK(static_cast<std::size_t>(h[i]) < buckets);
        }
    }
    CHECK(hashed_features(e) == hashed_features(e, 1 << 18));
    // the subject's "win" and the body's "win" are different features
    Email f;
    f.body = "win";
    CHECK(hashed_features(f) != std::vector<std::int64_t>{hashed_features(e)[0]});
    CHECK(hashed_features(Email{}).empty());
    CHECK(feature_strings(Email{}).empty());
    Email only_punct;
    only_punct.subject = "!!!";
    only_punct.body = "...";
    CHECK(hashed_features(only_punct).empty());
    CHECK_THROWS_AS(hashed_features(e, 0), tapegrad::ValueError);
    // a single token: a unigram, no bigram
    Email one;
    one.body = "Hi";
    CHECK(feature_strings(one) == Strings{"hi"});
}

// ------------------------------------------------------------------ decoders

TEST_CASE("decode_quoted_printable: escapes, soft line breaks, stray '='", "[text]") {
    using spam_filter::decode_quoted_printable;
    CHECK(decode_quoted_printable("caf=C3=A9 a=3Db =3d") == "caf\xC3\xA9 a=b =");
    CHECK(decode_quoted_printable("soft=\r\nbreak and=\nmore, spaces= \t\r\nafter") == "softbreak andmore, spacesafter");
    CHECK(decode_quoted_printable("not=ZZ 100=% end=") == "not=ZZ 100=% end");
    CHECK(decode_quoted_printable("=") == "");
    CHECK(decode_quoted_printable("=4") == "=4");
}

TEST_CASE("decode_base64: lenient about line breaks, junk and padding", "[text]") {
    using spam_filter::decode_base64;
    CHECK(decode_base64("SGVsbG8gV29ybGQ=") == "Hello World");
    CHECK(decode_base64("SGVs\r\nbG8g\nV29y bGQ=\n") == "Hello World");
    CHECK(decode_base64("SGk=SGk=") == "HiHi");
    CHECK(decode_base64("S*G!k") == "Hi");
    CHECK(decode_base64("").empty());
    CHECK(decode_base64("====").empty());
    CHECK(decode_base64("Q").empty());  // 6 bits: no byte
}

TEST_CASE("decode_encoded_words: RFC 2047 B and Q words", "[text]") {
    using spam_filter::decode_encoded_words;
    CHECK(decode_encoded_words("=?utf-8?B?SGVsbG8=?= =?UTF-8?Q?W=C3=B6rld_again?=") == "HelloW\xC3\xB6rld again");
    CHECK(decode_encoded_words("Re: =?iso-8859-1?q?caf=E9?= ok") == "Re: caf\xE9 ok");
    CHECK(decode_encoded_words("=?utf-8?B?YQ==?=\r\n =?utf-8?B?Yg==?=") == "ab");  // folded: ws dropped
    CHECK(decode_encoded_words("=?broken =?x?Z?abc?= =?utf-8?Q?open") == "=?broken =?x?Z?abc?= =?utf-8?Q?open");
    CHECK(decode_encoded_words("plain subject") == "plain subject");
    CHECK(decode_encoded_words("=?a?q?x?= y") == "x y");
}

TEST_CASE("strip_html: tags, entities, script and style", "[text]") {
    using spam_filter::strip_html;
    CHECK(words(strip_html("<html><head><title>T</title><style>p { color: red }</style></head>"
                           "<body><p>Fish &amp; chips &lt;now&gt;</p><script type=\"x\">var hidden = 1;</script>"
                           "<br/>A&nbsp;B &quot;q&quot; &#86;&#x49;AGRA</body></html>")) ==
          Strings{"t", "fish", "chips", "now", "a", "b", "q", "viagra"});
    CHECK(strip_html("V<b></b>ia<!-- x -->gra") == "Viagra");  // inline tags and comments join
    CHECK(strip_html("a<br>b") == "a b");
    CHECK(strip_html("1 < 2 & 3 > 2") == "1 < 2 & 3 > 2");
    CHECK(strip_html("x &amp y &nbspz &foo; &#0; &#xD800;") == "x & y  z &foo;    ");
    CHECK(strip_html("ok <a href=\"x") == "ok ");  // unterminated tag: rest dropped
    CHECK(strip_html("ok <SCRIPT>evil()") == "ok ");
    CHECK(strip_html("<STYLE>x</Style>y") == " y");
    CHECK(strip_html("&#169;&copy;") == "\xC2\xA9\xC2\xA9");
}

// ------------------------------------------------------------------ parse_email

TEST_CASE("parse_email: headers apart, mbox line, unfolding, plain body", "[text]") {
    const std::string raw =
        "From someone@example.com  Tue Aug  6 11:51:02 2002\n"
        "Return-Path: <a@b.c>\n"
        "Received: from mx.example.com (mx [1.2.3.4])\n"
        "\tby relay.example.com with ESMTP id XYZZY\n"
        "Message-ID: <123@example.com>\n"
        "Date: Fri, 02 Aug 2002 23:37:59 +0100\n"
        "Subject: Folded\n"
        "  subject line\n"
        "subject: second subject ignored\n"
        "\n"
        "Hello there.\n";
    const Email e = spam_filter::parse_email(raw);
    CHECK(e.subject == "Folded  subject line");
    CHECK(e.body == "Hello there.\n");
    CHECK(e.header_names == Strings{"return-path", "received", "message-id", "date", "subject", "subject"});
    CHECK(!has_word(e.body + " " + e.subject, "esmtp"));
    // Received: unfolded, only the protocol after "with" (on the continuation line here); Message-ID
    // and Date: no value at all
    using Values = std::vector<std::pair<std::string, std::string>>;
    CHECK(e.header_values == Values{{"return-path", " <a@b.c>"}, {"received", "esmtp"}});
    const Email r = spam_filter::parse_email(
        "Received: from [137.155.98.192] by f64.law4.hotmail.com with QMQP;\n"
        "    Jul, 19 2002 8:55:21 AM -0700\n"
        "Received: (qmail 1234 invoked by uid 500); Mon, 5 Aug 2002 01:02:03 EDT\n"
        "Received: from a with Microsoft SMTPSVC(5.0.2195.4905) with HTTP; with\n"
        "Received: by b with smtp2 id 7; with\tLMTP\n\nx\n");
    CHECK(r.header_values == Values{{"received", "qmqp"}, {"received", ""}, {"received", "microsoft http"},
                                    {"received", "lmtp"}});
    // CRLF line ends
    const Email c = spam_filter::parse_email("Subject: hi\r\nX-A: b\r\n\r\nbody\r\n");
    CHECK(c.subject == "hi");
    CHECK(c.body == "body\r\n");
    CHECK(c.header_names == Strings{"subject", "x-a"});
    // no blank line: all headers, no body
    CHECK(spam_filter::parse_email("Subject: only headers").body.empty());
    // a line that is not a header starts the body
    CHECK(spam_filter::parse_email("Subject: s\nnot a header line\nmore").body == "not a header line\nmore");
}

TEST_CASE("parse_email: quoted-printable body with soft line breaks and =3D", "[text]") {
    const Email e = spam_filter::parse_email(
        "Subject: qp\n"
        "Content-Type: text/plain; charset=\"utf-8\"\n"
        "Content-Transfer-Encoding: Quoted-Printable\n"
        "\n"
        "This is a very long line that was wr=\n"
        "apped by the mailer; 2 + 2 =3D 4 and caf=C3=A9.\n");
    CHECK(e.body == "This is a very long line that was wrapped by the mailer; 2 + 2 = 4 and caf\xC3\xA9.\n");
}

TEST_CASE("parse_email: base64 text part and HTML part", "[text]") {
    // "Cheap meds, buy now!\n" in base64, split over two lines
    const Email b = spam_filter::parse_email(
        "Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nQ2hlYXAgbWVkcywg\nYnV5IG5vdyEK\n");
    CHECK(b.body == "Cheap meds, buy now!\n");
    const Email h = spam_filter::parse_email(
        "Content-Type: text/html; charset=us-ascii\n\n"
        "<html><head><script>document.write('tracking')</script><style>.a{}</style></head>"
        "<body><h1>Hot&nbsp;deals</h1><p>Save 50% &amp; more &lt;today&gt;</p></body></html>\n");
    CHECK(words(h.body) == Strings{"hot", "deals", "save", "50", "more", "today"});
    CHECK(h.body.find('<') != std::string::npos);  // the decoded &lt; (text, not a tag)
    CHECK(h.body.find("tracking") == std::string::npos);
    // HTML without Content-Type at the top level is still recognised
    CHECK(words(spam_filter::parse_email("Subject: x\n\n<HTML><body>hi<br>there</body></HTML>").body) ==
          Strings{"hi", "there"});
}

TEST_CASE("parse_email: multipart/alternative nested in multipart/mixed, attachment skipped", "[text]") {
    const std::string raw =
        "Subject: =?utf-8?B?U3BlY2lhbA==?= =?UTF-8?Q?_offer_f=C3=BCr_you?=\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed;\n"
        "\tboundary=\"==outer==\"\n"
        "\n"
        "This is the preamble, not shown.\n"
        "--==outer==\n"
        "Content-Type: multipart/alternative; boundary=inner\n"
        "\n"
        "--inner\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "Plain version, price =3D 10=\n"
        "0 dollars.\n"
        "--inner\n"
        "Content-Type: text/html\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        // "<p>HTML <b>version</b> &amp; more</p>"
        "PHA+SFRNTCA8Yj52ZXJzaW9uPC9iPiAmYW1wOyBtb3JlPC9wPg==\n"
        "--inner--\n"
        "inner epilogue, not shown\n"
        "--==outer==\n"
        "Content-Type: application/octet-stream; name=\"secret.bin\"\n"
        "Content-Disposition: attachment; filename=\"secret.bin\"\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "U0VDUkVUQVRUQUNITUVOVA==\n"  // SECRETATTACHMENT
        "--==outer==\n"
        "Content-Type: image/png\n"
        "\n"
        "imagebytes\n"
        "--==outer==--\n"
        "Epilogue, not shown.\n";
    const Email e = spam_filter::parse_email(raw);
    CHECK(e.subject == "Special offer f\xC3\xBCr you");
    CHECK(words(e.body) == Strings{"plain", "version", "price", "100", "dollars", "html", "version", "more"});
    CHECK(e.body.find("SECRET") == std::string::npos);
    CHECK(e.body.find("imagebytes") == std::string::npos);
    CHECK(e.header_names == Strings{"subject", "mime-version", "content-type"});
    CHECK(spam_filter::feature_strings(e).front() == "s:special");
}

TEST_CASE("parse_email: message/rfc822 parts, missing and wrong boundaries", "[text]") {
    const Email fwd = spam_filter::parse_email(
        "Content-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nSee below.\n"
        "--b\nContent-Type: message/rfc822\n\nSubject: Inner subject\nReceived: x\n\nInner body.\n"
        "--b--\n");
    CHECK(words(fwd.body) == Strings{"see", "below", "inner", "subject", "inner", "body"});
    // boundary parameter missing: guessed from the first "--" line
    const Email guessed = spam_filter::parse_email(
        "Content-Type: multipart/alternative\n\n--XYZ\nContent-Type: text/plain\n\nguessed\n--XYZ\n"
        "Content-Type: image/gif\n\nGIF89a\n--XYZ--\n");
    CHECK(words(guessed.body) == Strings{"guessed"});
    // boundary that never occurs: the body is read as text
    const Email wrong = spam_filter::parse_email("Content-Type: multipart/mixed; boundary=nope\n\njust text\n");
    CHECK(words(wrong.body) == Strings{"just", "text"});
    // missing close delimiter: the last part runs to the end
    const Email open = spam_filter::parse_email(
        "Content-Type: multipart/mixed; boundary=\"q\"\n\n--q\n\nfirst\n--q\nContent-Type: text/plain\n\nsecond");
    CHECK(words(open.body) == Strings{"first", "second"});
    // a boundary that is a prefix of a longer line is not a delimiter
    const Email prefix = spam_filter::parse_email(
        "Content-Type: multipart/mixed; boundary=ab\n\n--ab\n\nx\n--abc\ny\n--ab--\n");
    CHECK(words(prefix.body) == Strings{"x", "abc", "y"});
    // garbled Content-Type: text/plain
    CHECK(words(spam_filter::parse_email("Content-Type: ;;;=\"\n\nstill text").body) == Strings{"still", "text"});
    CHECK(words(spam_filter::parse_email("Content-Type: text/plain charset=us-ascii\n\nok").body) == Strings{"ok"});
}

TEST_CASE("parse_email: deep nesting is bounded, garbage never crashes", "[text]") {
    // 200 nested multiparts, each with its own boundary, text at the bottom: parsed, bottom dropped
    std::string deep;
    const int levels = 200;
    for (int i = 0; i < levels; ++i)
        deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
    deep += "Content-Type: text/plain\n\ndeepest\n";
    for (int i = levels - 1; i >= 0; --i) deep += "--b" + std::to_string(i) + "--\n";
    Email e;
    REQUIRE_NOTHROW(e = spam_filter::parse_email(deep));
    CHECK(e.body.find("deepest") == std::string::npos);
    // the same with fewer levels than the limit: found
    std::string shallow;
    for (int i = 0; i < 5; ++i)
        shallow += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
    shallow += "Content-Type: text/plain\n\ndeepest\n";
    CHECK(has_word(spam_filter::parse_email(shallow).body, "deepest"));

    // random mutations of a MIME email, and random bytes: no exception, bounded output
    const std::string seed_mail =
        "Subject: =?utf-8?B?SGk=?= =?x?Q?a=4\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\n"
        "Content-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>a=3D&#1234;<script>x</script>=\n"
        "--b\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\nSGVsbG8=\n--b\n"
        "Content-Type: message/rfc822\n\nSubject: in\n\nbody\n--b--\n";
    const std::string alphabet = "-=?<>&#;:\n\r \tb\"aB/\\";
    std::mt19937 rng(12345);
    for (int it = 0; it < 3000; ++it) {
        std::string s = seed_mail;
        const int edits = 1 + static_cast<int>(rng() % 8);
        for (int k = 0; k < edits && !s.empty(); ++k) {
            std::size_t pos = rng() % s.size();
            switch (rng() % 4) {
                case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
                case 1: s.erase(pos, 1 + rng() % 10); break;
                case 2: s.insert(pos, 1, static_cast<char>(rng() % 256)); break;
                default: s.insert(pos, s.substr(rng() % s.size(), rng() % 40)); break;
            }
        }
        if (it % 3 == 0) {
            s.resize(rng() % 300);
            for (char& c : s) c = static_cast<char>(rng() % 256);
        }
        Email m;
        REQUIRE_NOTHROW(m = spam_filter::parse_email(s));
        CHECK(m.body.size() <= 4 * s.size() + 16);
        REQUIRE_NOTHROW(spam_filter::hashed_features(m));
    }
    // a huge single line
    const std::string huge(1 << 20, 'x');
    CHECK(spam_filter::parse_email("Subject: " + huge + "\n\n" + huge).body.size() == huge.size());
}

// ------------------------------------------------------------------ load_text_folders

TEST_CASE("load_text_folders: classes, split, skipped files", "[text]") {
    using spam_filter::load_text_folders;
    TempDir dir;
    const fs::path root = dir.path;
    // beta: 7 good documents -> indices 0 and 5 in the test set
    for (int i = 0; i < 7; ++i) write_file(root / "beta" / ("doc" + std::to_string(i)), "beta " + std::to_string(i));
    // alpha: good, empty, binary, dangling symlink, directory, good, good, and a hidden file
    write_file(root / "alpha" / "a0", "alpha zero");
    write_file(root / "alpha" / "a1", "");
    write_file(root / "alpha" / "a2", std::string("bin\0ary", 7));
    fs::create_symlink(root / "alpha" / "no-such-target", root / "alpha" / "a3");
    fs::create_directories(root / "alpha" / "a4");
    write_file(root / "alpha" / "a5", "alpha five");
    write_file(root / "alpha" / "a6", "alpha six");
    write_file(root / "alpha" / ".hidden", "ignored");
    // gamma: one document; a file at the root and a hidden folder are not classes
    write_file(root / "gamma" / "g0", "gamma");
    write_file(root / "README", "not a class");
    write_file(root / ".git" / "x", "not a class");
    // a NUL after the first 8 KiB is not binary
    write_file(root / "gamma" / "g1", std::string(8192, 'z') + std::string(1, '\0'));
    const bool root_user = ::geteuid() == 0;
    if (!root_user) {
        write_file(root / "gamma" / "g2", "locked");
        fs::permissions(root / "gamma" / "g2", fs::perms::none);
    }

    const spam_filter::TextCorpus c = load_text_folders(root.string());
    CHECK(c.class_names == Strings{"alpha", "beta", "gamma"});
    const std::size_t expected_skipped = root_user ? 4 : 5;
    CHECK(c.skipped == expected_skipped);
    CHECK(c.warnings.size() == expected_skipped);
    REQUIRE(c.texts.size() == 3 + 7 + 2);
    REQUIRE(c.labels.size() == c.texts.size());
    REQUIRE(c.paths.size() == c.texts.size());
    REQUIRE(c.is_test.size() == c.texts.size());
    const std::string a = (root / "alpha").string() + "/", b = (root / "beta").string() + "/",
                      g = (root / "gamma").string() + "/";
    const Strings paths = {a + "a0",   a + "a5",   a + "a6",   b + "doc0", b + "doc1", b + "doc2",
                           b + "doc3", b + "doc4", b + "doc5", b + "doc6", g + "g0",   g + "g1"};
    CHECK(c.paths == paths);
    CHECK(c.labels == std::vector<std::int64_t>{0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2});
    // index in the sorted listing of its folder divisible by 5 (skipped entries keep their index)
    CHECK(c.is_test == std::vector<bool>{true, true, false, true, false, false, false, false, true, false, true, false});
    CHECK(c.texts[0] == "alpha zero");
    CHECK(c.texts[4] == "beta 1");
    CHECK(c.texts[11].size() == 8193);
    CHECK(any_contains(c.warnings, a + "a1", "empty"));
    CHECK(any_contains(c.warnings, a + "a2", "binary"));
    CHECK(any_contains(c.warnings, a + "a3", "cannot open"));
    CHECK(any_contains(c.warnings, a + "a4", "directory"));
    if (!root_user)
        CHECK(any_contains(c.warnings, g + "g2", "cannot open"));
    else
        WARN("running as root: the chmod-000 sub-check is skipped (root reads it anyway)");

    // folder_to_class: several folders per class, unlisted folders ignored, missing ones warned about
    const spam_filter::TextCorpus m =
        load_text_folders(root.string(), {{"alpha", "x"}, {"gamma", "x"}, {"beta", "y"}, {"missing", "w"}});
    CHECK(m.class_names == Strings{"w", "x", "y"});
    REQUIRE(m.texts.size() == 12);
    CHECK(m.labels == std::vector<std::int64_t>{1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 1, 1});
    CHECK(any_contains(m.warnings, (root / "missing").string(), "not found"));
    const spam_filter::TextCorpus only = load_text_folders(root.string(), {{"beta", "b"}});
    CHECK(only.class_names == Strings{"b"});
    CHECK(only.texts.size() == 7);
    CHECK(only.skipped == 0);

    // truncation
    const spam_filter::TextCorpus t = load_text_folders(root.string(), {{"beta", "b"}}, 4);
    CHECK(t.texts[0] == "beta");
    CHECK(t.warnings.size() == 7);
    CHECK(any_contains(t.warnings, b + "doc0", "truncated"));
    const spam_filter::TextCorpus exact = load_text_folders(root.string(), {{"beta", "b"}}, 6);
    CHECK(exact.texts[0] == "beta 0");
    CHECK(exact.warnings.empty());
    CHECK_THROWS_AS(load_text_folders(root.string(), {}, 0), tapegrad::ValueError);

    // bad roots
    CHECK_THAT(io_error_of([&] { load_text_folders((root / "nope").string()); }),
               Contains("load_text_folders") && Contains((root / "nope").string()) && Contains("does not exist"));
    CHECK_THAT(io_error_of([&] { load_text_folders((root / "README").string()); }),
               Contains((root / "README").string()) && Contains("not a directory"));
    fs::create_directories(root / "empty");
    CHECK_THAT(io_error_of([&] { load_text_folders((root / "empty").string()); }),
               Contains((root / "empty").string()) && Contains("no class folders"));
    CHECK_THAT(io_error_of([&] { load_text_folders(root.string(), {{"missing", "w"}}); }),
               Contains(root.string()) && Contains("missing"));
    CHECK_THAT(io_error_of([&] { load_text_folders(""); }), Contains("does not exist"));
}

TEST_CASE("load_text_folders + parse_email on the SpamAssassin corpus", "[text]") {
    const std::string root = spamassassin_cache();
    if (!fs::exists(root + "/.complete")) {
        WARN("SKIPPED: " << root << " not found (run third_party/fetch-spamassassin.sh)");
        return;
    }
    using namespace spam_filter;
    using tapegrad::io::fnv1a64;
    const auto t0 = std::chrono::steady_clock::now();
    const TextCorpus c = load_text_folders(root, spamassassin_classes());
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(c.class_names == Strings{"ham", "spam"});
    std::size_t per_class[2] = {0, 0}, tests = 0;
    for (std::size_t i = 0; i < c.texts.size(); ++i) {
        per_class[c.labels[i]]++;
        tests += c.is_test[i];
    }
    for (const auto& w : c.warnings) WARN(w);
    // 2500 + 1400 + 250 ham, 500 + 1396 spam; the package ships each email as .txt (raw, kept) and
    // .json (dropped by the fetch script), so the folders of the package hold twice as many files
    CHECK(c.skipped == 0);
    CHECK(per_class[0] == 4150);
    CHECK(per_class[1] == 1896);
    // one in five of each folder: 500 + 280 + 50 + 100 + 280
    CHECK(tests == 1210);

    // hashed_features is feature_strings hashed, on real emails too
    for (std::size_t i = 0; i < c.texts.size(); i += 97) {
        const Email e = parse_email(c.texts[i]);
        const Strings fs_ = feature_strings(e);
        const std::vector<std::int64_t> h = hashed_features(e, 1000);
        REQUIRE(h.size() == fs_.size());
        for (std::size_t j = 0; j < h.size(); ++j)
            REQUIRE(h[j] == static_cast<std::int64_t>(fnv1a64(fs_[j]) % 1000));
    }

    const auto t1b = std::chrono::steady_clock::now();
    std::size_t features = 0, empty = 0, bytes = 0;
    for (const auto& text : c.texts) {
        const Email e = parse_email(text);
        const std::vector<std::int64_t> f = hashed_features(e);
        features += f.size();
        empty += f.empty();
        bytes += text.size();
    }
    const auto t2 = std::chrono::steady_clock::now();
    const double load_s = std::chrono::duration<double>(t1 - t0).count();
    const double parse_s = std::chrono::duration<double>(t2 - t1b).count();
    WARN("SpamAssassin: " << c.texts.size() << " emails (" << per_class[0] << " ham, " << per_class[1] << " spam, "
                          << tests << " test), " << c.skipped << " skipped, " << bytes / 1e6 << " MB; load "
                          << load_s << " s, parse+tokenize+hash " << parse_s << " s, " << features
                          << " features, " << empty << " emails without tokens");
    CHECK(empty == 0);
    // The times are printed, never asserted: a timed unit test fails on a loaded machine (5.2 s
    // under AddressSanitizer beside two compiles) and proves nothing on a quiet one.
}
