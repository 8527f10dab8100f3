// conv2d (im2col + OpenBLAS GEMM), max_pool2d, avg_pool2d, adaptive_avg_pool2d — each forward with
// its backward beside it. Inputs (N, C, H, W) or unbatched (C, H, W); torch 1.13's semantics and
// error texts (aten/src/ATen/native/Convolution.cpp, Pool.h, the CPU pooling kernels).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "internal.hpp"
#include "tapegrad/ops/conv.hpp"

namespace tapegrad {
namespace {
using i64 = std::int64_t;

// (N, C, H, W) of a 3-D or 4-D input; `batched` false for (C, H, W).
struct Planes {
    std::size_t N = 1, C = 0, H = 0, W = 0;
    bool batched = true;
};
Planes planes_of(const Shape& s) {
    Planes p;
    p.batched = s.size() == 4;
    const std::size_t o = p.batched ? 1 : 0;
    if (p.batched) p.N = s[0];
    p.C = s[o];
    p.H = s[o + 1];
    p.W = s[o + 2];
    return p;
}
Shape out_shape(const Planes& p, std::size_t C, std::size_t Ho, std::size_t Wo) {
    return p.batched ? Shape{p.N, C, Ho, Wo} : Shape{C, Ho, Wo};
}
std::string sizes4(std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    return shape_str({a, b, c, d});
}

// Scratch for im2col columns and batch-folded outputs, reused across calls on a thread (grows,
// never shrinks); `n` elements at least.
template <class T> T* scratch(int which, std::size_t n) {
    thread_local std::vector<T> bufs[3];
    if (bufs[which].size() < n) bufs[which].resize(n);
    return bufs[which].data();
}

// The batch cut into `count` chunks of consecutive images, chunk c starting at image first(c).
struct ChunkPlan {
    std::size_t N = 0, count = 0;
    std::size_t first(std::size_t c) const { return c * N / count; }
};
// About 2^18 elements per chunk at `per_image` each, an even count when more than one, never more
// chunks than images; nothing here depends on the thread count.
inline ChunkPlan plan_chunks(std::size_t N, std::size_t per_image) {
    const std::size_t target = std::size_t(1) << 18, total = N * std::max<std::size_t>(1, per_image);
    std::size_t count = std::max<std::size_t>(1, (total + target - 1) / target);
    if (count > 1 && count % 2 == 1) ++count;
    return {N, std::min(count, N)};
}

struct ConvGeo {
    std::size_t C, H, W, kh, kw, sh, sw, dh, dw, Ho, Wo;
    i64 pt, pl;  // top / left padding (bottom / right are implied by Ho, Wo)
};

// cols[(c·kh + i)·kw + j][oh·Wo + ow] = x[c][oh·sh − pt + i·dh][ow·sw − pl + j·dw] (0 outside) for
// one image of C channels; rows `ld` apart (several images side by side share one column matrix).
#if defined(__GNUC__) && !defined(__clang__)
#define TAPEGRAD_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define TAPEGRAD_NO_MEMCPY_CALLS
#endif
template <class T> TAPEGRAD_NO_MEMCPY_CALLS void im2col(const T* x, const ConvGeo& g, T* cols, std::size_t ld) {
    for (std::size_t c = 0; c < g.C; ++c)
        for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                const i64 off_w = i64(j * g.dw) - g.pl;
                // ow with 0 ≤ ow·sw + off_w < W
                const i64 lo = off_w >= 0 ? 0 : (-off_w + i64(g.sw) - 1) / i64(g.sw);
                i64 hi = i64(g.W) - off_w <= 0 ? 0 : (i64(g.W) - off_w + i64(g.sw) - 1) / i64(g.sw);
                hi = std::min<i64>(hi, i64(g.Wo));
                const std::size_t owl = std::size_t(std::min<i64>(lo, hi)), owh = std::size_t(hi);
                for (std::size_t oh = 0; oh < g.Ho; ++oh) {
                    T* dst = row + oh * g.Wo;
                    const i64 ih = i64(oh * g.sh) - g.pt + i64(i * g.dh);
                    if (ih < 0 || ih >= i64(g.H)) {
                        std::fill(dst, dst + g.Wo, T(0));
                        continue;
                    }
                    const T* src = x + (c * g.H + std::size_t(ih)) * g.W;
                    std::fill(dst, dst + owl, T(0));
                    if (owh > owl && g.sw == 1) {  // rows are short (tens of pixels): a loop, not a memmove call
                        const T* s = src + (i64(owl) + off_w);
                        for (std::size_t k = 0; k < owh - owl; ++k) dst[owl + k] = s[k];
                    } else {
                        for (std::size_t ow = owl; ow < owh; ++ow) dst[ow] = src[i64(ow * g.sw) + off_w];
                    }
                    std::fill(dst + owh, dst + g.Wo, T(0));
                }
            }
}

// The adjoint of im2col: x[c][ih][iw] += cols[…] for every column entry inside the image.
template <class T> void col2im_add(const T* cols, const ConvGeo& g, T* x, std::size_t ld) {
    for (std::size_t c = 0; c < g.C; ++c)
        for (std::size_t i = 0; i < g.kh; ++i)
            for (std::size_t j = 0; j < g.kw; ++j) {
                const T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                const i64 off_w = i64(j * g.dw) - g.pl;
                const i64 lo = off_w >= 0 ? 0 : (-off_w + i64(g.sw) - 1) / i64(g.sw);
                i64 hi = i64(g.W) - off_w <= 0 ? 0 : (i64(g.W) - off_w + i64(g.sw) - 1) / i64(g.sw);
                hi = std::min<i64>(hi, i64(g.Wo));
                const std::size_t owl = std::size_t(std::min<i64>(lo, hi)), owh = std::size_t(hi);
                for (std::size_t oh = 0; oh < g.Ho; ++oh) {
                    const i64 ih = i64(oh * g.sh) - g.pt + i64(i * g.dh);
                    if (ih < 0 || ih >= i64(g.H)) continue;
                    T* dst = x + (c * g.H + std::size_t(ih)) * g.W;
                    const T* src = row + oh * g.Wo;
                    if (owh <= owl) continue;
                    if (g.sw == 1) {
                        T* d = dst + (i64(owl) + off_w);  // inside the row: owl + off_w ≥ 0
                        const T* s = src + owl;
                        for (std::size_t k = 0; k < owh - owl; ++k) d[k] += s[k];
                    } else {
                        for (std::size_t ow = owl; ow < owh; ++ow) dst[i64(ow * g.sw) + off_w] += src[ow];
                    }
                }
            }
}
}  // namespace

