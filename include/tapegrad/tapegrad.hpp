#pragma once
// Everything a training program needs: #include <tapegrad/tapegrad.hpp>
#include "tapegrad/errors.hpp"
#include "tapegrad/factory.hpp"
#include "tapegrad/gradcheck.hpp"
#include "tapegrad/nn/layers.hpp"
#include "tapegrad/nn/module.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/optim/sgd.hpp"
#include "tapegrad/random.hpp"
#include "tapegrad/tape.hpp"
#include "tapegrad/tensor.hpp"
