// Moves a per-tensor DequantizeLinear forward through data movement (Reshape, Transpose,
// Squeeze, Unsqueeze, Flatten, MaxPool, Concat), so the op runs on the integers and the DQ
// lands where QDQ node units expect it (beside the next Conv/MatMul, or before a Q it cancels).
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class PropagateDequantize : public RulePass {
 public:
  PropagateDequantize();
};

}  // namespace graphopt