Conv2dPadding::Conv2dPadding(int v) : size(std::size_t(v < 0 ? 0 : v)) {
    if (v < 0) throw ValueError("conv2d: negative padding is not supported");
}

Conv2dPadding::Conv2dPadding(const std::string& s) {
    if (s == "same")
        mode = Same;
    else if (s == "valid")
        mode = Valid;
    else
        throw ValueError("conv2d: Invalid padding string: '" + s + "'");
}

template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, const Conv2dFuncOptions& opt) {
    const Shape si = input.shape(), sw = weight.shape();
    if (si.size() != 3 && si.size() != 4)
        throw ShapeError("conv2d: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: " +
                         shape_str(si));
    if (sw.size() != 4)
        throw ShapeError("conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW), got shape " + shape_str(sw));
    const Planes p = planes_of(si);
    const std::size_t groups = opt.groups_;
    const Size2 st = opt.stride_, dl = opt.dilation_;
    if (opt.padding_.mode == Conv2dPadding::Same && (st.h != 1 || st.w != 1))
        throw ValueError("conv2d: padding='same' is not supported for strided convolutions");
    if (st.h == 0 || st.w == 0) throw ValueError("conv2d: non-positive stride is not supported");
    if (dl.h == 0 || dl.w == 0) throw ValueError("conv2d: non-positive dilation is not supported");
    if (groups == 0) throw ValueError("conv2d: non-positive groups is not supported");
    const std::string in4 = sizes4(p.N, p.C, p.H, p.W);
    if (sw[0] < groups)
        throw ShapeError("conv2d: Given groups=" + std::to_string(groups) + ", expected weight to be at least " +
                         std::to_string(groups) + " at dimension 0, but got weight of size " + shape_str(sw) + " instead");
    if (sw[0] % groups != 0)
        throw ShapeError("conv2d: Given groups=" + std::to_string(groups) + ", expected weight to be divisible by " +
                         std::to_string(groups) + " at dimension 0, but got weight of size [" + shape_str(sw) + "] instead");
    if (sw[1] * groups != p.C)
        throw ShapeError("conv2d: Given groups=" + std::to_string(groups) + ", weight of size " + shape_str(sw) +
                         ", expected input" + in4 + " to have " + std::to_string(sw[1] * groups) +
                         " channels, but got " + std::to_string(p.C) + " channels instead");
    const std::size_t O = sw[0], Cg = sw[1], kh = sw[2], kw = sw[3];
    if (bias.defined() && bias.shape() != Shape{O})
        throw ShapeError("conv2d: Given weight of size " + shape_str(sw) + ", expected bias to be 1-dimensional with " +
                         std::to_string(O) + " elements, but got bias of size " + shape_str(bias.shape()) + " instead");
    // padding: top/left and bottom/right ("same": the odd one out goes to the bottom/right, as torch)
    const std::size_t ekh = dl.h * (kh - 1) + 1, ekw = dl.w * (kw - 1) + 1;  // kh, kw ≥ 0
    std::size_t pt = 0, pb = 0, pl = 0, pr = 0;
    if (opt.padding_.mode == Conv2dPadding::Explicit) {
        pt = pb = opt.padding_.size.h;
        pl = pr = opt.padding_.size.w;
    } else if (opt.padding_.mode == Conv2dPadding::Same) {
        const std::size_t th = kh == 0 ? 0 : dl.h * (kh - 1), tw = kw == 0 ? 0 : dl.w * (kw - 1);
        pt = th / 2, pb = th - pt, pl = tw / 2, pr = tw - pl;
    }
    const std::size_t Hp = p.H + pt + pb, Wp = p.W + pl + pr;
    if (kh == 0 || kw == 0 || Hp < ekh || Wp < ekw)
        throw ShapeError("conv2d: Calculated padded input size per channel: (" + std::to_string(Hp) + " x " +
                         std::to_string(Wp) + "). Kernel size: (" + std::to_string(ekh) + " x " + std::to_string(ekw) +
                         "). Kernel size can't be greater than actual input size");
    const ConvGeo geo{p.C, p.H, p.W, kh, kw, st.h, st.w, dl.h, dl.w, (Hp - ekh) / st.h + 1, (Wp - ekw) / st.w + 1,
                      i64(pt), i64(pl)};
    const std::size_t N = p.N, HoWo = geo.Ho * geo.Wo, Og = O / groups, Kg = Cg * kh * kw, K = p.C * kh * kw,
                      CHW = p.C * p.H * p.W;
    // The batch is folded into the GEMMs: the images of a chunk have their columns side by side,
    // (K, b·HoWo), so each group is one GEMM of (O/groups, b·HoWo) per chunk. Chunks hold about 2^18
    // column elements (columns and GEMM stay in cache), an even number of them when there are several
    // (two threads share them evenly); they are the unit of parallel work and fix the order in which
    // the weight gradient is summed, whatever the thread count.
    const ChunkPlan plan = plan_chunks(N, K * HoWo);

    xt::xarray<T> Y = xt::xarray<T>::from_shape(out_shape(p, O, geo.Ho, geo.Wo));
    T* py = Y.data();
    const T* px = input.value().data();
    const T* pw = weight.value().data();
    const T* pbias = bias.defined() ? bias.value().data() : nullptr;
    detail::parallel_for(plan.count, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) {
            const std::size_t n0 = plan.first(c), b = plan.first(c + 1) - n0, ld = b * HoWo;
            T* cols = scratch<T>(0, K * ld);
            T* tmp = scratch<T>(1, O * ld);
            for (std::size_t n = 0; n < b; ++n) im2col(px + (n0 + n) * CHW, geo, cols + n * HoWo, ld);
            for (std::size_t gi = 0; gi < groups; ++gi)
                detail::gemm("conv2d", false, false, Og, ld, Kg, T(1), pw + gi * Og * Kg, Kg, cols + gi * Kg * ld, ld,
                             T(0), tmp + gi * Og * ld, ld);
            // (O, b·HoWo) → (b, O, HoWo), plus the bias
            for (std::size_t n = 0; n < b; ++n)
                for (std::size_t o = 0; o < O; ++o) {
                    const T* src = tmp + o * ld + n * HoWo;
                    T* dst = py + ((n0 + n) * O + o) * HoWo;
                    const T bo = pbias ? pbias[o] : T(0);
                    for (std::size_t k = 0; k < HoWo; ++k) dst[k] = src[k] + bo;
                }
        }
    });
    Tensor<T> out(std::move(Y));
    if (!needs_grad({input, weight, bias})) return out;
    record<T>(out, "conv2d", {input, weight, bias},
              [input, weight, bias, geo, N, O, Og, Kg, K, groups, CHW, plan](const xt::xarray<T>& g, const xt::xarray<T>&) {
                  const T* G = g.data();
                  const std::size_t HoWo = geo.Ho * geo.Wo;
                  const T* px = input.value().data();
                  const T* pw = weight.value().data();
                  const bool want_x = input.requires_grad(), want_w = weight.requires_grad();
                  bool acc = false;
                  if (bias.defined() && bias.requires_grad()) {
                      T* gb = bias.grad_buffer(acc).data();
                      if (!acc) std::fill(gb, gb + O, T(0));
                      for (std::size_t n = 0; n < N; ++n)
                          for (std::size_t o = 0; o < O; ++o) {
                              const T* r = G + (n * O + o) * HoWo;
                              gb[o] += detail::sum_lanes<T>(HoWo, [r](std::size_t k) { return r[k]; });
                          }
                  }
                  if (!want_x && !want_w) return;
                  T* gx = nullptr;
                  T* gw = nullptr;
                  if (want_x) {
                      gx = input.grad_buffer(acc).data();
                      if (!acc) std::fill(gx, gx + N * CHW, T(0));
                  }
                  if (want_w) {
                      gw = weight.grad_buffer(acc).data();
                      if (!acc) std::fill(gw, gw + O * Kg, T(0));
                  }
                  // each chunk's weight gradient on its own (several chunks), added to gw in chunk order below
                  const std::size_t OK = O * Kg;
                  std::unique_ptr<T[]> parts(want_w && plan.count > 1 ? new T[plan.count * OK] : nullptr);
                  detail::parallel_for(plan.count, [&](std::size_t c0, std::size_t c1) {
                      for (std::size_t c = c0; c < c1; ++c) {
                          const std::size_t n0 = plan.first(c), b = plan.first(c + 1) - n0, ld = b * HoWo;
                          // g of these images as (O, b·HoWo): as it is for one image, else side by side
                          const T* Gt = G + n0 * O * HoWo;
                          if (b > 1) {
                              T* t = scratch<T>(1, O * ld);
                              for (std::size_t n = 0; n < b; ++n)
                                  for (std::size_t o = 0; o < O; ++o)
                                      std::copy(G + ((n0 + n) * O + o) * HoWo, G + ((n0 + n) * O + o + 1) * HoWo,
                                                t + o * ld + n * HoWo);
                              Gt = t;
                          }
                          if (want_w) {
                              T* cols = scratch<T>(0, K * ld);
                              for (std::size_t n = 0; n < b; ++n) im2col(px + (n0 + n) * CHW, geo, cols + n * HoWo, ld);
                              T* dst = parts ? parts.get() + c * OK : gw;
                              for (std::size_t gi = 0; gi < groups; ++gi)
                                  detail::gemm("conv2d", false, true, Og, Kg, ld, T(1), Gt + gi * Og * ld, ld,
                                               cols + gi * Kg * ld, ld, parts ? T(0) : T(1), dst + gi * Og * Kg, Kg);
                          }
                          if (want_x) {
                              T* dcols = scratch<T>(2, K * ld);
                              for (std::size_t gi = 0; gi < groups; ++gi)
                                  detail::gemm("conv2d", true, false, Kg, ld, Og, T(1), pw + gi * Og * Kg, Kg,
                                               Gt + gi * Og * ld, ld, T(0), dcols + gi * Kg * ld, ld);
                              for (std::size_t n = 0; n < b; ++n) col2im_add(dcols + n * HoWo, geo, gx + (n0 + n) * CHW, ld);
                          }
                      }
                  });
                  if (parts)
                      for (std::size_t c = 0; c < plan.count; ++c) {
                          const T* pc = parts.get() + c * OK;
                          for (std::size_t k = 0; k < OK; ++k) gw[k] += pc[k];
                      }
              });
    TAPEGRAD_REPLAY(out, conv2d(in[0], in[1], in[2], opt));
    return out;
}

