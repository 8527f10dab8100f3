#pragma once
// Autograd modes of the calling thread: no-grad (torch.no_grad), anomaly detection
// (torch.autograd.set_detect_anomaly) and graph checking. Each thread has its own.
namespace tapegrad {

// Like torch.no_grad(): while one lives on this thread, ops record nothing.
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool prev_;
};
bool is_grad_enabled();
void set_grad_enabled(bool enabled);

// Like torch.autograd.set_detect_anomaly: when on, the first op whose forward or backward
// produces NaN or Inf throws an AutogradError naming the op and its place on the tape.
void set_detect_anomaly(bool enabled);
bool is_anomaly_enabled();

// Graph checking mode (autograd::check_graph): while on, every op keeps what it needs to re-run its
// own forward in float64, so check_graph(loss) can verify each tape entry's backward on its own.
// Off by default; when off, recording pays one flag test per op and keeps nothing more.
void set_check_graph(bool enabled);
bool is_check_graph_enabled();

}  // namespace tapegrad
