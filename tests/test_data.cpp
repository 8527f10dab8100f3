// Data sets and loaders that own their data, random_split as torch, the factories without a
// generator, tensor()/from_blob, loss option structs, accuracy and the confusion matrix from
// predictions. References: tests/fixtures/data.json (tools/gen_data_fixtures.py, PyTorch 1.13).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <thread>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {
// x(i, j) = 10·i + j for i < n, j < 3, y(i) = i: every row says which sample it is.
xt::xarray<float> rows(std::size_t n) {
    xt::xarray<float> x = xt::xarray<float>::from_shape({n, 3});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < 3; ++j) x(i, j) = float(i * 10 + j);
    return x;
}
xt::xarray<std::int64_t> ids(std::size_t n) { return xt::arange<std::int64_t>(std::int64_t(n)); }

// Every row of the batch belongs to its label.
template <class X> void check_rows_travel_with_labels(const X& x, const xt::xarray<std::int64_t>& y) {
    REQUIRE(x.shape()[0] == y.size());
    for (std::size_t i = 0; i < y.size(); ++i)
        for (std::size_t j = 0; j < 3; ++j) CHECK(x(i, j) == float(y(i) * 10 + std::int64_t(j)));
}
}  // namespace

// ------------------------------------------------------------------------------ ownership