template <class T>
Tensor<T> conv2d(const Tensor<T>& input, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                 Conv2dPadding padding, Size2 dilation, std::size_t groups) {
    return conv2d(input, weight, bias, Conv2dFuncOptions().stride(stride).padding(padding).dilation(dilation).groups(groups));
}

// ---------------------------------------------------------------- pooling
namespace {
i64 div_floor(i64 a, i64 b) {
    i64 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}
// torch's pooling_output_shape: ⌊(in + 2·pad − dilation·(k − 1) − 1 (+ stride − 1 if ceil))/stride⌋ + 1,
// one less when ceil_mode's last window would start past the input and its left padding
i64 pool_out(i64 in, i64 k, i64 pad, i64 stride, i64 dil, bool ceil_mode) {
    i64 o = div_floor(in + 2 * pad - dil * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0), stride) + 1;
    if (ceil_mode && (o - 1) * stride >= in + pad) --o;
    return o;
}

// The checks of torch's max_pool2d / avg_pool2d (Pool.h), in its order; returns (Ho, Wo).
std::pair<std::size_t, std::size_t> pool_shape(const char* op, const Shape& s, Size2 k, Size2 st, Size2 pad, Size2 dil,
                                               bool ceil_mode) {
    const std::string o = std::string(op) + ": ";
    if (s.size() != 3 && s.size() != 4) throw ShapeError(o + "non-empty 3D or 4D (batch mode) tensor expected for input");
    if (st.h == 0 || st.w == 0) throw ValueError(o + "stride should not be zero");
    if (k.h == 0 || k.w == 0)
        throw ValueError(o + "kernel size should be greater than zero, but got kH: " + std::to_string(k.h) +
                         " kW: " + std::to_string(k.w));
    if (dil.h == 0 || dil.w == 0)
        throw ValueError(o + "dilation should be greater than zero, but got dilationH: " + std::to_string(dil.h) +
                         " dilationW: " + std::to_string(dil.w));
    const Planes p = planes_of(s);
    if (p.C == 0 || p.H == 0 || p.W == 0)
        throw ShapeError(o + "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but got:" +
                         shape_str(s));
    if (k.w / 2 < pad.w || k.h / 2 < pad.h)
        throw ValueError(o + "pad should be at most half of kernel size, but got pad=" + std::to_string(pad.w) +
                         " and kernel_size=" + std::to_string(k.w));
    const i64 Ho = pool_out(i64(p.H), i64(k.h), i64(pad.h), i64(st.h), i64(dil.h), ceil_mode);
    const i64 Wo = pool_out(i64(p.W), i64(k.w), i64(pad.w), i64(st.w), i64(dil.w), ceil_mode);
    if (Ho < 1 || Wo < 1)
        throw ShapeError(o + "Given input size: (" + std::to_string(p.C) + "x" + std::to_string(p.H) + "x" +
                         std::to_string(p.W) + "). Calculated output size: (" + std::to_string(p.C) + "x" +
                         std::to_string(Ho) + "x" + std::to_string(Wo) + "). Output size is too small");
    return {std::size_t(Ho), std::size_t(Wo)};
}

