// The spam filter example on a toy corpus the test writes: train_spam_filter, run as a process, learns,
// explains, saves and predicts; its library's parts (features, evaluation, the report's numbers) are
// checked in process against what the program printed and saved.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "example_programs.hpp"
#include "model.hpp"
#include "report.hpp"
#include "temp_dir.hpp"
#include <tapegrad/io/npz.hpp>
#include <tapegrad/train/checkpoint.hpp>

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

// train_spam_filter on a toy corpus folder: its status and output (skipped when not built)
test_programs::ProgramRun spam_program(const std::vector<std::string>& args, const fs::path& scratch) {
    return test_programs::run_program(test_programs::example_binary("train_spam_filter"), args, scratch);
}
std::vector<std::string> toy_args(const fs::path& root, const std::string& buckets, const std::string& dim,
                                  const std::string& epochs) {
    return {"--data", root.string(), "--any-folders", "--buckets", buckets, "--dim", dim, "--epochs", epochs, "--quiet"};
}
template <class... More> std::vector<std::string> plus(std::vector<std::string> a, More... more) {
    (a.push_back(more), ...);
    return a;
}
}  // namespace

TEST_CASE("the spam filter learns a toy corpus, explains itself, and predicts from a saved model", "[spam]") {
    const fs::path root = toy_corpus(60);
    test_util::TempDir scratch;  // the program's captured output
    auto tc = spam_filter::load_text_folders(root.string());
    REQUIRE(tc.class_names == std::vector<std::string>{"ham", "spam"});
    spam_filter::Corpus corpus = spam_filter::featurize(tc, 1 << 12);
    CHECK(corpus.test.labels.size() == 24);  // indices 0, 5, 10, … of each folder's 60
    const std::string save = (root / "model.npz").string();
    const auto run = spam_program(plus(toy_args(root, "4096", "8", "3"), "--top-features", "5", "--save", save), scratch.path);
    REQUIRE(run.code == 0);
    std::ostringstream out;
    out << run.out;
    INFO(run.out << run.err);
    CHECK_THAT(out.str(), Contains("final test accuracy 1.0000") && Contains("spam: precision") &&
                              Contains("(of 48 ham, 48 spam)") &&
                              Contains("features pushing hardest towards 'spam' (gap ") &&
                              Contains("features pushing hardest towards 'ham' (gap ") &&
                              !Contains("misclassified test emails"));
    // Each list holds that class's own words, each with its score, push and training-email counts
    // per class; "the", in a quarter of the words of both classes, is a stop word and in neither.
    const std::string text = out.str();
    const std::vector<std::string> ham_words = {"meeting", "patch", "kernel", "review", "tomorrow",
                                                "build", "thanks", "release", "bug", "list"};
    const std::vector<std::string> spam_words = {"free", "money", "offer", "winner", "click",
                                                 "cash", "prize", "credit", "cheap", "viagra"};
    auto rows = [&](const std::string& cls) {  // the feature rows under "towards '<cls>'"
        std::vector<std::vector<std::string>> out_rows;
        std::istringstream in(text.substr(text.find("towards '" + cls + "'")));
        std::string line;
        std::getline(in, line);  // heading
        std::getline(in, line);  // column names
        CHECK_THAT(line, Contains("feature") && Contains("score") && Contains("push") && Contains("ham") && Contains("spam"));
        while (std::getline(in, line) && line.size() > 4 && line[4] == '.') {
            std::istringstream ls(line);
            std::vector<std::string> cols;
            for (std::string w; ls >> w;) cols.push_back(w);
            out_rows.push_back(cols);
        }
        return out_rows;
    };
    for (const std::string cls : {"ham", "spam"}) {
        const auto r = rows(cls);
        REQUIRE(r.size() == 5);  // o.top_tokens
        const auto& own = cls == "spam" ? spam_words : ham_words;
        std::size_t own_words = 0;
        double last_score = 1e300;
        for (const auto& cols : r) {
            INFO(cls << ": " << cols[1]);
            // rank, feature (one or two words, maybe prefixed), score, push, ham count, spam count
            REQUIRE(cols.size() >= 6);
            const std::size_t n = cols.size();
            const double score = std::stod(cols[n - 4]), push = std::stod(cols[n - 3]);
            const long in_ham = std::stol(cols[n - 2]), in_spam = std::stol(cols[n - 1]);
            CHECK(score > 0);
            CHECK(score <= last_score);  // best first
            last_score = score;
            CHECK(push > 0);
            // at least twice as frequent in its class (the toy's training set has 48 emails of each)
            CHECK((cls == "spam" ? in_spam >= 2 * in_ham : in_ham >= 2 * in_spam));
            CHECK((cls == "spam" ? in_spam : in_ham) > 0);
            CHECK(in_ham + in_spam >= 3);
            for (std::size_t k = 1; k + 4 < n; ++k) CHECK(cols[k] != "the");
            for (std::size_t k = 1; k + 4 < n; ++k)
                for (const auto& w : own) own_words += cols[k].find(w) != std::string::npos;
        }
        CHECK(own_words >= 3);
    }

    // The scores are shares of a gap: summed over all buckets they give the difference between the
    // mean spam − ham log-odds of the spam and of the ham training emails, computed here directly.
    tapegrad::Generator g0(0);
    spam_filter::FastText model(1 << 12, 8, 2, g0);
    tapegrad::train::load_model(save, model);
    std::vector<double> gaps;
    const auto scores = spam_filter::feature_scores(model, corpus, 1000, &gaps);
    {
        tapegrad::NoGradGuard ng;
        std::vector<std::size_t> order(corpus.train.labels.size());
        std::iota(order.begin(), order.end(), std::size_t(0));
        xt::xarray<std::int64_t> ids, off, y;
        xt::xarray<float> w;
        spam_filter::make_batch(corpus.train, order, 0, order.size(), ids, off, y, w);
        const auto logits = model.forward(ids, off, w).value();
        double mean[2] = {0, 0};
        std::size_t n[2] = {0, 0};
        for (std::size_t i = 0; i < order.size(); ++i) {
            mean[y(i)] += double(logits(i, 1)) - double(logits(i, 0));
            ++n[y(i)];
        }
        const double gap = mean[1] / double(n[1]) - mean[0] / double(n[0]);
        CHECK(gap > 1);
        CHECK(gaps[1] == Approx(gap).epsilon(1e-3));
        CHECK(gaps[0] == Approx(gap).epsilon(1e-3));  // two classes: ham's gap is the same one
    }
    // every listed bucket is counted right: the training emails of each class that contain it
    for (std::size_t cls = 0; cls < 2; ++cls)
        for (const auto& fs : scores[cls]) {
            std::size_t df[2] = {0, 0};
            for (std::size_t i = 0; i < corpus.train.features.size(); ++i) {
                const auto& f = corpus.train.features[i];
                df[corpus.train.labels[i]] += std::find(f.begin(), f.end(), fs.bucket) != f.end();
            }
            CHECK(fs.docs == std::vector<std::size_t>{df[0], df[1]});
        }
    // a test set whose labels are all wrong: every email is listed as a mistake, with its logits
    spam_filter::Dataset flipped = corpus.test;
    for (auto& label : flipped.labels) label = 1 - label;
    spam_filter::Mistakes mistakes;
    CHECK(spam_filter::evaluate(model, flipped, nullptr, &mistakes).accuracy == 0.0);
    REQUIRE(mistakes.size() == flipped.labels.size());
    for (std::size_t i = 0; i < mistakes.size(); ++i) {
        CHECK(mistakes[i].first == i);
        REQUIRE(mistakes[i].second.size() == 2);
        CHECK((mistakes[i].second[1] > mistakes[i].second[0]) == (corpus.test.labels[i] == 1));
    }

    // --predict: the class, its probability and log-odds, which agree with each other
    const std::string ham = (root / "ham" / "1001.txt").string(), spam = (root / "spam" / "1002.txt").string();
    const auto predicted = spam_program({"--predict", ham, spam, "--model", save}, scratch.path);
    CHECK(predicted.code == 0);
    CHECK_THAT(predicted.out, Contains(ham + ": ham (p=") && Contains(spam + ": spam (p=") && Contains(", log-odds +"));
    {
        std::istringstream in(predicted.out);
        for (std::string line; std::getline(in, line);) {
            INFO(line);
            const auto p_at = line.find("(p=") + 3, lo_at = line.find("log-odds ") + 9;
            const double lo = std::stod(line.substr(lo_at));
            CHECK(lo > 0);
            const std::string p = line.substr(p_at, line.find(',', p_at) - p_at);
            CHECK(p == spam_filter::format_probability(lo + 0.0));
        }
    }
    // a missing file is reported and counted, the rest still classified
    const auto missing = spam_program({"--predict", (root / "nope.txt").string(), ham, "--model", save}, scratch.path);
    CHECK(missing.code == 2);
    CHECK_THAT(missing.err, Contains("cannot classify") && Contains("nope.txt") && Contains("No such file"));
    CHECK_THAT(missing.out, Contains(": ham (p="));
    // wrong class count, and a file that is not a spam model
    const auto three = spam_program({"--predict", ham, "--model", save, "--classes", "a", "b", "c"}, scratch.path);
    CHECK(three.code == 2);
    CHECK_THAT(three.err, Contains("the model has 2 classes, but 3 class names were given"));
    std::ofstream(root / "junk.npz") << "junk";
    const auto junk = spam_program({"--predict", ham, "--model", (root / "junk.npz").string()}, scratch.path);
    CHECK(junk.code == 2);
    CHECK_THAT(junk.err, Contains("load_npz"));
    fs::remove_all(root);
}

