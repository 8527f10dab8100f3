#pragma once
// What only the Fashion-MNIST trainer needs: its class names, its files, the normalisation of its
// pixels, and the evaluation pass over the test images.
#include <array>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace fashion_mnist {

const std::vector<std::string>& class_names();  // "T-shirt/top", "Trouser", …, "Ankle boot"

// The four IDX files of dir (Fashion-MNIST's or MNIST's names, plain or .gz), pixels kept as bytes.
struct Data {
    tapegrad::data::MnistBytes train, test;
};
Data load(const std::string& dir, std::ostream& out);

// Moves the last n images of train (and their labels) out into the returned split, for validation;
// n = 0 returns an empty split. ValueError when n leaves fewer than one training image.
tapegrad::data::MnistBytes hold_out(tapegrad::data::MnistBytes& train, std::size_t n, std::ostream& out);

// Byte → input value: b / 255, then standardised by the training pixels' mean and std when
// normalize (one value for all pixels, as torchvision's Normalize); the DataLoader applies it
// while it gathers each batch.
std::array<float, 256> pixel_map(const tapegrad::data::MnistBytes& train, bool normalize, std::ostream& out);

// The side of square images of n pixels (28 for 784); ValueError when n is not a square.
std::size_t image_side(std::size_t n);

// Data augmentation of a gathered batch x (N, side·side) in place, image by image, as torchvision's
// RandomCrop(side, padding=pad) then RandomHorizontalFlip(): each image is padded by `pad` pixels of
// `fill` on every side, a side×side window is cut at a uniformly drawn offset (0…2·pad in each
// direction), and the result is mirrored left-right with probability 1/2. Draws three numbers per
// image from gen, in order (row offset, column offset, flip), so a generator that is checkpointed
// replays the same augmentation on resume.
void augment(xt::xarray<float>& x, std::size_t side, std::size_t pad, float fill, tapegrad::Generator& gen);

struct Evaluation {
    double loss = 0, accuracy = 0;
};
// Mean cross-entropy and accuracy on a split, in eval mode and without recording; the confusion
// matrix, when given, receives every prediction.
Evaluation evaluate(tapegrad::nn::Module<float>& model, const tapegrad::data::MnistBytes& split,
                    const std::array<float, 256>& pixels, tapegrad::train::ConfusionMatrix* cm = nullptr);

}  // namespace fashion_mnist