// One step of max_pool2d's scan over a row of outputs: output ow looks at xs[ow·sw] (element number
// off + ow·sw of its plane); a strictly larger value or a NaN takes over, as in torch.
template <class T>
void max_scan(const T* __restrict xs, std::size_t sw, i64 off, std::size_t lo, std::size_t hi, T* __restrict mv,
              i64* __restrict mi) {
    if (sw == 1) {  // contiguous: vectorizes
        for (std::size_t ow = lo; ow < hi; ++ow) {
            const T v = xs[ow], m = mv[ow];
            const i64 e = off + i64(ow), c = mi[ow];
            const bool take = (v > m) | (v != v);
            mv[ow] = take ? v : m;
            mi[ow] = take ? e : c;
        }
        return;
    }
    for (std::size_t ow = lo; ow < hi; ++ow) {  // strided: scalar, selects instead of branches
        const T v = xs[ow * sw], m = mv[ow];
        const i64 e = off + i64(ow * sw), c = mi[ow];
        const bool take = (v > m) | (v != v);
        mv[ow] = take ? v : m;
        mi[ow] = take ? e : c;
    }
}
// max_pool2d 2×2, stride 2, no padding, every window inside the input, on planes [q0, q1): the four
// values of a window in registers, compared in torch's order.
template <class T>
void max_pool_2x2(const T* __restrict px, T* __restrict py, i64* __restrict idx, std::size_t q0, std::size_t q1,
                  std::size_t H, std::size_t W, std::size_t Ho, std::size_t Wo) {
    for (std::size_t q = q0; q < q1; ++q)
        for (std::size_t oh = 0; oh < Ho; ++oh) {
            const i64 r0 = i64(2 * oh * W), r1 = r0 + i64(W);
            const T* x = px + q * H * W;
            T* mv = py + q * Ho * Wo + oh * Wo;
            i64* mi = idx + q * Ho * Wo + oh * Wo;
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const i64 e[4] = {r0 + i64(2 * ow), r0 + i64(2 * ow) + 1, r1 + i64(2 * ow), r1 + i64(2 * ow) + 1};
                T m = -std::numeric_limits<T>::infinity();
                i64 at = e[0];
                for (int t = 0; t < 4; ++t) {
                    const T v = x[e[t]];
                    const bool take = (v > m) | (v != v);
                    m = take ? v : m;
                    at = take ? e[t] : at;
                }
                mv[ow] = m, mi[ow] = at;
            }
        }
}
}  // namespace

