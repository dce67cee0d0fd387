// Fuses a BERT-style embedding block into com.microsoft.EmbedLayerNormalization: a word lookup
// (Gather on a constant table), a position term and an optional segment lookup, summed by Adds
// and normalized by LayerNormalization over the hidden axis (fuse_layer_norm, ordered before
// this pass, turns the decomposed form into that op first).
//
// The position term is Gather(table, positions) with constant positions 0..S-1, or the constant
// [S, hidden] / [1, S, hidden] slice that constant folding leaves of it once the sequence length
// is fixed: any such constant is a table the fused op reads at rows 0..S-1. Dynamic or other
// positions do not fuse. Ids reach the fused op as int32 through Mod by the table's row count
// and a Cast: Mod maps Gather's negative indices (-rows..-1) onto the rows they address and
// leaves 0..rows-1 as they are, so the Cast is exact for every id Gather accepts. (An id outside
// -rows..rows-1, an error for Gather, wraps to a row instead: valid inputs keep their outputs.)
//
// No shared model has this block. text_encoder sums token and position embeddings, but its
// post-norm encoder layers feed that sum to self-attention and to the residual Add: the first
// LayerNorm normalizes sum + attention(sum), not the embedding sum. vit_small adds its position
// embedding to a Conv patch projection, not to a table lookup. The golden tests build the block.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseEmbedLayerNorm : public RulePass {
 public:
  FuseEmbedLayerNorm();
};

}  // namespace graphopt
