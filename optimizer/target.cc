#include "optimizer/target.h"

namespace graphopt {

bool TargetProfile::Allows(const std::string& domain, const std::string& op) const {
  const bool standard = domain.empty() || domain == "ai.onnx";
  return fused_ops.count(standard ? op : domain + "." + op) > 0;
}

TargetRegistry& TargetRegistry::Get() {
  static TargetRegistry registry;
  return registry;
}

TargetRegistry::TargetRegistry() {
  // `generic` is always present: standard ONNX only, portable to any runtime.
  TargetProfile generic;
  generic.name = "generic";
  generic.description = "standard ONNX operators only; portable to any ONNX runtime";
  generic.portable = true;
  generic.domains = {{"", 17}};
  profiles_.emplace(generic.name, generic);
}

void TargetRegistry::Add(TargetProfile profile) {
  const std::string key = profile.name;
  profiles_[key] = std::move(profile);
}

Result<const TargetProfile*> TargetRegistry::Find(const std::string& name) const {
  auto it = profiles_.find(name);
  if (it == profiles_.end()) {
    std::string known;
    for (const auto& [k, v] : profiles_) known += (known.empty() ? "" : ", ") + k;
    return InvalidArgument("unknown target '" + name + "' (known: " + known + ")");
  }
  return &it->second;
}

std::vector<const TargetProfile*> TargetRegistry::All() const {
  std::vector<const TargetProfile*> out;
  for (const auto& [k, v] : profiles_) out.push_back(&v);
  return out;
}

}  // namespace graphopt
