// Window geometry for Conv/ConvTranspose/pooling: attributes and output-size rules.
#include "backends/reference/kernels/spatial_util.h"

#include <algorithm>
#include <string>

namespace graphopt::reference {

namespace {

int64_t Product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

std::string Join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

int64_t SpatialGeometry::InputSize() const { return Product(input); }
int64_t SpatialGeometry::OutputSize() const { return Product(output); }
int64_t SpatialGeometry::KernelSize() const { return Product(kernel); }

std::string AutoPad(const KernelContext& ctx) {
  std::string s = ctx.node().GetString("auto_pad", "NOTSET");
  return s.empty() ? "NOTSET" : s;
}

Status ReadWindowAttributes(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                            const std::vector<int64_t>& kernel, SpatialGeometry* g) {
  const size_t rank = input_spatial.size();
  const ir::Node& node = ctx.node();
  g->input = input_spatial;
  g->kernel = kernel;
  if (kernel.size() != rank) {
    return ctx.Fail("kernel has " + std::to_string(kernel.size()) + " spatial dims, input has " +
                    std::to_string(rank));
  }
  for (int64_t k : kernel) {
    if (k <= 0) return ctx.Fail("kernel_shape " + Join(kernel) + " must be positive");
  }
  g->strides = node.GetInts("strides", std::vector<int64_t>(rank, 1));
  if (g->strides.empty()) g->strides.assign(rank, 1);
  g->dilations = node.GetInts("dilations", std::vector<int64_t>(rank, 1));
  if (g->dilations.empty()) g->dilations.assign(rank, 1);
  std::vector<int64_t> pads = node.GetInts("pads", std::vector<int64_t>(2 * rank, 0));
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (g->strides.size() != rank)
    return ctx.Fail("strides " + Join(g->strides) + " has wrong length");
  if (g->dilations.size() != rank) {
    return ctx.Fail("dilations " + Join(g->dilations) + " has wrong length");
  }
  if (pads.size() != 2 * rank) return ctx.Fail("pads " + Join(pads) + " has wrong length");
  for (size_t i = 0; i < rank; ++i) {
    if (g->strides[i] <= 0) return ctx.Fail("strides " + Join(g->strides) + " must be positive");
    if (g->dilations[i] <= 0) {
      return ctx.Fail("dilations " + Join(g->dilations) + " must be positive");
    }
    if (pads[i] < 0 || pads[i + rank] < 0) return ctx.Fail("pads " + Join(pads) + " is negative");
  }
  g->pad_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
  g->pad_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(rank), pads.end());
  return Status::Ok();
}

Status ComputeSpatialGeometry(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                              const std::vector<int64_t>& kernel, bool ceil_mode,
                              SpatialGeometry* g) {
  Status st = ReadWindowAttributes(ctx, input_spatial, kernel, g);
  if (!st.ok()) return st;
  const size_t rank = input_spatial.size();
  const std::string auto_pad = AutoPad(ctx);
  g->output.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t in = g->input[i];
    const int64_t s = g->strides[i];
    const int64_t extent = (g->kernel[i] - 1) * g->dilations[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in);
      const int64_t small = total / 2;
      g->pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g->pad_end[i] = total - g->pad_begin[i];
      g->output[i] = out;
    } else if (auto_pad == "VALID" || auto_pad == "NOTSET") {
      if (auto_pad == "VALID") g->pad_begin[i] = g->pad_end[i] = 0;
      const int64_t span = in + g->pad_begin[i] + g->pad_end[i] - extent;
      if (span < 0) {
        return ctx.Fail("window of extent " + std::to_string(extent) + " does not fit input dim " +
                        std::to_string(in) + " with its padding");
      }
      int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // With ceil_mode the last window must start inside the input or the begin padding.
      if (ceil_mode && (out - 1) * s >= in + g->pad_begin[i]) --out;
      g->output[i] = out;
    } else {
      return ctx.Fail("unknown auto_pad '" + auto_pad + "'");
    }
    if (g->output[i] <= 0) return ctx.Fail("output spatial size would be " + Join(g->output));
  }
  return Status::Ok();
}

bool ToGeometry3D(const SpatialGeometry& g, Geometry3D* out) {
  const size_t rank = g.rank();
  if (rank > 3) return false;
  const size_t lead = 3 - rank;
  for (size_t i = 0; i < 3; ++i) {
    const bool real = i >= lead;
    const size_t j = real ? i - lead : 0;
    out->in[i] = real ? g.input[j] : 1;
    out->out[i] = real ? g.output[j] : 1;
    out->kernel[i] = real ? g.kernel[j] : 1;
    out->stride[i] = real ? g.strides[j] : 1;
    out->dilation[i] = real ? g.dilations[j] : 1;
    out->pad[i] = real ? g.pad_begin[j] : 0;
    out->pad_end[i] = real ? g.pad_end[j] : 0;
  }
  return true;
}

void ValidOutputRange(int64_t out_size, int64_t stride, int64_t offset, int64_t in_size,
                      int64_t* begin, int64_t* end) {
  // Smallest o with o*stride + offset >= 0, and smallest o with o*stride + offset >= in_size.
  const int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  const int64_t limit = in_size - offset;
  const int64_t hi = limit <= 0 ? 0 : (limit + stride - 1) / stride;
  *begin = std::min(lo, out_size);
  *end = std::max(*begin, std::min(hi, out_size));
}

}  // namespace graphopt::reference
