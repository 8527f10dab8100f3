// The optimizer base shared by every optimizer.
#include "tapegrad/optim/optimizer.hpp"

namespace tapegrad {
namespace optim {

template <class T> void Optimizer<T>::zero_grad(bool set_to_none) {
    for (auto& g : groups_)
        for (auto& p : g.params) p.zero_grad(set_to_none);
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace optim
}  // namespace tapegrad
