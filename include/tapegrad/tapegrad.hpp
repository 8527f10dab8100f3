#pragma once
// Everything a training program uses: #include <tapegrad/tapegrad.hpp>
// One header per layer below; each layer uses only the layers listed before it.
#include "tapegrad/version.hpp"

// core: tensors, the tape, autograd modes, random numbers, factories, threads
#include "tapegrad/core/errors.hpp"
#include "tapegrad/core/factory.hpp"
#include "tapegrad/core/grad_mode.hpp"
#include "tapegrad/core/graph.hpp"
#include "tapegrad/core/random.hpp"
#include "tapegrad/core/sparse_grad.hpp"
#include "tapegrad/core/tape.hpp"
#include "tapegrad/core/tensor.hpp"
#include "tapegrad/core/threads.hpp"

// ops: every differentiable function, the losses included (torch.* and torch.nn.functional)
#include "tapegrad/ops/conv.hpp"
#include "tapegrad/ops/elementwise.hpp"
#include "tapegrad/ops/embedding.hpp"
#include "tapegrad/ops/indexing.hpp"
#include "tapegrad/ops/linalg.hpp"
#include "tapegrad/ops/loss.hpp"
#include "tapegrad/ops/losses.hpp"
#include "tapegrad/ops/norm.hpp"
#include "tapegrad/ops/reduce.hpp"
#include "tapegrad/ops/shape.hpp"
#include "tapegrad/ops/softmax.hpp"

// autograd tools: gradcheck
#include "tapegrad/autograd/check_graph.hpp"
#include "tapegrad/autograd/gradcheck.hpp"

// nn: modules, layers, loss modules
#include "tapegrad/nn/gradcheck_module.hpp"  // gradcheck for a whole model
#include "tapegrad/nn/init.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/loss.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/nn/utils.hpp"

// optim: optimizers and learning-rate schedulers
#include "tapegrad/optim/adam.hpp"
#include "tapegrad/optim/lr_scheduler.hpp"
#include "tapegrad/optim/optimizer.hpp"
#include "tapegrad/optim/rmsprop.hpp"
#include "tapegrad/optim/sgd.hpp"

// data: IDX files, CSV tables, TensorDataset / Subset / random_split, DataLoader
#include "tapegrad/data/csv.hpp"
#include "tapegrad/data/dataloader.hpp"
#include "tapegrad/data/prefetch.hpp"
#include "tapegrad/data/dataset.hpp"
#include "tapegrad/data/idx.hpp"

// distributed: data-parallel training over MPI (mpirun -np N)
#include "tapegrad/distributed/distributed.hpp"

// io: NumPy .npy/.npz, atomic files
#include "tapegrad/io/npz.hpp"

// train: checkpoints, progress, metrics, plots
#include "tapegrad/train/checkpoint.hpp"
#include "tapegrad/train/report.hpp"

// viz: the tape as a picture (Graphviz DOT, SVG)
#include "tapegrad/viz/dot.hpp"
