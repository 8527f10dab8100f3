// tapegrad::distributed under `mpirun -np 2` (ctest: mpi_library). Every rank runs every test case;
// the checks compare what the ranks hold with all_reduce, so each rank verifies the whole job.
// A failing check on one rank must not leave the other in a collective: checks are CHECKs (the test
// goes on to its collectives), never REQUIREs after the first collective.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include <tapegrad/tapegrad.hpp>

using namespace tapegrad;
using Catch::Matchers::Contains;

namespace {
// The element-wise max and min over ranks of a tensor's values (as doubles).
std::pair<std::vector<double>, std::vector<double>> spread(const xt::xarray<float>& v) {
    std::vector<double> hi(v.begin(), v.end()), lo(v.begin(), v.end());
    distributed::all_reduce(hi, distributed::ReduceOp::MAX);
    distributed::all_reduce(lo, distributed::ReduceOp::MIN);
    return {hi, lo};
}
bool same_on_every_rank(const xt::xarray<float>& v) {
    auto [hi, lo] = spread(v);
    return hi == lo;
}
template <class F> std::string error_of(F f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}
nn::Sequential<float> mlp(std::size_t in, std::size_t hidden, std::size_t out, Generator& g) {
    nn::Sequential<float> m;
    m.push_back(std::make_shared<nn::Linear<float>>(in, hidden, true, g));
    m.push_back(std::make_shared<nn::ReLU<float>>());
    m.push_back(std::make_shared<nn::Linear<float>>(hidden, out, true, g));
    return m;
}
}  // namespace

TEST_CASE("ranks, world size and all_reduce", "[mpi]") {
    REQUIRE(distributed::available());
    REQUIRE(distributed::is_initialized());
    REQUIRE(distributed::world_size() == 2);
    const int r = distributed::rank();
    CHECK((r == 0 || r == 1));
    std::vector<double> v{double(r + 1), double(10 * r)};
    distributed::all_reduce(v);
    CHECK(v == std::vector<double>{3.0, 10.0});
    CHECK(distributed::all_reduce(double(r), distributed::ReduceOp::MAX) == 1.0);
    CHECK(distributed::all_reduce(double(r), distributed::ReduceOp::MIN) == 0.0);
    std::vector<std::int64_t> i{std::int64_t(r) + 40};
    distributed::all_reduce(i);
    CHECK(i[0] == 81);
    // different lengths: an error on every rank, not a truncated message on one
    std::vector<double> odd(std::size_t(r + 1), 1.0);
    CHECK_THAT(error_of([&] { distributed::all_reduce(odd); }),
               Contains("distributed::all_reduce: the ranks passed different lengths (between 1 and 2"));
    CHECK(distributed::broadcast_bytes(r == 0 ? std::string("from rank 0\0!", 13) : "other") == std::string("from rank 0\0!", 13));
    CHECK(distributed::broadcast_bytes(r == 1 ? "one" : "", 1) == "one");
    CHECK_THAT(error_of([&] { distributed::broadcast_bytes("x", 2); }), Contains("root 2 is not a rank (world size 2)"));
    CHECK_THAT(error_of([] { distributed::init(); }), Contains("trying to initialize the default process group twice"));
    distributed::barrier();
}

TEST_CASE("broadcast_parameters: every rank starts from root's parameters and buffers", "[mpi]") {
    const int r = distributed::rank();
    Generator g(100 + std::uint64_t(r));  // a different initialisation on each rank
    nn::Sequential<float> m = mlp(5, 7, 3, g);
    auto bn = std::make_shared<nn::BatchNorm1d<float>>(3);
    m.push_back(bn);
    bn->running_mean.mutable_value().fill(float(r + 1));
    CHECK_FALSE(same_on_every_rank(m.parameters()[0].value()));
    distributed::broadcast_parameters(m, /*root=*/1);
    for (const auto& [name, p] : m.named_parameters()) {
        INFO(name);
        CHECK(same_on_every_rank(p.value()));
    }
    CHECK(bn->running_mean.value()(0) == 2.0f);  // rank 1's
    // rank 1's first weight is what it drew: the parameters are root's, not an average
    Generator g1(101);
    nn::Sequential<float> ref = mlp(5, 7, 3, g1);
    CHECK(m.parameters()[0].value() == ref.parameters()[0].value());
    bn->running_mean.mutable_value().fill(float(r + 5));
    distributed::broadcast_buffers(m);
    CHECK(bn->running_mean.value()(2) == 5.0f);

    // models that differ: every rank throws, naming what differs
    Generator h(1);
    nn::Sequential<float> other = mlp(5, r == 0 ? 7 : 8, 3, h);
    CHECK_THAT(error_of([&] { distributed::broadcast_parameters(other); }),
               Contains("distributed::broadcast_parameters: the ranks' models differ") && Contains("elements"));
    // the same count and size, other shapes
    std::vector<Tensor<float>> shapes{Tensor<float>(xt::zeros<float>({r == 0 ? 2 : 3, r == 0 ? 3 : 2}), true),
                                      Tensor<float>(xt::zeros<float>({6}), true)};
    CHECK_THAT(error_of([&] { distributed::allreduce_gradients(shapes); }), Contains("the same count but other shapes"));
}

