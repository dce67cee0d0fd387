// Fuses self-attention into com.microsoft.Attention: the subgraphs of torch.nn.MultiheadAttention
// exports (TransformerEncoder layers, torchvision's VisionTransformer; packed QKV, key padding
// mask; the output projection stays as MatMul + Add so SkipLayerNormalization can absorb the
// bias) and of BERT-style exports (separate Q/K/V projections packed here, additive mask).
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseAttention : public RulePass {
 public:
  FuseAttention();
};

}  // namespace graphopt