TEST_CASE("spam filter: stop and resume give the same model as a straight run", "[spam]") {
    const fs::path root = toy_corpus(30);
    test_util::TempDir scratch;
    const auto args = toy_args(root, "1024", "4", "3");
    const std::string straight = (root / "straight.npz").string(), ck = (root / "ck.npz").string();
    REQUIRE(spam_program(plus(args, "--save", straight), root).code == 0);
    REQUIRE(spam_program(plus(args, "--save", ck, "--stop-after", "1"), root).code == 0);
    const auto resumed = spam_program(plus(args, "--save", ck, "--resume", ck), scratch.path);
    REQUIRE(resumed.code == 0);
    CHECK_THAT(resumed.out, Contains("resumed from " + ck + " after epoch 1"));
    auto a = tapegrad::io::load_npz(straight), b = tapegrad::io::load_npz(ck);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].first.find("seconds") == std::string::npos) CHECK(a[i].second.bytes == b[i].second.bytes);
    // a resume with another setting that shapes the run is refused, naming it
    const auto other = spam_program(plus(toy_args(root, "1024", "4", "3"), "--lr", "0.25", "--resume", ck), scratch.path);
    CHECK(other.code == 2);
    CHECK_THAT(other.err, Contains("--resume: the checkpoint was made with --lr 0.5, this run has --lr 0.25"));
    fs::remove_all(root);
}