TEST_CASE("allreduce_gradients averages dense gradients in buckets, one MPI_Allreduce each", "[mpi]") {
    const int r = distributed::rank();
    Generator g(7);
    nn::Sequential<float> m = mlp(300, 200, 10, g);  // 60 000 + 200 + 2 000 + 10 floats
    auto params = m.parameters();
    for (std::size_t k = 0; k < params.size(); ++k) {
        auto& grad = params[k].mutable_grad();
        for (std::size_t i = 0; i < grad.size(); ++i) grad.data()[i] = float((r + 1) * (k + 1)) + float(i % 7);
    }
    const std::uint64_t before = distributed::traffic().calls;
    distributed::AllreduceStats st = distributed::allreduce_gradients(m);
    CHECK(st.buckets == 1);  // 249 640 bytes under the 25 MiB cap
    CHECK(st.dense_bytes == 62210 * sizeof(float));
    CHECK(distributed::traffic().calls - before == 3);  // the model check, the kinds, one bucket
    for (std::size_t k = 0; k < params.size(); ++k) {
        const auto& grad = params[k].grad();
        bool ok = true;
        for (std::size_t i = 0; i < grad.size(); ++i)  // ((k+1) + (2k+2))/2 + i%7
            ok = ok && grad.data()[i] == 1.5f * float(k + 1) + float(i % 7);
        INFO("parameter " << k);
        CHECK(ok);
    }
    // a 0.1 MiB cap: the 240 000-byte weight alone, then the rest together
    st = distributed::allreduce_gradients(m, distributed::AllreduceOptions().bucket_cap_mb(0.1));
    CHECK(st.buckets == 2);
    st = distributed::allreduce_gradients(m, distributed::AllreduceOptions().bucket_cap_mb(0.001));
    CHECK(st.buckets == 4);  // each tensor alone
    CHECK(params[1].grad()(3) == 1.5f * 2 + 3);  // averaging an average changes nothing
    CHECK_THAT(error_of([&] { distributed::allreduce_gradients(m, distributed::AllreduceOptions().bucket_cap_mb(0)); }),
               Contains("bucket_cap_mb must be positive"));
}

TEST_CASE("allreduce_gradients: a gradient missing on one rank counts as zeros, missing on all stays missing", "[mpi]") {
    const int r = distributed::rank();
    Tensor<float> a(xt::xarray<float>{1, 2, 3}, true), b(xt::xarray<float>{1, 2}, true);
    if (r == 0) a.mutable_grad() = xt::xarray<float>{2, 4, 6};
    distributed::allreduce_gradients(std::vector<Tensor<float>>{a, b});
    REQUIRE(a.has_grad());
    CHECK(a.grad() == xt::xarray<float>{1, 2, 3});
    CHECK_FALSE(b.has_grad());
}

TEST_CASE("allreduce_gradients: row-sparse gradients travel as rows and stay sparse", "[mpi]") {
    const int r = distributed::rank();
    Generator g(3);
    nn::EmbeddingBag<float> bag(10, 4, EmbeddingBagMode::Sum, /*sparse=*/true, std::nullopt, g);
    // rank 0 looks up rows 1, 2, 2; rank 1 rows 2, 7
    xt::xarray<std::int64_t> ids = r == 0 ? xt::xarray<std::int64_t>{1, 2, 2} : xt::xarray<std::int64_t>{2, 7};
    xt::xarray<std::int64_t> offsets{0};
    Tensor<float> out = bag.forward(ids, offsets);
    xt::xarray<float> wv = xt::xarray<float>::from_shape({4, 1});
    wv(0, 0) = 1.f + float(r), wv(1, 0) = 2.f, wv(2, 0) = 3.f, wv(3, 0) = 4.f;
    Tensor<float> w(wv);
    sum(matmul(out, w)).backward();
    REQUIRE(has_sparse_grad(bag.weight));
    // the expected average, from each rank's dense gradient
    xt::xarray<float> dense = xt::zeros<float>(bag.weight.value().shape());
    detail::scatter_add_rows(dense, sparse_grad_rows(bag.weight), sparse_grad_values(bag.weight));
    std::vector<double> expect(dense.begin(), dense.end());
    distributed::all_reduce(expect);
    for (auto& e : expect) e /= 2;
    const distributed::AllreduceStats st = distributed::allreduce_gradients(bag);
    CHECK(st.buckets == 0);
    CHECK(st.sparse_params == 1);
    CHECK(st.sparse_rows == 5);  // 3 + 2 rows gathered
    CHECK(st.sparse_bytes == 5 * (8 + 4 * 4));
    REQUIRE(has_sparse_grad(bag.weight));
    CHECK(sparse_grad_rows(bag.weight) == std::vector<std::int64_t>{1, 2, 2, 2, 7});
    const auto& got = bag.weight.grad();  // made dense on read
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(double(got.data()[i]) == Approx(expect[i]).epsilon(1e-6));

    // one rank sparse, the other dense: dense on both, the same average
    bag.weight.zero_grad(true);
    Tensor<float> out2 = bag.forward(ids, offsets);
    sum(matmul(out2, w)).backward();
    if (r == 1) bag.weight.mutable_grad();  // densified here only
    distributed::allreduce_gradients(bag);
    CHECK_FALSE(has_sparse_grad(bag.weight));
    const auto& got2 = bag.weight.grad();
    for (std::size_t i = 0; i < got2.size(); ++i) CHECK(double(got2.data()[i]) == Approx(expect[i]).epsilon(1e-6));
}

