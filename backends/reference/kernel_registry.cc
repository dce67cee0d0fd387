#include "backends/reference/kernel.h"

#include "optimizer/util/onnx_check.h"

namespace graphopt::reference {

// The loader refuses models above the opset the kernels implement; the two must move together.
static_assert(kLatestOpset == kLatestSupportedOpset);

KernelRegistry& KernelRegistry::Get() {
  static KernelRegistry registry;
  return registry;
}

void KernelRegistry::Register(KernelDef def) {
  if (def.domain == "ai.onnx") def.domain.clear();
  defs_.push_back(std::move(def));
}

const KernelDef* KernelRegistry::Find(const std::string& domain, const std::string& op_type,
                                      int64_t opset) const {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const auto& k : defs_) {
    if (k.domain == d && k.op_type == op_type && opset >= k.since_version && opset <= k.until_version) {
      return &k;
    }
  }
  return nullptr;
}

bool KernelRegistry::Has(const std::string& domain, const std::string& op_type) const {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  for (const auto& k : defs_) {
    if (k.domain == d && k.op_type == op_type) return true;
  }
  return false;
}

Status KernelContext::Fail(const std::string& message) const {
  return InvalidArgument("node '" + node_.name() + "' (" + node_.op_type() + "): " + message);
}

Status KernelContext::Unsupported(const std::string& message) const {
  return Unimplemented("node '" + node_.name() + "' (" + node_.op_type() + "): " + message);
}

}  // namespace graphopt::reference