TEST_CASE("spam filter: probabilities near 1 keep their digits, log-odds are exact", "[spam]") {
    using spam_filter::format_probability;
    using spam_filter::log_odds;
    CHECK(format_probability(0.0) == "0.5000");
    CHECK(format_probability(std::log(0.98 / 0.02)) == "0.9800");
    CHECK(format_probability(std::log((1 - 1.3e-5) / 1.3e-5)) == "0.999987");  // not 1.0000
    CHECK(format_probability(std::log((1 - 2.5e-3) / 2.5e-3)) == "0.9975");
    CHECK(format_probability(20.0) == "1 - 2.1e-09");   // 1 − p = e^−20 / (1 + e^−20)
    CHECK(format_probability(40.0) == "1 - 4.2e-18");   // far below float's and double's 1 − ε
    CHECK(format_probability(-20.0) == "2.1e-09");
    CHECK(format_probability(std::log(0.02 / 0.98)) == "0.0200");
    CHECK(format_probability(std::numeric_limits<double>::infinity()) == "1");  // a single class
    CHECK(format_probability(-std::numeric_limits<double>::infinity()) == "0");
    CHECK(format_probability(std::nan("")) == "nan");
    CHECK(log_odds({0.0, 30.0}, 1) == 30.0);
    CHECK(log_odds({0.0, 30.0}, 0) == -30.0);
    CHECK(log_odds({1.0, 1.0, 1.0}, 2) == Approx(-std::log(2.0)));  // p = 1/3 against 2/3
    CHECK(log_odds({500.0, -500.0}, 0) == 1000.0);                  // no overflow
    CHECK(spam_filter::describe_prediction({0.0, 40.0}, {"ham", "spam"}) == "spam (p=1 - 4.2e-18, log-odds +40.00)");
    CHECK(spam_filter::describe_prediction({2.0, -1.0}, {"ham", "spam"}) == "ham (p=0.9526, log-odds +3.00)");
}