template <class T> Tensor<T> max_pool2d(const Tensor<T>& input, const MaxPool2dOptions& opt) {
    const Shape s = input.shape();
    const Size2 k = opt.kernel_size_, st = opt.stride_.value_or(opt.kernel_size_), pad = opt.padding_, dl = opt.dilation_;
    const auto [Ho, Wo] = pool_shape("max_pool2d", s, k, st, pad, dl, opt.ceil_mode_);
    const Planes p = planes_of(s);
    const std::size_t P = p.N * p.C, HW = p.H * p.W, HoWo = Ho * Wo;
    xt::xarray<T> Y = xt::xarray<T>::from_shape(out_shape(p, p.C, Ho, Wo));
    // arg-max of each output within its plane (−1: a window wholly in the padding)
    std::shared_ptr<i64[]> idx(new i64[P * HoWo]);  // every entry is written below: no zero-fill
    const T* px = input.value().data();
    T* py = Y.data();
    const bool pool_2x2 = k.h == 2 && k.w == 2 && st.h == 2 && st.w == 2 && pad.h == 0 && pad.w == 0 && dl.h == 1 &&
                          dl.w == 1 && 2 * Ho <= p.H && 2 * Wo <= p.W;  // every window inside the input
    if (pool_2x2) {  // the usual case: four values per output, in registers, in torch's order
        detail::parallel_for(P, [px, py, ix = idx.get(), H = p.H, W = p.W, Ho = Ho, Wo = Wo](std::size_t q0, std::size_t q1) {
            max_pool_2x2(px, py, ix, q0, q1, H, W, Ho, Wo);
        });
    } else {
        // Per output row, the window is scanned element by element — rows ih, then columns j — as torch
        // scans it, but with the outputs of the row as the inner loop, so the compiler keeps the running
        // maxima in vector registers and selects without branches (which element wins is data: a
        // branch per element mispredicts half the time).
        std::vector<i64> first(Wo);  // per ow: the first column inside the input, or W if none
        std::vector<std::size_t> jlo(k.w), jhi(k.w);  // per window column j: the ow with 0 ≤ ow·sw − pw + j·dw < W
        for (std::size_t ow = 0; ow < Wo; ++ow) {
            i64 w0 = i64(ow * st.w) - i64(pad.w);
            const i64 w1 = std::min<i64>(w0 + i64((k.w - 1) * dl.w) + 1, i64(p.W));
            while (w0 < 0) w0 += i64(dl.w);
            first[ow] = w0 < w1 ? w0 : i64(p.W);
        }
        for (std::size_t j = 0; j < k.w; ++j) {
            const i64 off = i64(j * dl.w) - i64(pad.w);
            const i64 lo = off >= 0 ? 0 : (-off + i64(st.w) - 1) / i64(st.w);
            const i64 hi = i64(p.W) - off <= 0 ? 0 : std::min<i64>((i64(p.W) - off + i64(st.w) - 1) / i64(st.w), i64(Wo));
            jlo[j] = std::size_t(std::min(lo, hi)), jhi[j] = std::size_t(hi);
        }
        detail::parallel_for(P, [&](std::size_t q0, std::size_t q1) {
        for (std::size_t q = q0; q < q1; ++q) {
            const T* x = px + q * HW;
            for (std::size_t oh = 0; oh < Ho; ++oh) {
                i64 h0 = i64(oh * st.h) - i64(pad.h);
                const i64 h1 = std::min<i64>(h0 + i64((k.h - 1) * dl.h) + 1, i64(p.H));
                while (h0 < 0) h0 += i64(dl.h);
                T* mv = py + q * HoWo + oh * Wo;
                i64* mi = idx.get() + q * HoWo + oh * Wo;
                for (std::size_t ow = 0; ow < Wo; ++ow) {
                    mv[ow] = -std::numeric_limits<T>::infinity();
                    mi[ow] = h0 < h1 && first[ow] < i64(p.W) ? h0 * i64(p.W) + first[ow] : -1;
                }
                for (i64 ih = h0; ih < h1; ih += i64(dl.h))
                    for (std::size_t j = 0; j < k.w; ++j) {
                        const i64 off = ih * i64(p.W) + i64(j * dl.w) - i64(pad.w);  // + ow·sw: the element
                        max_scan(x + off, st.w, off, jlo[j], jhi[j], mv, mi);
                    }
            }
        }
        });
    }
    Tensor<T> out(std::move(Y));
    if (!needs_grad({input})) return out;
    record<T>(out, "max_pool2d", {input}, [input, idx, P, HW, HoWo](const xt::xarray<T>& g, const xt::xarray<T>&) {
        bool acc = false;
        T* gx = input.grad_buffer(acc).data();
        if (!acc) std::fill(gx, gx + P * HW, T(0));
        const T* G = g.data();
        const i64* id = idx.get();
        detail::parallel_for(P, [&](std::size_t q0, std::size_t q1) {  // planes apart: no two parts write one element
            for (std::size_t q = q0; q < q1; ++q)
                for (std::size_t o = 0; o < HoWo; ++o)
                    if (id[q * HoWo + o] >= 0) gx[q * HW + std::size_t(id[q * HoWo + o])] += G[q * HoWo + o];
        });
    });
    TAPEGRAD_REPLAY(out, max_pool2d(in[0], opt));
    return out;
}

