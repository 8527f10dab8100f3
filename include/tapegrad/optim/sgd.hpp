#pragma once
// Optimizers with torch.optim's update rules, applied in place.
#include <string>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tapegrad {
namespace optim {

// One group of parameters sharing hyper-parameters (torch's param_groups entries).
template <class T = float> struct ParamGroup {
    std::vector<Tensor<T>> params;
    double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
    bool nesterov = false, maximize = false;
    double initial_lr = 0;  // set by the first scheduler attached, as torch does
};

template <class T = float> class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual void step() = 0;
    // Zeros every parameter's gradient (or drops it), as torch 1.13's zero_grad(set_to_none=False).
    void zero_grad(bool set_to_none = false);
    std::vector<ParamGroup<T>>& param_groups() { return groups_; }
    const std::vector<ParamGroup<T>>& param_groups() const { return groups_; }

protected:
    std::vector<ParamGroup<T>> groups_;
};

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
