#pragma once
// Autograd modes of the calling thread: no-grad (torch.no_grad) and anomaly detection
// (torch.autograd.set_detect_anomaly). Each thread has its own.
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

}  // namespace tapegrad