template <class T>
Tensor<T> max_pool2d(const Tensor<T>& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation,
                     bool ceil_mode) {
    MaxPool2dOptions o(kernel_size);
    o.stride_ = stride;
    return max_pool2d(input, o.padding(padding).dilation(dilation).ceil_mode(ceil_mode));
}

namespace {
// torch's cpu_avg_pool window: [h0, h1) × [w0, w1) clipped to the input, and its divisor
struct AvgWin {
    i64 h0, h1, w0, w1;
    i64 div;
};
AvgWin avg_window(std::size_t oh, std::size_t ow, const Planes& p, Size2 k, Size2 st, Size2 pad,
                  const AvgPool2dOptions& opt) {
    i64 h0 = i64(oh * st.h) - i64(pad.h), w0 = i64(ow * st.w) - i64(pad.w);
    i64 h1 = std::min<i64>(h0 + i64(k.h), i64(p.H + pad.h)), w1 = std::min<i64>(w0 + i64(k.w), i64(p.W + pad.w));
    const i64 pool_size = (h1 - h0) * (w1 - w0);
    h0 = std::max<i64>(h0, 0), w0 = std::max<i64>(w0, 0);
    h1 = std::min<i64>(h1, i64(p.H)), w1 = std::min<i64>(w1, i64(p.W));
    const i64 div = opt.divisor_override_ ? *opt.divisor_override_
                                          : (opt.count_include_pad_ ? pool_size : (h1 - h0) * (w1 - w0));
    return {h0, h1, w0, w1, div};
}
}  // namespace