TEST_CASE("spam filter: tf-idf weights are sublinear in tf and L2-normalised per field", "[spam]") {
    // bucket 3 four times, bucket 5 once; idf 1 and 2
    spam_filter::Dataset d;
    d.features = {{3, 5, 3, 3, 3}};
    std::vector<float> idf(8, 1.0f);
    idf[5] = 2.0f;
    spam_filter::set_weights(d, idf);
    REQUIRE(d.weights.size() == 1);
    const auto& w = d.weights[0];
    REQUIRE(w.size() == 5);
    const double x3 = double(w[0]) + w[2] + w[3] + w[4], x5 = w[1];  // the bag's value per bucket
    CHECK(w[0] == w[2]);
    CHECK(x3 / x5 == Approx((1 + std::log(4.0)) / 2.0));  // (1 + ln tf)·idf, not tf·idf (which gives 2)
    CHECK(x3 * x3 + x5 * x5 == Approx(1.0));
    spam_filter::Dataset empty;
    empty.features = {{}};
    spam_filter::set_weights(empty, idf);
    CHECK(empty.weights[0].empty());

    // two fields, each normalised on its own: headers {1, 2}, body {3, 3, 3, 3, 5}
    spam_filter::Dataset two;
    two.features = {{1, 2, 3, 3, 3, 3, 5}};
    two.header_features = {2};
    spam_filter::set_weights(two, idf);
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
    spam_filter::Dataset added;
    added.add(e, 1 << 10, 1, "mail");
    CHECK(added.header_features == std::vector<std::size_t>{4});  // s:cheap, s:pills, s:cheap pills, h:x-mailer
    CHECK(added.features[0] == spam_filter::hashed_features(e, 1 << 10));
    CHECK(added.features[0].size() == 7);
    CHECK(added.labels == std::vector<std::int64_t>{1});
}

TEST_CASE("spam filter: --graph draws the first step's graph, its sparse gradient without densifying it", "[spam][viz]") {
    const fs::path root = toy_corpus(30);
    test_util::TempDir scratch;
    const auto args = toy_args(root, "1024", "4", "2");
    const std::string svg = (root / "step.svg").string(), with = (root / "with.npz").string(),
                      without = (root / "without.npz").string();
    const auto run = spam_program(plus(args, "--graph", svg, "--save", with), scratch.path);
    INFO(run.out << run.err);
    REQUIRE(run.code == 0);
    std::ifstream f(svg);
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK_THAT(text, Contains("<svg") && Contains("embedding_bag") && Contains("row&#45;sparse, ") && Contains("cross_entropy"));
    // the step that was drawn trained as any other: the same model as a run without --graph
    REQUIRE(spam_program(plus(args, "--save", without), scratch.path).code == 0);
    test_programs::check_same_checkpoints(with, without);
    fs::remove_all(root);
}
