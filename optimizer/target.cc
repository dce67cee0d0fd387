#include "optimizer/target.h"

#include <nlohmann/json.hpp>

#include <cstddef>

namespace graphopt {

// Generated at build time from backends/targets/*.json (backends/targets/embed_profiles.cmake).
struct EmbeddedTargetProfile {
  const char* file;
  const char* json;
};
extern const EmbeddedTargetProfile kEmbeddedTargetProfiles[];
extern const size_t kEmbeddedTargetProfileCount;

std::string TargetProfile::Key(const std::string& domain, const std::string& op) {
  const bool standard = domain.empty() || domain == "ai.onnx";
  return standard ? op : domain + "." + op;
}

bool TargetProfile::Allows(const std::string& domain, const std::string& op) const {
  return fused_ops.count(Key(domain, op)) > 0;
}

bool TargetProfile::AllowsAt(const std::string& domain, const std::string& op,
                             int64_t default_opset) const {
  const std::string key = Key(domain, op);
  if (!fused_ops.count(key)) return false;
  auto since = since_opset.find(key);
  if (since == since_opset.end()) return true;
  // A standard op newer than the opset this profile (and libonnx) can import is never allowed,
  // whatever the model declares.
  auto max = domains.find("");
  if (max != domains.end() && since->second > max->second) return false;
  return default_opset >= since->second;
}

bool TargetProfile::AllowsForm(const std::string& domain, const std::string& op,
                               const std::string& form) const {
  return Allows(domain, op) && !not_emitted.count(Key(domain, op) + ":" + form);
}

bool TargetProfile::AllowsActivation(const std::string& domain, const std::string& op,
                                     const std::string& activation) const {
  const std::string key = Key(domain, op);
  if (!fused_ops.count(key)) return false;
  auto it = activations.find(key);
  return it != activations.end() && it->second.count(activation) > 0;
}

namespace {

using nlohmann::json;

// Reads `key` of `object` as T when present; fails naming the key when it has the wrong type.
template <typename T>
Status ReadOptional(const json& object, const char* key, T* out) {
  auto it = object.find(key);
  if (it == object.end()) return Status::Ok();
  try {
    *out = it->get<T>();
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("field '") + key + "': " + e.what());
  }
  return Status::Ok();
}

Status ReadFusedOp(const json& entry, TargetProfile* p) {
  if (!entry.is_object() || !entry.contains("op") || !entry["op"].is_string()) {
    return InvalidArgument("each fused_ops entry needs a string 'op'");
  }
  const std::string op = entry["op"].get<std::string>();
  if (op.empty()) return InvalidArgument("empty fused op name");
  p->fused_ops.insert(op);
  int since = 0;
  RETURN_IF_ERROR(ReadOptional(entry, "since_opset", &since));
  if (since > 0) p->since_opset[op] = since;
  std::vector<std::string> activations;
  RETURN_IF_ERROR(ReadOptional(entry, "activations", &activations));
  if (!activations.empty()) p->activations[op].insert(activations.begin(), activations.end());
  return Status::Ok();
}

}  // namespace