template <class T> Tensor<T> avg_pool2d(const Tensor<T>& input, const AvgPool2dOptions& opt) {
    if (opt.divisor_override_ && *opt.divisor_override_ == 0) throw ValueError("avg_pool2d: divisor must be not zero");
    const Shape s = input.shape();
    const Size2 k = opt.kernel_size_, st = opt.stride_.value_or(opt.kernel_size_), pad = opt.padding_;
    const auto [Ho, Wo] = pool_shape("avg_pool2d", s, k, st, pad, Size2(1), opt.ceil_mode_);
    const Planes p = planes_of(s);
    const std::size_t P = p.N * p.C, HW = p.H * p.W, HoWo = Ho * Wo;
    xt::xarray<T> Y = xt::xarray<T>::from_shape(out_shape(p, p.C, Ho, Wo));
    const T* px = input.value().data();
    T* py = Y.data();
    for (std::size_t q = 0; q < P; ++q)
        for (std::size_t oh = 0; oh < Ho; ++oh)
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const AvgWin a = avg_window(oh, ow, p, k, st, pad, opt);
                T& y = py[q * HoWo + oh * Wo + ow];
                if (a.h0 >= a.h1 || a.w0 >= a.w1) {
                    y = T(0);
                    continue;
                }
                T sum = T(0);
                for (i64 ih = a.h0; ih < a.h1; ++ih)
                    for (i64 iw = a.w0; iw < a.w1; ++iw) sum += px[q * HW + std::size_t(ih * i64(p.W) + iw)];
                y = sum / T(a.div);
            }
    Tensor<T> out(std::move(Y));
    if (!needs_grad({input})) return out;
    record<T>(out, "avg_pool2d", {input}, [input, p, k, st, pad, opt, Ho = Ho, Wo = Wo](const xt::xarray<T>& g, const xt::xarray<T>&) {
        bool acc = false;
        const std::size_t P = p.N * p.C, HW = p.H * p.W, HoWo = Ho * Wo;
        T* gx = input.grad_buffer(acc).data();
        if (!acc) std::fill(gx, gx + P * HW, T(0));
        const T* G = g.data();
        for (std::size_t q = 0; q < P; ++q)
            for (std::size_t oh = 0; oh < Ho; ++oh)
                for (std::size_t ow = 0; ow < Wo; ++ow) {
                    const AvgWin a = avg_window(oh, ow, p, k, st, pad, opt);
                    const T v = G[q * HoWo + oh * Wo + ow] / T(a.div);
                    for (i64 ih = a.h0; ih < a.h1; ++ih)
                        for (i64 iw = a.w0; iw < a.w1; ++iw) gx[q * HW + std::size_t(ih * i64(p.W) + iw)] += v;
                }
    });
    TAPEGRAD_REPLAY(out, avg_pool2d(in[0], opt));
    return out;
}

template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& input, Size2 kernel_size, std::optional<Size2> stride, Size2 padding, bool ceil_mode,
                     bool count_include_pad, std::optional<std::int64_t> divisor_override) {
    AvgPool2dOptions o(kernel_size);
    o.stride_ = stride;
    return avg_pool2d(input, o.padding(padding).ceil_mode(ceil_mode).count_include_pad(count_include_pad).divisor_override(divisor_override));
}

