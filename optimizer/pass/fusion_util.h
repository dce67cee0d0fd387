// Shared pieces of the weight-folding fusions (Conv/Gemm + BatchNormalization, Conv + Mul/Add,
// BatchNormalization decomposition): reading float constants, per-channel affine maps, and
// rewriting a Conv's or Gemm's constant weights so that it also applies such a map.
#pragma once

#include <optional>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/pass/rewriter.h"

namespace graphopt {

// Element types whose weights the fusions rewrite: the arithmetic happens in double and is
// rounded once into the weight's own type.
bool IsFoldableFloatType(DataType type);

// The constant behind `v` as doubles when it is a floating-point tensor, else nullopt.
std::optional<std::vector<double>> ConstantFloats(const ir::Value* v);

// A tensor of `dtype` (a foldable float type) holding `values`.
Tensor MakeFloatTensor(DataType dtype, Shape shape, const std::vector<double>& values);

// y[.., c, ..] = x[.., c, ..] * scale[c] + shift[c], one entry per channel.
struct ChannelAffine {
  std::vector<double> scale, shift;
  static ChannelAffine Scale(std::vector<double> s);
  static ChannelAffine Shift(std::vector<double> s);
  bool finite() const;
};

// The affine map an inference-mode BatchNormalization applies along axis 1, when its four
// parameters are float constants of one length and the map is finite (var + epsilon > 0).
// nullopt for training mode, used statistics outputs, per-activation (spatial=0) BN.
std::optional<ChannelAffine> InferenceBatchNormAffine(const ir::Node* bn);

// Values of constant `v` when it broadcasts against a [N, C, ...] tensor of rank `rank`
// varying at most along axis 1 and without growing that tensor: scalar, [C,1,..,1],
// [1,C,1,..,1] and all-ones shapes. Returns `channels` values (a scalar is repeated).
std::optional<std::vector<double>> PerChannelConstant(const ir::Value* v, int64_t rank,
                                                      int64_t channels);

// A Conv whose output 0 feeds exactly one consumer (and is no graph output), with constant
// float weights and an absent or constant bias: its output channels can absorb an affine map.
struct FoldableConv {
  ir::Node* conv = nullptr;
  const Tensor* weight = nullptr;
  std::vector<double> bias;  // empty when the Conv has no bias
  int64_t out_channels() const { return weight->shape()[0]; }
  int64_t rank() const { return weight->rank(); }  // rank of the Conv's input and output
};
std::optional<FoldableConv> MatchFoldableConv(const ir::Value* conv_output);

// Rewrites the Conv's weight and bias (as new initializers; shared originals stay intact) so
// that it computes affine(conv(x)). A zero shift on a bias-less Conv adds no bias.
void FoldAffineIntoConv(ir::Graph& g, const FoldableConv& fc, const ChannelAffine& affine);

// A Gemm whose output feeds exactly one consumer, with constant float B and an absent or
// constant C broadcastable to [M, N]: its output columns can absorb an affine map.
struct FoldableGemm {
  ir::Node* gemm = nullptr;
  const Tensor* b = nullptr;
  const Tensor* c = nullptr;  // nullptr when absent
  int64_t n = 0;              // output columns
};
std::optional<FoldableGemm> MatchFoldableGemm(const ir::Value* gemm_output);

// Rewrites B and C so the Gemm computes affine(gemm(a)) along its columns (beta becomes 1).
void FoldAffineIntoGemm(ir::Graph& g, const FoldableGemm& fg, const ChannelAffine& affine);

// Makes `consumer`'s readers read `replacement` instead of `consumer`'s output 0 and deletes
// `consumer` (and constant producers only it read). False, nothing changed, if the output
// name cannot be kept (see ReplaceValue).
bool AbsorbConsumer(Rewriter& rw, ir::Node* consumer, ir::Value* replacement);

// The `activation_params` a fused convolution (com.microsoft FusedConv, nchwc Conv) takes for
// activation node `act` (Relu, Sigmoid, Tanh, HardSwish, LeakyRelu, HardSigmoid, Clip), with
// the ONNX defaults; nullopt for other ops or a Clip whose bounds are not constants. Whether the
// fused op accepts the activation at all is the caller's (the target profile's) question.
std::optional<std::vector<float>> FusedActivationParams(const ir::Node* act, int64_t opset);

}  // namespace graphopt
