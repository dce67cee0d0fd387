// A target profile: which operators an artifact may contain for one runtime. Passes ask the
// profile before emitting a fused operator; they never hard-code a runtime. Profiles are data
// (backends/targets/*.json), embedded into the binary at build time and loaded at start.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "optimizer/util/status.h"

namespace graphopt {

struct TargetProfile {
  std::string name;
  std::string description;
  std::string runtime;                 // what executes the artifact, for reports
  bool portable = true;                // runs on any ONNX runtime
  std::map<std::string, int> domains;  // domain -> opset version it may import
  std::set<std::string> fused_ops;     // "com.microsoft.Gelu", "HardSwish", ...
  std::set<std::string> layouts;       // "NCHWc", "NHWC" when the runtime has them
  std::string preferred_layout;        // "NCHW" when the runtime prefers none
  // Fused op -> first default-domain opset at which it may be emitted ("HardSwish" -> 14).
  // Ops absent here have no opset condition.
  std::map<std::string, int> since_opset;
  // Fused op -> the `activation` attribute values the runtime accepts on it
  // ("com.microsoft.FusedConv" -> {"Relu", ...}). Ops absent here take no activation.
  std::map<std::string, std::set<std::string>> activations;
  // Ops the runtime registers but runs slower than the unfused form they would replace, so no
  // pass emits them for this target: op -> why, with the measurement ("com.microsoft.X" -> ...).
  std::map<std::string, std::string> not_emitted;
  std::vector<std::string> sources;  // where the operator lists come from
  // The instruction set artifacts are laid out for ("avx2", "avx512"; empty: none). A profile
  // saying "host" takes the ISA of the machine graphopt runs on (isa_from_host).
  std::string isa;
  bool isa_from_host = false;
  // ONNX Runtime's NCHWc block for `isa` (8 AVX2, 16 AVX-512); 0: no blocked layout.
  int64_t nchwc_block_size = 0;
  std::string portability;  // which machines an artifact for this target runs correctly on
  // Compute precisions --precision may convert a model to ("float16"); float32 is always
  // allowed. `precision_note` says why others are absent (shown when one is refused).
  std::set<std::string> precisions;
  std::string precision_note;

  // True when the profile lists the fused op (regardless of the model's opset).
  bool Allows(const std::string& domain, const std::string& op) const;
  // True when the profile lists the op and a model whose default-domain opset is
  // `default_opset` may contain it: the opset reaches the op's since_opset and does not pass
  // the default-domain version the profile allows.
  bool AllowsAt(const std::string& domain, const std::string& op, int64_t default_opset) const;
  // True when `op` may carry `activation` (e.g. FusedConv with "Relu").
  bool AllowsActivation(const std::string& domain, const std::string& op,
                        const std::string& activation) const;
  // True when the profile allows `op` and does not list its form `form` in not_emitted as
  // "domain.op:form" (e.g. "com.microsoft.FusedConv:Z", FusedConv with its summand input).
  bool AllowsForm(const std::string& domain, const std::string& op, const std::string& form) const;
  // The key used in fused_ops: plain name for standard ops, "domain.op" otherwise.
  static std::string Key(const std::string& domain, const std::string& op);
};

// Parses one profile file (the JSON format of backends/targets/*.json).
Result<TargetProfile> ParseTargetProfile(const std::string& json_text);

// The vector ISA of this machine as profiles name it: "avx512" (AVX-512F), "avx2", or "".
std::string HostCpuIsa();

// Profiles known to this build (the embedded set plus any registered at start-up).
class TargetRegistry {
 public:
  static TargetRegistry& Get();
  void Add(TargetProfile profile);
  // Parses a profile file and adds it (replacing a profile of the same name).
  Status AddFromJson(const std::string& json_text);
  Result<const TargetProfile*> Find(const std::string& name) const;
  std::vector<const TargetProfile*> All() const;
  // Problems met while loading the embedded profiles (empty when all loaded).
  const std::vector<std::string>& load_errors() const { return load_errors_; }

 private:
  TargetRegistry();
  // A profile JSON with `extends` merged onto its base's JSON (the derived keys win).
  Result<std::string> ResolveExtends(const std::string& json_text) const;
  std::map<std::string, TargetProfile> profiles_;
  std::map<std::string, std::string> json_by_name_;  // resolved JSON, as bases for `extends`
  std::vector<std::string> load_errors_;
};

}  // namespace graphopt
