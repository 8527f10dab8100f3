// The spam filter example on a toy corpus the test writes: it learns, explains, saves and predicts.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../examples/spam_classifier.hpp"

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {
// Two classes with different vocabularies, in email form (headers, a QP or HTML part now and then).
fs::path toy_corpus(std::size_t per_class) {
    fs::path root = fs::temp_directory_path() / ("tapegrad_spam_" + std::to_string(::getpid()));
    fs::remove_all(root);
    tapegrad::Generator g(7);
    const char* ham_words[] = {"meeting", "patch", "kernel", "review", "tomorrow", "build", "thanks", "release", "bug", "list"};
    const char* spam_words[] = {"free", "money", "offer", "winner", "click", "cash", "prize", "credit", "cheap", "viagra"};
    for (int cls = 0; cls < 2; ++cls) {
        fs::path dir = root / (cls ? "spam" : "ham");
        fs::create_directories(dir);
        for (std::size_t i = 0; i < per_class; ++i) {
            std::ostringstream m;
            const char** words = cls ? spam_words : ham_words;
            m << "From: someone" << i << "@example.org\nTo: you@example.org\nSubject: " << words[g.randint(10)] << " "
              << words[g.randint(10)] << "\n";
            if (i % 3 == 0) m << "Content-Type: text/html\n";
            m << "\n";
            if (i % 3 == 0) m << "<html><body><p>";
            for (int k = 0; k < 30; ++k) m << (g.randint(4) == 0 ? "the " : "") << words[g.randint(10)] << ' ';
            if (i % 3 == 0) m << "</p></body></html>";
            m << "\n";
            std::ofstream(dir / (std::to_string(1000 + i) + ".txt")) << m.str();
        }
    }
    return root;
}
}  // namespace

TEST_CASE("the spam filter learns a toy corpus, explains itself, and predicts from a saved model", "[spam]") {
    const fs::path root = toy_corpus(60);
    auto tc = spam_filter::load_text_folders(root.string());
    REQUIRE(tc.class_names == std::vector<std::string>{"ham", "spam"});
    spam_classifier::Corpus corpus = spam_classifier::featurize(tc, 1 << 12);
    CHECK(corpus.test.labels.size() == 24);  // indices 0, 5, 10, … of each folder's 60
    spam_classifier::Options o;
    o.buckets = 1 << 12;
    o.dim = 8;
    o.epochs = 3;
    o.quiet = true;
    o.top_tokens = 5;
    o.save = (root / "model.npz").string();
    std::ostringstream out, err;
    REQUIRE(spam_classifier::train(o, corpus, out, err) == 0);
    INFO(out.str() << err.str());
    CHECK_THAT(out.str(), Contains("final test accuracy 1.0000") && Contains("spam: precision") &&
                              Contains("features pushing hardest towards 'spam'"));
    // the words that push towards spam are spam words
    const std::string text = out.str();
    const auto at = text.find("towards 'spam'");
    CHECK((text.find("money", at) != std::string::npos || text.find("free", at) != std::string::npos ||
           text.find("cash", at) != std::string::npos || text.find("prize", at) != std::string::npos ||
           text.find("offer", at) != std::string::npos));

    std::ostringstream pout, perr;
    const std::string ham = (root / "ham" / "1001.txt").string(), spam = (root / "spam" / "1002.txt").string();
    CHECK(spam_classifier::predict(o.save, {ham, spam}, {"ham", "spam"}, pout, perr) == 0);
    CHECK_THAT(pout.str(), Contains(ham + ": ham (p=") && Contains(spam + ": spam (p="));
    // a missing file is reported and counted, the rest still classified
    std::ostringstream p2, e2;
    CHECK(spam_classifier::predict(o.save, {(root / "nope.txt").string(), ham}, {"ham", "spam"}, p2, e2) == 2);
    CHECK_THAT(e2.str(), Contains("cannot read"));
    CHECK_THAT(p2.str(), Contains(": ham (p="));
    // wrong class count, and a file that is not a spam model
    std::ostringstream p3, e3;
    CHECK(spam_classifier::predict(o.save, {ham}, {"a", "b", "c"}, p3, e3) == 2);
    std::ofstream(root / "junk.npz") << "junk";
    CHECK(spam_classifier::predict((root / "junk.npz").string(), {ham}, {"ham", "spam"}, p3, e3) == 2);
    fs::remove_all(root);
}

