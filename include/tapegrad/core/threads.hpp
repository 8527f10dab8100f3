#pragma once
// Threads. tapegrad runs its own loops on the calling thread; the only pool is OpenBLAS's
// (pthreads build), used inside GEMMs. Set its size once, before training.
namespace tapegrad {
// Number of OpenBLAS threads for GEMMs (n ≥ 1); like torch.set_num_threads.
void set_num_threads(int n);
int get_num_threads();
}  // namespace tapegrad
