// A target profile: which operators an artifact may contain for one runtime. Passes ask the
// profile before emitting a fused operator; they never hard-code a runtime.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "optimizer/util/status.h"

namespace graphopt {

struct TargetProfile {
  std::string name;
  std::string description;
  bool portable = true;                       // runs on any ONNX runtime
  std::map<std::string, int> domains;         // domain -> opset version it may import
  std::set<std::string> fused_ops;            // "com.microsoft.Gelu", "HardSwish", ...
  std::set<std::string> layouts;              // "NCHWc", "NHWC" when the runtime has them

  bool Allows(const std::string& domain, const std::string& op) const;
};

// Profiles known to this build (the built-in set plus any registered at start-up).
class TargetRegistry {
 public:
  static TargetRegistry& Get();
  void Add(TargetProfile profile);
  Result<const TargetProfile*> Find(const std::string& name) const;
  std::vector<const TargetProfile*> All() const;

 private:
  TargetRegistry();
  std::map<std::string, TargetProfile> profiles_;
};

}  // namespace graphopt
