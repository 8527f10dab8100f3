#pragma once
// torch.optim.SGD, applied in place.
#include <string>
#include <vector>

#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {

// torch.optim.SGD: with g = ∇ (negated when maximize), in this order
//   g ← g + weight_decay·p;  buf ← g (first step) or momentum·buf + (1 − dampening)·g;
//   g ← g + momentum·buf (nesterov) or buf;  p ← p − lr·g
// A row-sparse gradient (embedding_bag with sparse=true) updates only its rows: duplicates are
// summed, weight decay applies to those rows only, and momentum is lazy — the buffer is dense but
// only present rows are decayed and updated (torch would densify the whole table instead).
template <class T = float> class SGD : public Optimizer<T> {
public:
    SGD(std::vector<Tensor<T>> params, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false);
    void step() override;
    // Momentum buffers, one per parameter of group 0 in order (undefined/empty before the first step
    // that used them): for checkpoints.
    const std::vector<xt::xarray<T>>& momentum_buffers() const { return bufs_; }
    const std::vector<bool>& has_momentum_buffer() const { return has_buf_; }
    void set_momentum_buffer(std::size_t i, const xt::xarray<T>& buf);

private:
    void sparse_step(ParamGroup<T>& g, std::size_t i);
    std::vector<xt::xarray<T>> bufs_;
    std::vector<bool> has_buf_;
};

}  // namespace optim
}  // namespace tapegrad
