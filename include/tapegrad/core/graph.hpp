#pragma once
// The recorded graph behind a tensor, read back from the tape: which entries produced it, from
// which inputs, in which order. What tapegrad::viz draws and the explainers walk through.
//
//   Graph<float> g = graph_of(loss);     // before backward, or after backward(…, retain_graph=true)
//   retain_grads(loss);                  // every non-leaf keeps its gradient (torch's retain_grad())
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/core/tensor.hpp"

namespace tapegrad {

template <class T> struct GraphEntry {
    std::string op;                 // the op's name, as grad_fn() gives it ("matmul", "relu", …)
    std::uint64_t seq = 0;          // place on the tape: recording order
    Tensor<T> output;
    std::vector<Tensor<T>> inputs;  // in the op's argument order; undefined where the op had none (no
                                    // bias) or nothing holds that input any more
};

template <class T> struct Graph {
    Tensor<T> root;
    // Every entry the root depends on, in recording order: a topological order, inputs before the
    // ops that read them. backward() runs them in the reverse of this order.
    std::vector<GraphEntry<T>> entries;
    // The leaves the entries read (parameters, inputs, constants), in order of first use.
    std::vector<Tensor<T>> leaves;
};

// The graph that produced root (a leaf gives no entries and itself as the only leaf). The handles
// in it keep the tensors alive. AutogradError when backward() has released the graph already
// (call it before backward, or backward with retain_graph=true), or when root's graph is on another
// thread's tape.
template <class T> Graph<T> graph_of(const Tensor<T>& root);

// retain_grad() on every non-leaf tensor of root's graph, root included.
template <class T> void retain_grads(const Tensor<T>& root);

}  // namespace tapegrad