TEST_CASE("allreduce_gradients refuses parameters an optimizer updates inside backward", "[mpi]") {
    Generator g(5);
    nn::Sequential<float> m = mlp(4, 3, 2, g);
    optim::SGD<float> opt(m.parameters(), optim::SGDOptions(0.1).momentum(0.9));
    opt.step_in_backward(true);
    CHECK_THAT(error_of([&] { distributed::allreduce_gradients(m); }),
               Contains("post-accumulate-grad hooks (Optimizer::step_in_backward?)"));
    opt.step_in_backward(false);
    CHECK_NOTHROW(distributed::allreduce_gradients(m));
}

TEST_CASE("DataLoader.set_distributed: disjoint shards of one permutation, padded as DistributedSampler", "[mpi]") {
    const int r = distributed::rank();
    for (std::size_t n : {10, 11}) {
        INFO("n = " << n);
        xt::xarray<float> x = xt::zeros<float>({n, std::size_t(2)});
        xt::xarray<std::int64_t> y = xt::arange<std::int64_t>(std::int64_t(n));
        data::DataLoader<float> loader(x, y, 2, /*shuffle=*/true, /*seed=*/42);
        loader.set_distributed(2, std::size_t(r));
        CHECK(loader.num_samples() == (n + 1) / 2);
        CHECK(loader.num_batches() == ((n + 1) / 2 + 1) / 2);
        for (int epoch = 0; epoch < 2; ++epoch) {
            loader.begin_epoch();
            std::vector<std::int64_t> seen(n, 0);
            for (std::size_t b = 0; b < loader.num_batches(); ++b)
                for (std::size_t i : loader.batch_indices(b)) ++seen[i];
            distributed::all_reduce(seen);
            std::int64_t twice = 0, missing = 0;
            for (auto c : seen) twice += c == 2, missing += c == 0;
            CHECK(missing == 0);
            CHECK(twice == std::int64_t(n % 2));  // the one padded sample, when n is odd
        }
    }
}

TEST_CASE("2 ranks with batch 32 follow 1 process with batch 64 (float64, an epoch)", "[mpi]") {
    // a synthetic problem: 1 000 samples of 20 features, 4 classes, SGD momentum + weight decay
    const int r = distributed::rank();
    Generator data_gen(9);
    xt::xarray<double> x = xt::xarray<double>::from_shape({1000, 20});
    xt::xarray<std::int64_t> y = xt::xarray<std::int64_t>::from_shape({1000});
    for (std::size_t i = 0; i < 1000; ++i) {
        y(i) = std::int64_t(data_gen.randint(4));
        for (std::size_t j = 0; j < 20; ++j) x(i, j) = data_gen.normal() + (j % 4 == std::size_t(y(i)) ? 1.0 : 0.0);
    }
    auto train = [&](std::size_t batch, bool split) {
        Generator init(11);
        nn::Sequential<double> m;
        m.push_back(std::make_shared<nn::Linear<double>>(20, 32, true, init));
        m.push_back(std::make_shared<nn::ReLU<double>>());
        m.push_back(std::make_shared<nn::Linear<double>>(32, 4, true, init));
        optim::SGD<double> opt(m.parameters(), optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-3).nesterov(true));
        data::DataLoader<double> loader(x, y, batch, true, 5);
        if (split) loader.set_distributed(2, std::size_t(r)), distributed::broadcast_parameters(m);
        for (int epoch = 0; epoch < 2; ++epoch)
            for (auto& [xb, yb] : loader) {
                opt.zero_grad(true);
                cross_entropy(m(xb), yb).backward();
                if (split) distributed::allreduce_gradients(m);
                opt.step();
            }
        return m;
    };
    nn::Sequential<double> one = train(64, false), two = train(32, true);
    double worst = 0;
    for (std::size_t k = 0; k < one.parameters().size(); ++k) {
        const auto &a = one.parameters()[k].value(), &b = two.parameters()[k].value();
        for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
    }
    WARN("rank " << r << ": largest difference after 2 epochs (32 steps): " << worst);
    CHECK(worst < 1e-12);
}

int main(int argc, char** argv) {
    distributed::init();
    const int status = Catch::Session().run(argc, argv);
    // every rank's verdict: the job fails when any rank failed
    const double worst = distributed::all_reduce(double(status), distributed::ReduceOp::MAX);
    distributed::finalize();
    return int(worst);
}
