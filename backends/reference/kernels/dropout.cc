// Dropout at inference: the identity, with an all-true mask. Training mode is random, so the
// reference executor refuses it unless the ratio makes it deterministic (0).
#include "backends/reference/kernel.h"

namespace graphopt::reference {
namespace {

Status DropoutKernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  bool training = ctx.opset() < 7 && ctx.node().GetInt("is_test", 0) == 0;
  if (const Tensor* t = ctx.input(2)) training = t->size() > 0 && t->GetDouble(0) != 0;
  double ratio = ctx.opset() < 12 ? ctx.node().GetFloat("ratio", 0.5f) : 0.5;
  if (const Tensor* r = ctx.input(1)) ratio = r->GetDouble(0);
  if (training && ratio != 0.0) {
    return ctx.Unsupported("training-mode Dropout is random; the reference executor is deterministic");
  }
  ctx.SetOutput(0, x);
  if (ctx.output_requested(1)) {
    Tensor mask(DataType::kBool, x.shape());
    auto* m = mask.mutable_data<uint8_t>();
    for (int64_t i = 0; i < mask.size(); ++i) m[i] = 1;
    ctx.SetOutput(1, std::move(mask));
  }
  return Status::Ok();
}

REGISTER_KERNEL("", "Dropout", 1, kLatestOpset, DropoutKernel);

}  // namespace
}  // namespace graphopt::reference