TEST_CASE("spam filter: stop and resume give the same model as a straight run", "[spam]") {
    const fs::path root = toy_corpus(30);
    auto corpus = spam_classifier::featurize(spam_filter::load_text_folders(root.string()), 1 << 10);
    spam_classifier::Options o;
    o.buckets = 1 << 10;
    o.dim = 4;
    o.epochs = 3;
    o.quiet = true;
    std::ostringstream out, err;
    o.save = (root / "straight.npz").string();
    REQUIRE(spam_classifier::train(o, corpus, out, err) == 0);
    o.save = (root / "ck.npz").string();
    o.stop_after = 1;
    REQUIRE(spam_classifier::train(o, corpus, out, err) == 0);
    o.stop_after = 0;
    o.resume = o.save;
    REQUIRE(spam_classifier::train(o, corpus, out, err) == 0);
    auto a = tapegrad::io::load_npz((root / "straight.npz").string()), b = tapegrad::io::load_npz(o.save);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].first.find("seconds") == std::string::npos) CHECK(a[i].second.bytes == b[i].second.bytes);
    fs::remove_all(root);
}

TEST_CASE("spam filter: tf-idf weights are sublinear in tf and L2-normalised per field", "[spam]") {
    // bucket 3 four times, bucket 5 once; idf 1 and 2
    spam_classifier::Dataset d;
    d.features = {{3, 5, 3, 3, 3}};
    std::vector<float> idf(8, 1.0f);
    idf[5] = 2.0f;
    spam_classifier::set_weights(d, idf);
    REQUIRE(d.weights.size() == 1);
    const auto& w = d.weights[0];
    REQUIRE(w.size() == 5);
    const double x3 = double(w[0]) + w[2] + w[3] + w[4], x5 = w[1];  // the bag's value per bucket
    CHECK(w[0] == w[2]);
    CHECK(x3 / x5 == Approx((1 + std::log(4.0)) / 2.0));  // (1 + ln tf)·idf, not tf·idf (which gives 2)
    CHECK(x3 * x3 + x5 * x5 == Approx(1.0));
    spam_classifier::Dataset empty;
    empty.features = {{}};
    spam_classifier::set_weights(empty, idf);
    CHECK(empty.weights[0].empty());

    // two fields, each normalised on its own: headers {1, 2}, body {3, 3, 3, 3, 5}
    spam_classifier::Dataset two;
    two.features = {{1, 2, 3, 3, 3, 3, 5}};
    two.header_features = {2};
    spam_classifier::set_weights(two, idf);
    const auto& v = two.weights[0];
    CHECK(v[0] == Approx(1 / std::sqrt(2.0)));
    CHECK(v[1] == Approx(1 / std::sqrt(2.0)));
    const double y3 = double(v[2]) + v[3] + v[4] + v[5], y5 = v[6];
    CHECK(y3 == Approx(x3));  // the body alone, as above
    CHECK(y5 == Approx(x5));

    // Dataset::add splits where hashed_features' header features end
    spam_filter::Email e;
    e.subject = "cheap pills";
    e.header_names = {"x-mailer"};
    e.body = "buy now";
    spam_classifier::Dataset added;
    added.add(e, 1 << 10, 1, "mail");
    CHECK(added.header_features == std::vector<std::size_t>{4});  // s:cheap, s:pills, s:cheap pills, h:x-mailer
    CHECK(added.features[0] == spam_filter::hashed_features(e, 1 << 10));
    CHECK(added.features[0].size() == 7);
    CHECK(added.labels == std::vector<std::int64_t>{1});
}
