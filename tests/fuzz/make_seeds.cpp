// Writes the seed corpora committed in tests/fuzz/corpus/<harness>/ (run from tools/build-fuzzers.sh
// only when asked: `build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus`). Every seed is a small
// valid input: IDX files (plain and gzip), checkpoints and models saved by tapegrad itself, the same
// archives as npz_members records, and explainer inputs.
#include <zlib.h>

#include <fstream>
#include <iostream>

#include "fuzz_targets.hpp"

namespace fs = std::filesystem;
using namespace tapegrad_fuzz;

namespace {

void write(const fs::path& p, const std::string& bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) throw std::runtime_error("cannot write " + p.string());
    std::cout << p.string() << " (" << bytes.size() << " bytes)\n";
}

std::string as_string(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

std::string gzip(const std::string& raw) {
    z_stream zs{};
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
    std::string out(deflateBound(&zs, raw.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    zs.avail_in = static_cast<uInt>(raw.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

// The members of a zip archive, in order, as npz_members records.
std::vector<Member> zip_members(const std::string& path) {
    int err = 0;
    zip_t* za = zip_open(path.c_str(), ZIP_RDONLY, &err);
    if (za == nullptr) throw std::runtime_error("zip_open " + path);
    std::vector<Member> out;
    for (zip_int64_t i = 0; i < zip_get_num_entries(za, 0); ++i) {
        zip_stat_t st;
        zip_stat_index(za, static_cast<zip_uint64_t>(i), 0, &st);
        std::string bytes(st.size, '\0');
        zip_file_t* zf = zip_fopen_index(za, static_cast<zip_uint64_t>(i), 0);
        if (zf == nullptr || zip_fread(zf, bytes.data(), bytes.size()) != static_cast<zip_int64_t>(bytes.size()))
            throw std::runtime_error("zip_fread " + path);
        zip_fclose(zf);
        out.push_back({zip_get_name(za, static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW), bytes});
    }
    zip_discard(za);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_make_seeds <corpus-dir>\n";
        return 2;
    }
    const fs::path dir = argv[1];

    // ---- idx: images (2, 3, 3), labels (2,), a 2-D and a 4-D file, gzip versions of two
    std::vector<std::uint8_t> pix(18);
    for (std::size_t i = 0; i < pix.size(); ++i) pix[i] = static_cast<std::uint8_t>(i * 14);
    const std::string images = as_string(idx_bytes({2, 3, 3}, pix));
    const std::string labels = as_string(idx_bytes({2}, {3, 7}));
    write(dir / "idx" / "images-idx3-ubyte", images);
    write(dir / "idx" / "labels-idx1-ubyte", labels);
    write(dir / "idx" / "matrix-idx2-ubyte", as_string(idx_bytes({2, 2}, {0, 1, 254, 255})));
    write(dir / "idx" / "tensor-idx4-ubyte", as_string(idx_bytes({1, 2, 1, 2}, {9, 8, 7, 6})));
    write(dir / "idx" / "images-idx3-ubyte.gz", gzip(images));
    write(dir / "idx" / "labels-idx1-ubyte.gz", gzip(labels));

    // ---- npz: a checkpoint of FixedModel after one SGD step (momentum buffers present), the
    // model alone, and a plain archive with every dtype
    const fs::path tmp = fs::temp_directory_path() / ("tapegrad-make-seeds-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    {
        using namespace tapegrad;
        FixedModel m;
        Tensor<float> x(xt::xarray<float>{{0.5f, -1.0f, 2.0f}, {1.5f, 0.25f, -0.5f}});
        xt::xarray<std::int64_t> y{1, 0};
        Tensor<float> loss = cross_entropy((*m.model)(x), y);
        loss.backward();
        m.opt->step();
        train::TrainState st;
        st.epoch = 1;
        // a short but valid mt19937_64 state would not parse; a real one is 313 numbers
        st.rng_state = Generator(7).state();
        st.scheduler_last_epoch = 1;
        st.scheduler_step_count = 2;
        st.history["train_loss"] = {0.75};
        train::save_checkpoint((tmp / "checkpoint.npz").string(), *m.model, *m.opt, st);
        train::save_model((tmp / "model.npz").string(), *m.model);

        std::vector<std::pair<std::string, io::NpyArray>> arrays;
        arrays.emplace_back("f4", io::to_npy(xt::xarray<float>{{1.0f, -2.5f}}));
        arrays.emplace_back("f8", io::to_npy(xt::xarray<double>{3.25}));
        arrays.emplace_back("i8", io::to_npy(xt::xarray<std::int64_t>::from_shape({})));
        arrays.emplace_back("u8", io::to_npy(xt::xarray<std::uint64_t>::from_shape({0, 2})));
        io::NpyArray u1;
        u1.dtype = "|u1";
        u1.shape = {3};
        u1.bytes = {1, 2, 3};
        arrays.emplace_back("u1", u1);
        io::save_npz((tmp / "dtypes.npz").string(), arrays);
    }
    for (const char* name : {"checkpoint", "model", "dtypes"}) {
        const fs::path p = tmp / (std::string(name) + ".npz");
        write(dir / "npz" / (std::string(name) + ".npz"), read_file(p));
        // records without the checksum member, flag bit0 appends the right one
        std::vector<Member> members = zip_members(p.string());
        std::vector<Member> without;
        for (auto& m : members)
            if (m.name != "__checksum__.npy") without.push_back(m);
        write(dir / "npz_members" / (std::string(name) + ".rec"), members_to_records(without, 1));
    }
    write(dir / "npz_members" / "checkpoint-deflate.rec",
          members_to_records(zip_members((tmp / "checkpoint.npz").string()), 2));
    fs::remove_all(tmp);

    // ---- explain: logits \n target [\n weight \n ignore_index \n reduction \n label_smoothing \n text]
    const std::vector<std::pair<const char*, std::string>> explain{
        {"basic", "[[2.0, 0.5, 1.0], [0.5, 2.0, 1.5]]\n[0, 2]"},
        {"weights-sum", "[[2.0, 0.5, 1.0], [0.5, 2.0, 1.5]]\n[0, 2]\n[1, 2, 3]\n\nsum"},
        {"ignore-none", "[[1, 2, 3], [3, 2, 1], [0.1, 0.2, 0.3]]\n[0, 2, -1]\n\n-1\nnone"},
        {"smoothing", "[[1, 2, 3]]\n[2]\n\n\nmean\n0.1"},
        {"probs", "[[1, 2, 3], [0, 0, 0]]\n[[0.2, 0.3, 0.5], [1, 0, 0]]"},
        {"spatial", "[[[1, 2], [3, 4]], [[0, \"inf\"], [-1, 1]]]\n[[0, 1], [1, 0]]"},
        {"unbatched-text", "[1e300, -1e300, \"nan\"]\n1\n[0.5, 1, 2]\n\n\n0.5\ntext"},
        {"text", "[[0.1, 0.2, 0.3, 0.4]]\n[3]\n\n\nsum\n\ntext"},
        {"bce-logits", "[[2, -1, 0.5], [-800, 1, 40]]\n[[1, 0, 1], [0, 1, 0]]\n[1, 2, 1]\n\nsum\n\ntext\nbinary_cross_entropy_with_logits"},
        {"kl-div", "[[-0.5, -1], [-2, -0.1]]\n[[0.6, 0.4], [0, 1]]\n\n\nbatchmean\n\n\nkl_div"},
        {"mse-broadcast", "[1, 2, 3]\n[[0, 0, 0], [1, 1, 1]]\n\n\nnone\n\ntext\nmse_loss"},
        {"compare", "[[2.0, 0.5, 1.0], [0.5, 2.0, 1.5]]\n[0, 2]\n\n\n\n\ntext\n\n--label-smoothing 0.1 --weight [1, 2, 3]"},
        {"compare-json", "[0.5, 2]\n[0, 1]\n\n\n\n\n\nhuber_loss\n--delta 0.3"},
    };
    for (const auto& [name, text] : explain) write(dir / "explain" / (std::string(name) + ".txt"), text);
    return 0;
}