TEST_CASE("DataLoader over temporaries owns its data: it reads neither freed nor later-changed memory", "[data]") {
    // temporaries: under the old reference-keeping constructor these were dangling from here on
    data::DataLoader<float> loader(rows(10), ids(10), 4, /*shuffle=*/true, 7);
    std::vector<std::int64_t> seen;
    for (auto& [x, y] : loader) {
        check_rows_travel_with_labels(x.value(), y);
        seen.insert(seen.end(), y.begin(), y.end());
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

    // an lvalue is copied: changing (or destroying) the caller's array afterwards changes nothing
    auto heap = std::make_unique<xt::xarray<float>>(rows(6));
    auto labels = std::make_unique<xt::xarray<std::int64_t>>(ids(6));
    data::DataLoader<float> copied(*heap, *labels, 6);
    (*heap)(0, 0) = -1;
    heap.reset();
    labels.reset();
    xt::xarray<float> xb;
    xt::xarray<std::int64_t> yb;
    copied.begin_epoch();
    copied.batch(0, xb, yb);
    check_rows_travel_with_labels(xb, yb);

    // a TensorDataset shares its arrays with every copy, subset and loader made from it
    data::TensorDataset<float> ds(rows(5), ids(5));
    const float* storage = ds.inputs().data();
    data::DataLoader<float> shared(ds, 2);
    CHECK(shared.dataset().inputs().data() == storage);
    data::TensorDataset<float> moved_in;
    {
        xt::xarray<float> x = rows(3);
        const float* p = x.data();
        moved_in = data::TensorDataset<float>(std::move(x), ids(3));
        CHECK(moved_in.inputs().data() == p);  // moved, not copied
    }
    CHECK(moved_in.size() == 3);
    auto [x2, y2] = moved_in[2];
    CHECK((x2 == xt::xarray<float>{20, 21, 22}));
    CHECK(y2 == 2);
    CHECK_THROWS_WITH(moved_in[3], Contains("TensorDataset: index 3 is out of bounds for a data set of size 3"));
    CHECK_THROWS_WITH(data::TensorDataset<float>(rows(3), ids(4)),
                      Contains("TensorDataset: Size mismatch between tensors: inputs [3, 3], targets [4]"));
}

// --------------------------------------------------------------------------------- range-for

TEST_CASE("DataLoader range-for: the same batches as begin_epoch + batch, a new order per epoch, resumable", "[data]") {
    for (bool drop_last : {false, true}) {
        INFO("drop_last " << drop_last);
        data::DataLoader<float> a(rows(10), ids(10), 4, true, 3, drop_last), b(rows(10), ids(10), 4, true, 3, drop_last);
        std::vector<std::vector<std::int64_t>> epochs;
        xt::xarray<float> xb;
        xt::xarray<std::int64_t> yb;
        for (int epoch = 0; epoch < 3; ++epoch) {
            b.begin_epoch();
            std::size_t k = 0;
            std::vector<std::int64_t> order;
            for (auto& [x, y] : a) {
                REQUIRE(k < b.num_batches());
                b.batch(k++, xb, yb);
                CHECK((x.value() == xb));
                CHECK((y == yb));
                check_rows_travel_with_labels(x.value(), y);
                order.insert(order.end(), y.begin(), y.end());
            }
            CHECK(k == a.num_batches());
            CHECK(order.size() == (drop_last ? 8u : 10u));
            epochs.push_back(order);
        }
        CHECK(epochs[0] != epochs[1]);
        CHECK(epochs[1] != epochs[2]);
    }
    // resume: a loader whose generator state is restored continues with the same epochs
    data::DataLoader<float> a(rows(10), ids(10), 3, true, 11);
    for (auto& batch : a) (void)batch;  // epoch 1
    const std::string state = a.generator().state();
    std::vector<std::int64_t> next;
    for (auto& [x, y] : a) next.insert(next.end(), y.begin(), y.end());
    data::DataLoader<float> r(rows(10), ids(10), 3, true, 12345);
    r.generator().set_state(state);
    std::vector<std::int64_t> resumed;
    for (auto& [x, y] : r) resumed.insert(resumed.end(), y.begin(), y.end());
    CHECK(resumed == next);
    // not shuffling: 0..n-1 every epoch; the batch tensor is written in place (its version moves on)
    data::DataLoader<double> plain(xt::xarray<double>(rows(5)), ids(5), 2);
    std::uint64_t last_version = 0;
    std::vector<std::int64_t> order;
    for (auto& [x, y] : plain) {
        CHECK(x.version() > last_version);
        last_version = x.version();
        order.insert(order.end(), y.begin(), y.end());
    }
    CHECK(order == std::vector<std::int64_t>{0, 1, 2, 3, 4});
    // a batch somebody still holds is not overwritten by the next one
    std::vector<Tensor<double>> kept;
    for (auto& [x, y] : plain) kept.push_back(x);
    REQUIRE(kept.size() == 3);
    CHECK(kept[0].value()(1, 0) == 10);
    CHECK(kept[1].value()(1, 0) == 30);
    CHECK(kept[2].value()(0, 0) == 40);
    // … nor the input a graph saved: backward after the loop still works
    Tensor<double> w(xt::xarray<double>{1.0, 2.0, 3.0}, true);
    std::vector<Tensor<double>> losses;
    for (auto& [x, y] : plain) losses.push_back(sum(x * w));
    for (auto& l : losses) l.backward();
    CHECK(w.grad()(0) == 0 + 10 + 20 + 30 + 40);
    // an empty data set: no batch at all
    data::DataLoader<float> empty(xt::xarray<float>::from_shape({0, 3}), xt::xarray<std::int64_t>::from_shape({0}), 2, true);
    CHECK(empty.begin() == empty.end());
}

TEST_CASE("DataLoader on bytes: the byte map applies in range-for as in batch()", "[data]") {
    xt::xarray<std::uint8_t> px = xt::xarray<std::uint8_t>::from_shape({4, 2});
    for (std::size_t i = 0; i < px.size(); ++i) px.data()[i] = std::uint8_t(i * 30);
    data::DataLoader<float, std::uint8_t> l(px, ids(4), 4);
    std::array<float, 256> map{};
    for (std::size_t b = 0; b < 256; ++b) map[b] = float(b) * 2.0f - 1.0f;
    l.set_byte_map(map);
    for (auto& [x, y] : l)
        for (std::size_t i = 0; i < x.numel(); ++i) CHECK(x.value().data()[i] == float(i * 30) * 2.0f - 1.0f);
}

TEST_CASE("DataLoaderOptions give the loader the positional arguments give", "[data]") {
    data::TensorDataset<float> ds(rows(9), ids(9));
    data::DataLoader<float> a(ds, data::DataLoaderOptions(4).shuffle(true).seed(5).drop_last(true));
    data::DataLoader<float> b(ds, 4, true, 5, true);
    CHECK(a.num_batches() == 2);
    CHECK(a.batch_size() == 4);
    a.begin_epoch();
    b.begin_epoch();
    CHECK(a.order() == b.order());
    CHECK_THROWS_WITH(data::DataLoader<float>(ds, data::DataLoaderOptions(0)),
                      Contains("DataLoader: batch_size should be a positive integer value, but got batch_size=0"));
}

// ------------------------------------------------------------------------------ random_split

TEST_CASE("random_split: lengths from counts and fractions as torch 1.13, or its errors", "[data]") {
    const auto fx = fixture::load("data.json");
    REQUIRE(fx["random_split"].size() >= 10);
    for (const auto& c : fx["random_split"]) {
        const std::size_t n = c["n"];
        const std::vector<double> lengths = c["lengths"];
        INFO("n " << n << " lengths " << c["lengths"].dump());
        data::TensorDataset<float> ds(xt::xarray<float>(xt::zeros<float>({n, std::size_t(1)})), ids(n));
        Generator g(0);
        if (c.contains("error")) {
            CHECK_THROWS_WITH(data::random_split(ds, lengths, g), Contains(c["error"].get<std::string>()));
            CHECK_THROWS_AS(data::random_split_lengths(n, lengths), ValueError);
            continue;
        }
        const std::vector<std::size_t> want = c["result"];
        CHECK(data::random_split_lengths(n, lengths) == want);
        auto parts = data::random_split(ds, lengths, g);
        REQUIRE(parts.size() == want.size());
        std::vector<std::size_t> all;
        for (std::size_t k = 0; k < parts.size(); ++k) {
            CHECK(parts[k].size() == want[k]);
            all.insert(all.end(), parts[k].indices.begin(), parts[k].indices.end());
        }
        std::sort(all.begin(), all.end());
        std::vector<std::size_t> every(n);
        std::iota(every.begin(), every.end(), std::size_t(0));
        CHECK(all == every);  // disjoint and complete
    }
    CHECK_THROWS_WITH(data::random_split_lengths(10, {2.5, 7.5}), Contains("length at index 0 must be a non-negative integer"));
    CHECK_THROWS_WITH(data::random_split_lengths(10, {}), Contains("Sum of input lengths does not equal"));
}

TEST_CASE("random_split: deterministic from the generator, subsets feed loaders and split again", "[data]") {
    data::TensorDataset<float> ds(rows(20), ids(20));
    Generator g1(42), g2(42), g3(43);
    auto a = data::random_split(ds, {0.75, 0.25}, g1);
    auto b = data::random_split(ds, {0.75, 0.25}, g2);
    auto c = data::random_split(ds, {0.75, 0.25}, g3);
    CHECK(a[0].indices == b[0].indices);
    CHECK(a[0].indices != c[0].indices);
    CHECK(a[0].size() == 15);
    CHECK(a[0].dataset.inputs().data() == ds.inputs().data());  // shared, not copied
    // a loader over a subset yields exactly the subset's samples, rows with their labels
    data::DataLoader<float> train(a[0], 4, true, 1);
    std::set<std::int64_t> got;
    for (auto& [x, y] : train) {
        check_rows_travel_with_labels(x.value(), y);
        got.insert(y.begin(), y.end());
    }
    CHECK(got == std::set<std::int64_t>(a[0].indices.begin(), a[0].indices.end()));
    data::DataLoader<float> plain(a[1], 10);
    plain.begin_epoch();
    CHECK(plain.batch_indices(0) == std::vector<std::size_t>{0, 1, 2, 3, 4});  // positions in the subset
    // the subset of a subset indexes the original data set
    auto halves = data::random_split(a[1], {0.6, 0.4}, g1);
    CHECK(halves[0].size() == 3);
    for (std::size_t i : halves[0].indices)
        CHECK(std::find(a[1].indices.begin(), a[1].indices.end(), i) != a[1].indices.end());
    // Subset access and materialize
    auto [x0, y0] = a[1][0];
    CHECK(std::size_t(y0) == a[1].indices[0]);
    CHECK(x0(1) == float(y0 * 10 + 1));
    data::TensorDataset<float> m = a[1].materialize();
    CHECK(m.size() == 5);
    for (std::size_t k = 0; k < 5; ++k) CHECK(std::size_t(m.targets()(k)) == a[1].indices[k]);
    CHECK_THROWS_WITH(data::Subset<float>(ds, {3, 20}), Contains("Subset: index 20 (position 1) is out of bounds for a data set of size 20"));
    data::Subset<float> bad;
    bad.dataset = ds;
    bad.indices = {25};
    CHECK_THROWS_WITH(data::DataLoader<float>(bad, 2), Contains("DataLoader: subset index 25 is out of bounds"));
    // an empty subset is empty, not "all of the data set"
    data::Subset<float> none(ds, {});
    data::DataLoader<float> nl(none, 3);
    CHECK(nl.num_batches() == 0);
    CHECK(nl.dataset_size() == 0);
}

// -------------------------------------------------------------------------------- factories

TEST_CASE("tensor(shape, values) and from_blob copy, blob_view aliases", "[data]") {
    Tensor<float> t = tensor<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(t.shape() == Shape{2, 3});
    CHECK((t.value() == xt::xarray<float>{{1, 2, 3}, {4, 5, 6}}));
    CHECK(!t.requires_grad());
    Tensor<double> s = tensor<double>({}, {7}, /*requires_grad=*/true);
    CHECK(s.dim() == 0);
    CHECK(s.item() == 7);
    CHECK(s.requires_grad());
    CHECK(tensor<float>({0, 4}, {}).numel() == 0);
    CHECK_THROWS_AS(tensor<float>({2, 3}, {1, 2, 3, 4, 5}), ShapeError);
    CHECK_THROWS_WITH(tensor<float>({2, 3}, {1, 2, 3, 4, 5}), Equals("tensor: shape [2, 3] has 6 elements, but 5 values were given"));

    std::vector<double> mem{1, 2, 3, 4};
    Tensor<double> b = from_blob(mem.data(), {2, 2}, true);
    mem[0] = 100;  // a copy: the tensor does not see it
    CHECK(b.value()(0, 0) == 1);
    CHECK(b.requires_grad());
    sum(b * b).backward();
    CHECK((b.grad() == xt::xarray<double>{{2, 4}, {6, 8}}));
    mem.clear();
    mem.shrink_to_fit();  // freed: the tensor is unaffected
    CHECK(b.value()(1, 1) == 4);
    CHECK_THROWS_WITH(from_blob<float>(nullptr, {2}), Contains("from_blob: data is a null pointer but shape [2] has 2 elements"));
    CHECK(from_blob<float>(nullptr, {0}).numel() == 0);

    std::vector<float> raw{1, 2, 3, 4, 5, 6};
    auto view = blob_view(raw.data(), {3, 2});
    CHECK(view(2, 1) == 6);
    view(0, 0) = 10;  // writes through
    CHECK(raw[0] == 10);
    Tensor<float> from_view{xt::xarray<float>(view)};
    CHECK(from_view.value()(0, 0) == 10);
}

TEST_CASE("rand/randn/randint without a generator draw from the default one, manual_seed reseeds it", "[data]") {
    manual_seed(123);
    Tensor<double> a = randn<double>({3, 4}, /*requires_grad=*/true);
    Tensor<float> u = rand<float>({5});
    xt::xarray<std::int64_t> k = randint(-3, 4, {50});
    Generator g(123);  // the same stream from a generator of one's own
    CHECK((a.value() == randn<double>({3, 4}, g).value()));
    CHECK((u.value() == rand<float>({5}, g).value()));
    CHECK((k == randint(-3, 4, {50}, g)));
    CHECK(a.requires_grad());
    CHECK(std::all_of(k.begin(), k.end(), [](std::int64_t v) { return v >= -3 && v < 4; }));
    CHECK(std::set<std::int64_t>(k.begin(), k.end()).size() == 7);  // 50 draws hit all 7 values
    manual_seed(123);
    CHECK((randn<double>({3, 4}).value() == a.value()));  // reseeding repeats the stream
    xt::xarray<std::int64_t> k2 = randint(5, {4, 2});
    CHECK(k2.shape()[0] == 4);
    CHECK(std::all_of(k2.begin(), k2.end(), [](std::int64_t v) { return v >= 0 && v < 5; }));
    xt::xarray<std::int64_t> wide = randint(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(), {8});
    CHECK(wide.size() == 8);
    CHECK_THROWS_WITH(randint(5, 5, {1}), Contains("random_ expects 'from' to be less than 'to', but got from=5 >= to=5"));
    CHECK_THROWS_AS(randint(0, {3}), ValueError);

    // the default-generator forms lock: 4 threads × 500 draws consume exactly 2000 normals
    manual_seed(7);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
        ts.emplace_back([] {
            for (int i = 0; i < 500; ++i) randn<double>({1});
        });
    for (auto& t : ts) t.join();
    Generator ref(7);
    for (int i = 0; i < 2000; ++i) ref.normal();
    CHECK(default_generator().state() == ref.state());
}

// ------------------------------------------------------------------------------ loss options

TEST_CASE("CrossEntropyOptions and NLLLossOptions give torch's numbers and exactly the positional forms'", "[data]") {
    const auto fx = fixture::load("data.json");
    std::size_t n = 0;
    for (const auto& c : fx["loss_options"]) {
        const bool f32 = c["dtype"] == "float32";
        INFO(c["dtype"].get<std::string>() << " reduction " << c["reduction"].get<std::string>() << " ignore_index "
                                           << c["ignore_index"].get<std::int64_t>() << " label_smoothing "
                                           << c["label_smoothing"].get<double>());
        const auto y = fixture::int_array(c["target"]);
        const Reduction red = reduction_from_string(c["reduction"]);
        const std::int64_t ii = c["ignore_index"];
        const double ls = c["label_smoothing"];
        const double tol = f32 ? 1e-5 : 1e-12;
        auto run = [&](auto zero) {
            using T = decltype(zero);
            Tensor<T> w = c["weight"].is_null() ? Tensor<T>() : Tensor<T>(fixture::array<T>(c["weight"]));
            CrossEntropyOptions o = CrossEntropyOptions().ignore_index(ii).reduction(red).label_smoothing(ls);
            if (w.defined()) o.weight(w);
            Tensor<T> x(fixture::array<T>(c["input"]), true), xp(fixture::array<T>(c["input"]), true);
            Tensor<T> l = cross_entropy(x, y, o), lp = cross_entropy(xp, y, w, ii, red, ls);
            sum(l).backward();
            sum(lp).backward();
            CHECK(fixture::worst_rel_error(l.value(), fixture::array<double>(c["ce"])) <= tol);
            CHECK(fixture::worst_rel_error(x.grad(), fixture::array<double>(c["ce_grad"])) <= tol);
            CHECK(fixture::worst_rel_error(l.value(), xt::xarray<double>(lp.value())) == 0);  // bit for bit
            CHECK(fixture::worst_rel_error(x.grad(), xt::xarray<double>(xp.grad())) == 0);

            NLLLossOptions no = NLLLossOptions().ignore_index(ii).reduction(red);
            if (w.defined()) no.weight(w);
            Tensor<T> z(fixture::array<T>(c["nll_input"]), true), zp(fixture::array<T>(c["nll_input"]), true);
            Tensor<T> nl = nll_loss(z, y, no), nlp = nll_loss(zp, y, w, ii, red);
            sum(nl).backward();
            sum(nlp).backward();
            CHECK(fixture::worst_rel_error(nl.value(), fixture::array<double>(c["nll"])) <= tol);
            CHECK(fixture::worst_rel_error(z.grad(), fixture::array<double>(c["nll_grad"])) <= tol);
            CHECK(fixture::worst_rel_error(nl.value(), xt::xarray<double>(nlp.value())) == 0);
            CHECK(fixture::worst_rel_error(z.grad(), xt::xarray<double>(zp.grad())) == 0);
        };
        if (f32)
            run(float(0));
        else
            run(double(0));
        ++n;
    }
    CHECK(n == 10);
    // probability targets take the options too
    Tensor<double> x({{1.0, 2.0, 0.5}, {0.1, 0.2, 0.3}}), p({{0.2, 0.3, 0.5}, {1.0, 0.0, 0.0}});
    Tensor<double> w({1.0, 2.0, 0.5});
    CHECK(cross_entropy(x, p, CrossEntropyOptions().weight(w).reduction(Reduction::Sum).label_smoothing(0.2)).item() ==
          cross_entropy(x, p, w, -100, Reduction::Sum, 0.2).item());
    // defaults are torch's: weight none, ignore_index -100, mean, no smoothing
    const xt::xarray<std::int64_t> y{2, 0};
    CHECK(cross_entropy(x, y, CrossEntropyOptions()).item() == cross_entropy(x, y).item());
    CHECK(CrossEntropyOptions().ignore_index() == -100);
    CHECK(CrossEntropyOptions().reduction() == Reduction::Mean);
    // a weight of the other precision is refused, in torch's words
    CHECK_THROWS_WITH(cross_entropy(x, y, CrossEntropyOptions().weight(Tensor<float>({1.f, 1.f, 1.f}))),
                      Contains("cross_entropy: expected scalar type Double but found Float"));
    CHECK_THROWS_WITH(nll_loss(Tensor<float>({{0.f, 0.f, 0.f}}), xt::xarray<std::int64_t>{1}, NLLLossOptions().weight(w)),
                      Contains("nll_loss: expected scalar type Float but found Double"));
    // the checks of the positional form still apply
    CHECK_THROWS_AS(cross_entropy(x, y, CrossEntropyOptions().label_smoothing(1.5)), ValueError);
}

// --------------------------------------------------------------------------------- metrics

TEST_CASE("train::accuracy and ConfusionMatrix from predictions or logits", "[data]") {
    const auto fx = fixture::load("data.json");
    for (const auto& c : fx["accuracy"]) {
        const auto logits = fixture::array<double>(c["logits"]);
        const auto y = fixture::int_array(c["target"]);
        const auto pred = fixture::int_array(c["predictions"]);
        const double want = fixture::number(c["accuracy"]);
        CHECK((train::predictions_of(Tensor<double>(logits)) == pred));  // first max on ties, NaN wins
        CHECK(train::accuracy(pred, y) == Approx(want).epsilon(1e-7));
        CHECK(train::accuracy(Tensor<double>(logits), y) == Approx(want).epsilon(1e-7));
        CHECK(train::accuracy(xt::xarray<float>(logits), y) == Approx(want).epsilon(1e-7));
    }
    // (N, C, d) logits against (N, d) targets, and (C) against a 0-d target
    Tensor<float> seg(xt::xarray<float>{{{1, 0}, {0, 1}}, {{0, 0}, {5, 1}}});  // (2, 2, 2)
    CHECK(train::accuracy(seg, xt::xarray<std::int64_t>{{0, 1}, {0, 1}}) == 0.75);  // argmax [[0, 1], [1, 1]]
    CHECK(train::accuracy(Tensor<float>({0.1f, 0.7f, 0.2f}), xt::xarray<std::int64_t>(1)) == 1.0);
    CHECK(std::isnan(train::accuracy(xt::xarray<std::int64_t>::from_shape({0}), xt::xarray<std::int64_t>::from_shape({0}))));
    CHECK_THROWS_WITH(train::accuracy(xt::xarray<std::int64_t>{1, 2}, xt::xarray<std::int64_t>{1, 2, 3}),
                      Contains("accuracy: predictions [2] and targets [3] must have the same shape"));
    CHECK_THROWS_WITH(train::accuracy(Tensor<float>({{1.f, 2.f}}), xt::xarray<std::int64_t>{1, 0}),
                      Contains("accuracy: logits [1, 2] do not match targets [2]"));
    CHECK_THROWS_AS(train::accuracy(Tensor<float>::scalar(1.f), xt::xarray<std::int64_t>(0)), ShapeError);

    train::ConfusionMatrix cm(3);
    CHECK(cm.class_names() == std::vector<std::string>{"0", "1", "2"});
    cm.update(xt::xarray<std::int64_t>{0, 2, 1, 1}, xt::xarray<std::int64_t>{0, 1, 1, 2});  // (preds, targets)
    CHECK(cm.count(1, 2) == 1);  // target 1 predicted 2
    CHECK(cm.count(2, 1) == 1);
    CHECK(cm.count(0, 0) == 1);
    CHECK(cm.accuracy() == 0.5);
    cm.update(Tensor<double>({{0.0, 0.0, 9.0}}), xt::xarray<std::int64_t>{2});
    CHECK(cm.count(2, 2) == 1);
    CHECK(cm.total() == 5);
    // all or nothing: one bad class and nothing is counted
    CHECK_THROWS_WITH(cm.update(xt::xarray<std::int64_t>{0, 3}, xt::xarray<std::int64_t>{0, 0}),
                      Contains("ConfusionMatrix::update: class out of range at position 1 (target 0, predicted 3; 3 classes)"));
    CHECK(cm.total() == 5);
    CHECK_THROWS_AS(cm.update(xt::xarray<std::int64_t>{0}, xt::xarray<std::int64_t>{0, 0}), ShapeError);
    auto m = train::ConfusionMatrix::from_predictions(xt::xarray<std::int64_t>{1, 1, 0}, xt::xarray<std::int64_t>{1, 0, 0}, {"cat", "dog"});
    CHECK(m.count(0, 1) == 1);
    CHECK(m.accuracy() == Approx(2.0 / 3));
    CHECK(m.accuracy() == train::accuracy(xt::xarray<std::int64_t>{1, 1, 0}, xt::xarray<std::int64_t>{1, 0, 0}));
}
