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