template <class T> Tensor<T> adaptive_avg_pool2d(const Tensor<T>& input, Size2 output_size) {
    const Shape s = input.shape();
    if (s.size() < 3) throw ShapeError("adaptive_avg_pool2d: Input dimension should be at least 3");
    if (s.size() > 4)
        throw ShapeError("adaptive_avg_pool2d: adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + shape_str(s));
    for (std::size_t d = 1; d < s.size(); ++d)
        if (s[d] == 0)
            throw ShapeError("adaptive_avg_pool2d: adaptive_avg_pool2d(): Expected input to have non-zero size for "
                             "non-batch dimensions, but input has sizes " + shape_str(s) + " with dimension " +
                             std::to_string(d) + " being empty");
    const Planes p = planes_of(s);
    const std::size_t Ho = output_size.h, Wo = output_size.w, P = p.N * p.C, HW = p.H * p.W, HoWo = Ho * Wo;
    // torch's start_index / end_index: ⌊o·in/out⌋ and ⌈(o + 1)·in/out⌉
    auto rows = std::make_shared<std::vector<std::size_t>>(2 * (Ho + Wo));
    for (std::size_t o = 0; o < Ho; ++o) (*rows)[2 * o] = o * p.H / Ho, (*rows)[2 * o + 1] = ((o + 1) * p.H + Ho - 1) / Ho;
    for (std::size_t o = 0; o < Wo; ++o)
        (*rows)[2 * Ho + 2 * o] = o * p.W / Wo, (*rows)[2 * Ho + 2 * o + 1] = ((o + 1) * p.W + Wo - 1) / Wo;
    xt::xarray<T> Y = xt::xarray<T>::from_shape(out_shape(p, p.C, Ho, Wo));
    const T* px = input.value().data();
    T* py = Y.data();
    const std::size_t* b = rows->data();
    for (std::size_t q = 0; q < P; ++q)
        for (std::size_t oh = 0; oh < Ho; ++oh)
            for (std::size_t ow = 0; ow < Wo; ++ow) {
                const std::size_t h0 = b[2 * oh], h1 = b[2 * oh + 1], w0 = b[2 * Ho + 2 * ow], w1 = b[2 * Ho + 2 * ow + 1];
                T sum = T(0);
                for (std::size_t ih = h0; ih < h1; ++ih)
                    for (std::size_t iw = w0; iw < w1; ++iw) sum += px[q * HW + ih * p.W + iw];
                py[q * HoWo + oh * Wo + ow] = sum / T(h1 - h0) / T(w1 - w0);
            }
    Tensor<T> out(std::move(Y));
    if (!needs_grad({input})) return out;
    record<T>(out, "adaptive_avg_pool2d", {input}, [input, rows, P, HW, Ho, Wo, W = p.W](const xt::xarray<T>& g, const xt::xarray<T>&) {
        bool acc = false;
        T* gx = input.grad_buffer(acc).data();
        if (!acc) std::fill(gx, gx + P * HW, T(0));
        const T* G = g.data();
        const std::size_t* b = rows->data();
        for (std::size_t q = 0; q < P; ++q)
            for (std::size_t oh = 0; oh < Ho; ++oh)
                for (std::size_t ow = 0; ow < Wo; ++ow) {
                    const std::size_t h0 = b[2 * oh], h1 = b[2 * oh + 1], w0 = b[2 * Ho + 2 * ow], w1 = b[2 * Ho + 2 * ow + 1];
                    const T v = G[q * Ho * Wo + oh * Wo + ow] / T(h1 - h0) / T(w1 - w0);
                    for (std::size_t ih = h0; ih < h1; ++ih)
                        for (std::size_t iw = w0; iw < w1; ++iw) gx[q * HW + ih * W + iw] += v;
                }
    });
    TAPEGRAD_REPLAY(out, adaptive_avg_pool2d(in[0], output_size));
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                    \
    template Tensor<T> conv2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, const Conv2dFuncOptions&);     \
    template Tensor<T> conv2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, Conv2dPadding, Size2,   \
                              std::size_t);                                                                        \
    template Tensor<T> max_pool2d(const Tensor<T>&, const MaxPool2dOptions&);                                      \
    template Tensor<T> max_pool2d(const Tensor<T>&, Size2, std::optional<Size2>, Size2, Size2, bool);              \
    template Tensor<T> avg_pool2d(const Tensor<T>&, const AvgPool2dOptions&);                                      \
    template Tensor<T> avg_pool2d(const Tensor<T>&, Size2, std::optional<Size2>, Size2, bool, bool,                \
                                  std::optional<std::int64_t>);                                                    \
    template Tensor<T> adaptive_avg_pool2d(const Tensor<T>&, Size2);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)

}  // namespace tapegrad
