// Names, versions and labels of models and jobs (issue 17), and the label selector of ListJobs
// and ListModels: one definition, used by the server's validation, both stores and the CLI.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace graphopt {

inline constexpr size_t kMaxModelNameChars = 128;
inline constexpr size_t kMaxModelVersionChars = 64;
inline constexpr size_t kMaxLabelChars = 63;
inline constexpr size_t kMaxLabels = 32;

// Each returns "" when valid, else a message that starts with `field` ("metadata.name ...").
std::string CheckModelName(const std::string& name, const std::string& field);
std::string CheckModelVersion(const std::string& version, const std::string& field);
std::string CheckLabels(const std::map<std::string, std::string>& labels, const std::string& field);

// One comma-separated term of a selector.
struct LabelRequirement {
  enum class Op { kEquals, kNotEquals, kExists, kNotExists };
  Op op = Op::kExists;
  std::string key;
  std::string value;  // for kEquals and kNotEquals
};

// Parses "k=v,k!=v,k,!k" (spaces around terms and operators allowed; "==" means "="). An empty
// selector selects everything. Returns "" or the reason it is malformed.
std::string ParseLabelSelector(const std::string& selector, std::vector<LabelRequirement>* out);

// Kubernetes semantics: "k!=v" also holds when the key is absent.
bool MatchesLabels(const std::map<std::string, std::string>& labels,
                   const std::vector<LabelRequirement>& selector);

// "7d", "12h", "30m", "45s", "250ms" or plain milliseconds -> milliseconds; -1 when malformed.
// Shared by the server's --retention/--gc-interval and the CLI's --since.
int64_t ParseDurationMillis(const std::string& text);

// Parses "k=v" (CLI --label); "" or the reason.
std::string ParseLabelArgument(const std::string& text, std::string* key, std::string* value);

}  // namespace graphopt
