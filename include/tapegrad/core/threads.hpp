#pragma once
// Threads. set_num_threads(n) sizes both pools tapegrad uses: OpenBLAS's (pthreads build), inside
// GEMMs, and tapegrad's own, which splits the batch of the convolution and pooling loops (each part
// then calling single-threaded GEMMs). Results do not depend on n: the work is cut into the same
// pieces whatever the count, and pieces are summed in one fixed order. Set it once, before training.
namespace tapegrad {
// Number of threads (n ≥ 1); like torch.set_num_threads. Until it is called: OpenBLAS's default.
void set_num_threads(int n);
int get_num_threads();
}  // namespace tapegrad
