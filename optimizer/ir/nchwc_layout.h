// ONNX Runtime's NCHWc blocked layout, shared by the layout pass (which reorders weights once
// into initializers) and the reference kernels of the com.microsoft.nchwc operators (which
// undo the blocking to compute). Facts from ONNX Runtime's MLAS reorder routines:
//  - activations: a 4-D tensor [N, C', H, W] with C' = C rounded up to the block; memory is
//    [N][C'/B][H][W][B], padded channels hold zeros after ReorderInput;
//  - filters OIHWBiBo: [O'/B][I/B][kH][kW][Bi][Bo], I a multiple of B;
//  - filters OIHWBo: [O'/B][I][kH][kW][Bo] (depthwise, or an NCHW input of fewer than B
//    channels); both are stored with the 4-D shape [O', I, kH, kW], padded outputs zero.
#pragma once

#include <cstdint>
#include <optional>

#include "optimizer/ir/tensor.h"

namespace graphopt::ir {

inline constexpr const char* kNchwcDomain = "com.microsoft.nchwc";
// Model metadata recording the block size an artifact's NCHWc tensors were laid out for; the
// reference kernels read it, since ONNX Runtime takes the block size from the CPU instead.
inline constexpr const char* kNchwcBlockSizeKey = "graphopt.nchwc_block_size";

inline int64_t AlignChannels(int64_t channels, int64_t block) {
  return (channels + block - 1) / block * block;
}

// [N, C, H, W] float -> blocked [N, C', H, W] (zero-padded channels).
Tensor BlockActivations(const Tensor& nchw, int64_t block);
// Blocked [N, C', H, W] float -> [N, channels, H, W], channels <= C'.
Tensor UnblockActivations(const Tensor& blocked, int64_t channels, int64_t block);

enum class FilterLayout { kOIHWBiBo, kOIHWBo };
// Whether ONNX Runtime's NCHWc rewrite takes a 2-D Conv of these channel counts (W is
// [out, in_per_group, kH, kW]), and how: the filter layout, whether the input is blocked (an
// input of fewer channels than the block is read as NCHW), the filter's input channels (an
// input of a multiple of 4 channels is padded to the block with zero weights) and the group
// of the blocked Conv (a depthwise one runs over every padded channel).
struct NchwcConvForm {
  FilterLayout layout;
  bool blocked_input;
  int64_t filter_inputs;
  int64_t group;
};
std::optional<NchwcConvForm> NchwcConvFormFor(int64_t in_per_group, int64_t out, int64_t group,
                                              int64_t block);
// ONNX Runtime's ReorderInput handles channels in groups of this many.
inline constexpr int64_t kNchwcChannelAlignment = 4;

// An OIHW filter with its input channels zero-padded to `inputs`.
Tensor PadFilterInputs(const Tensor& oihw, int64_t inputs);

// OIHW float filter -> the blocked form, shape [O', I, kH, kW].
Tensor ReorderFilter(const Tensor& oihw, FilterLayout layout, int64_t block);
// The inverse: a blocked filter of shape [O', I, kH, kW] -> plain OIHW with O' outputs.
Tensor UnreorderFilter(const Tensor& blocked, FilterLayout layout, int64_t block);

}  // namespace graphopt::ir