Result<TargetProfile> ParseTargetProfile(const std::string& json_text) {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("target profile is not a JSON object");
  }
  TargetProfile p;
  RETURN_IF_ERROR(ReadOptional(doc, "name", &p.name));
  if (p.name.empty()) return InvalidArgument("target profile has no 'name'");
  auto fail = [&](const Status& s) {
    return InvalidArgument("target profile '" + p.name + "': " + s.message());
  };
  Status st = ReadOptional(doc, "description", &p.description);
  if (st.ok()) st = ReadOptional(doc, "runtime", &p.runtime);
  if (st.ok()) st = ReadOptional(doc, "portable", &p.portable);
  if (st.ok()) st = ReadOptional(doc, "domains", &p.domains);
  if (st.ok()) st = ReadOptional(doc, "layouts", &p.layouts);
  if (st.ok()) st = ReadOptional(doc, "preferred_layout", &p.preferred_layout);
  if (st.ok()) st = ReadOptional(doc, "sources", &p.sources);
  if (st.ok()) st = ReadOptional(doc, "isa", &p.isa);
  if (st.ok()) st = ReadOptional(doc, "portability", &p.portability);
  if (st.ok()) st = ReadOptional(doc, "precisions", &p.precisions);
  if (st.ok()) st = ReadOptional(doc, "precision_note", &p.precision_note);
  std::map<std::string, int64_t> blocks;
  if (st.ok()) st = ReadOptional(doc, "nchwc_block_sizes", &blocks);
  if (!st.ok()) return fail(st);
  if (p.isa == "host") {
    p.isa_from_host = true;
    p.isa = HostCpuIsa();
  }
  if (auto it = blocks.find(p.isa); it != blocks.end()) p.nchwc_block_size = it->second;
  if (p.domains.empty()) return fail(InvalidArgument("'domains' must list at least one domain"));
  if (doc.contains("fused_ops")) {
    if (!doc["fused_ops"].is_array()) return fail(InvalidArgument("'fused_ops' must be a list"));
    for (const json& entry : doc["fused_ops"]) {
      st = ReadFusedOp(entry, &p);
      if (!st.ok()) return fail(st);
    }
  }
  if (doc.contains("not_emitted")) {
    if (!doc["not_emitted"].is_array()) return fail(InvalidArgument("'not_emitted' must be a list"));
    for (const json& entry : doc["not_emitted"]) {
      if (!entry.is_object() || !entry.contains("op") || !entry["op"].is_string() ||
          !entry.contains("why") || !entry["why"].is_string()) {
        return fail(InvalidArgument("each not_emitted entry needs strings 'op' and 'why'"));
      }
      const std::string op = entry["op"].get<std::string>();
      if (p.fused_ops.count(op)) {
        return fail(InvalidArgument("'" + op + "' is both in fused_ops and in not_emitted"));
      }
      p.not_emitted[op] = entry["why"].get<std::string>();
    }
  }
  // A contrib op is only usable when its domain is importable.
  for (const std::string& op : p.fused_ops) {
    const size_t dot = op.rfind('.');
    if (dot == std::string::npos) continue;
    if (!p.domains.count(op.substr(0, dot))) {
      return fail(
          InvalidArgument("fused op '" + op + "' is in a domain the profile does not list"));
    }
  }
  return p;
}

std::string HostCpuIsa() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return "avx512";
  if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
  return "";
}

TargetRegistry& TargetRegistry::Get() {
  static TargetRegistry registry;
  return registry;
}

TargetRegistry::TargetRegistry() {
  // `generic` is always present, even if its file failed to load: standard ONNX only.
  TargetProfile generic;
  generic.name = "generic";
  generic.description = "standard ONNX operators only; portable to any ONNX runtime";
  generic.runtime = "any ONNX runtime";
  generic.portable = true;
  generic.domains = {{"", 17}};
  generic.preferred_layout = "NCHW";
  profiles_.emplace(generic.name, generic);
  // Profiles extending another load after the others, whatever the file order.
  for (bool extending : {false, true}) {
    for (size_t i = 0; i < kEmbeddedTargetProfileCount; ++i) {
      const EmbeddedTargetProfile& e = kEmbeddedTargetProfiles[i];
      if (!e.json) continue;
      const json doc = json::parse(e.json, nullptr, /*allow_exceptions=*/false);
      if (doc.is_object() && doc.contains("extends") != extending) continue;
      Status st = AddFromJson(e.json);
      if (!st.ok()) load_errors_.push_back(std::string(e.file) + ": " + st.message());
    }
  }
}

Result<std::string> TargetRegistry::ResolveExtends(const std::string& json_text) const {
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("extends")) return json_text;
  if (!doc["extends"].is_string()) return InvalidArgument("'extends' must name a profile");
  const std::string base_name = doc["extends"].get<std::string>();
  auto base = json_by_name_.find(base_name);
  if (base == json_by_name_.end()) {
    return InvalidArgument("'extends' names unknown profile '" + base_name + "'");
  }
  json merged = json::parse(base->second);
  doc.erase("extends");
  for (auto it = doc.begin(); it != doc.end(); ++it) merged[it.key()] = it.value();
  return merged.dump();
}

void TargetRegistry::Add(TargetProfile profile) {
  const std::string key = profile.name;
  profiles_[key] = std::move(profile);
}

Status TargetRegistry::AddFromJson(const std::string& json_text) {
  ASSIGN_OR_RETURN(std::string resolved, ResolveExtends(json_text));
  ASSIGN_OR_RETURN(TargetProfile profile, ParseTargetProfile(resolved));
  json_by_name_[profile.name] = std::move(resolved);
  Add(std::move(profile));
  return Status::Ok();
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
