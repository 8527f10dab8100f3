#pragma once
// Reader for the IDX format MNIST and Fashion-MNIST ship in (http://yann.lecun.com/exdb/mnist/),
// plain or gzip-compressed. Every malformed input is reported as tapegrad::IOError.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/shape.hpp"

namespace tapegrad {
namespace data {

// One IDX file: dims as stored (row-major), payload bytes in file order.
struct IdxArray {
    std::vector<std::size_t> shape;  // 1..4 dims, each in [1, 2^31]
    std::vector<std::uint8_t> data;  // product(shape) elements, C order
    std::uint8_t dtype_code = 0x08;  // IDX element-type byte; only 0x08 (ubyte) is ever returned
};

// An image/label split ready for training.
struct MnistSplit {
    xt::xarray<float> images;        // (N, rows*cols), pixel/255 in [0, 1]
    xt::xarray<std::int64_t> labels; // (N,), the raw label bytes
};

// The same, with the pixels kept as the bytes they are (N, rows*cols): 4× less memory, and the
// form DataLoader<float, std::uint8_t> gathers batches from (converting while it copies).
struct MnistBytes {
    xt::xarray<std::uint8_t> images;  // (N, rows*cols), raw 0..255
    xt::xarray<std::int64_t> labels;  // (N,)
};

// path: IDX file, gzip detected by content (1f 8b) not by name -> ubyte array; payload <= 1 GiB.
IdxArray read_idx(const std::string& path);

// images: (N, rows, cols) ubyte IDX; labels: (N,) ubyte IDX -> images (N, rows*cols), labels (N,).
MnistSplit load_mnist_split(const std::string& images_path, const std::string& labels_path);

// A folder in the MNIST layout, as torchvision's MNIST, FashionMNIST and KMNIST ship theirs:
// dir holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] -> the train or test split.
MnistSplit load_mnist(const std::string& dir, bool train);

// As load_mnist_split / load_mnist, pixels left as bytes.
MnistBytes load_mnist_split_bytes(const std::string& images_path, const std::string& labels_path);
MnistBytes load_mnist_bytes(const std::string& dir, bool train);

}  // namespace data
}  // namespace tapegrad
