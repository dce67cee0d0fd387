// Window geometry shared by Conv, ConvTranspose and the pooling kernels: reading strides,
// dilations, pads and auto_pad, and deriving output sizes by the ONNX rules.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/reference/kernel.h"

namespace graphopt::reference {

// Sizes along the spatial axes (everything after N and C) of one windowed operator.
struct SpatialGeometry {
  std::vector<int64_t> input;
  std::vector<int64_t> kernel;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;
  std::vector<int64_t> output;

  size_t rank() const { return input.size(); }
  int64_t InputSize() const;
  int64_t OutputSize() const;
  int64_t KernelSize() const;
};

// Fills input, kernel, strides, dilations and the explicit `pads` of the node (defaults 1/1/0),
// checking their lengths and signs. Output and auto_pad are left to the caller.
Status ReadWindowAttributes(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                            const std::vector<int64_t>& kernel, SpatialGeometry* g);

// Conv/pool geometry: window attributes plus auto_pad (NOTSET, SAME_UPPER, SAME_LOWER, VALID)
// and the output size, rounded down, or up when `ceil_mode` (a window must still start
// inside the input or its begin padding). Fails on non-positive output sizes.
Status ComputeSpatialGeometry(const KernelContext& ctx, const std::vector<int64_t>& input_spatial,
                              const std::vector<int64_t>& kernel, bool ceil_mode,
                              SpatialGeometry* g);

// A geometry of rank 1..3 widened to exactly three axes (leading axes of size 1), so the
// loops of each kernel are written once for 1-D, 2-D and 3-D.
struct Geometry3D {
  int64_t in[3];
  int64_t out[3];
  int64_t kernel[3];
  int64_t stride[3];
  int64_t dilation[3];
  int64_t pad[3];      // begin padding
  int64_t pad_end[3];  // end padding (pooling's count_include_pad needs it)
  int64_t InputSize() const { return in[0] * in[1] * in[2]; }
  int64_t OutputSize() const { return out[0] * out[1] * out[2]; }
  int64_t KernelSize() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// False when the geometry has more than three spatial axes.
bool ToGeometry3D(const SpatialGeometry& g, Geometry3D* out);

// Output positions [*begin, *end) along one axis whose input position
// o * stride + offset lies inside [0, in_size).
void ValidOutputRange(int64_t out_size, int64_t stride, int64_t offset, int64_t in_size,
                      int64_t* begin, int64_t* end);

// "auto_pad" attribute value with the deprecated empty string mapped to NOTSET.
std::string AutoPad(const KernelContext& ctx);

}  // namespace graphopt::reference
