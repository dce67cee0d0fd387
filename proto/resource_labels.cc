// Validation of model names, versions and labels, and the label selector parser.
#include "resource_labels.h"

#include <cctype>

namespace graphopt {
namespace {

bool IsAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool AllOf(const std::string& s, const char* extra) {
  for (char c : s) {
    if (!IsAlnum(c) && std::string(extra).find(c) == std::string::npos) return false;
  }
  return true;
}

std::string CheckLabelKey(const std::string& key, const std::string& field) {
  if (key.empty()) return field + " has an empty key";
  if (key.size() > kMaxLabelChars) {
    return field + " key '" + key.substr(0, 16) + "...' is longer than " +
           std::to_string(kMaxLabelChars) + " characters";
  }
  if (!IsAlnum(key.front()) || !AllOf(key, "._/-")) {
    return field + " key '" + key +
           "' must start with a letter or digit and use only [A-Za-z0-9._/-]";
  }
  return "";
}

std::string CheckLabelValue(const std::string& key, const std::string& value,
                            const std::string& field) {
  if (value.size() > kMaxLabelChars) {
    return field + " value of '" + key + "' is longer than " + std::to_string(kMaxLabelChars) +
           " characters";
  }
  if (!AllOf(value, "._-")) {
    return field + " value of '" + key + "' must use only [A-Za-z0-9._-]";
  }
  return "";
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::string CheckModelName(const std::string& name, const std::string& field) {
  if (name.empty()) return "";  // optional
  if (name.size() > kMaxModelNameChars) {
    return field + " is longer than " + std::to_string(kMaxModelNameChars) + " characters";
  }
  if (!AllOf(name, "._/-")) return field + " '" + name + "' must use only [A-Za-z0-9._/-]";
  return "";
}

std::string CheckModelVersion(const std::string& version, const std::string& field) {
  if (version.size() > kMaxModelVersionChars) {
    return field + " is longer than " + std::to_string(kMaxModelVersionChars) + " characters";
  }
  if (!AllOf(version, "._+-")) return field + " '" + version + "' must use only [A-Za-z0-9._+-]";
  return "";
}

std::string CheckLabels(const std::map<std::string, std::string>& labels,
                        const std::string& field) {
  if (labels.size() > kMaxLabels) {
    return field + " has " + std::to_string(labels.size()) + " entries; at most " +
           std::to_string(kMaxLabels);
  }
  for (const auto& [key, value] : labels) {
    std::string error = CheckLabelKey(key, field);
    if (error.empty()) error = CheckLabelValue(key, value, field);
    if (!error.empty()) return error;
  }
  return "";
}

std::string ParseLabelSelector(const std::string& selector, std::vector<LabelRequirement>* out) {
  out->clear();
  if (Trim(selector).empty()) return "";
  size_t start = 0;
  while (start <= selector.size()) {
    size_t comma = selector.find(',', start);
    if (comma == std::string::npos) comma = selector.size();
    const std::string term = Trim(selector.substr(start, comma - start));
    start = comma + 1;
    if (term.empty()) return "label_selector has an empty term";
    LabelRequirement req;
    size_t op = term.find_first_of("!=");
    if (term.front() == '!') {
      req.op = LabelRequirement::Op::kNotExists;
      req.key = Trim(term.substr(1));
    } else if (op == std::string::npos) {
      req.op = LabelRequirement::Op::kExists;
      req.key = term;
    } else {
      size_t value_at;
      if (term.compare(op, 2, "!=") == 0) {
        req.op = LabelRequirement::Op::kNotEquals;
        value_at = op + 2;
      } else if (term.compare(op, 2, "==") == 0) {
        req.op = LabelRequirement::Op::kEquals;
        value_at = op + 2;
      } else if (term[op] == '=') {
        req.op = LabelRequirement::Op::kEquals;
        value_at = op + 1;
      } else {
        return "label_selector term '" + term + "' has a '!' that is neither first nor '!='";
      }
      req.key = Trim(term.substr(0, op));
      req.value = Trim(term.substr(value_at));
      if (req.value.find_first_of("!=") != std::string::npos) {
        return "label_selector term '" + term + "' has more than one operator";
      }
      std::string error = CheckLabelValue(req.key, req.value, "label_selector");
      if (!error.empty()) return error;
    }
    std::string error = CheckLabelKey(req.key, "label_selector");
    if (!error.empty()) return error + " (in term '" + term + "')";
    out->push_back(std::move(req));
    if (comma == selector.size()) break;
  }
  return "";
}

bool MatchesLabels(const std::map<std::string, std::string>& labels,
                   const std::vector<LabelRequirement>& selector) {
  for (const auto& req : selector) {
    auto it = labels.find(req.key);
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
        if (it == labels.end() || it->second != req.value) return false;
        break;
      case LabelRequirement::Op::kNotEquals:
        if (it != labels.end() && it->second == req.value) return false;
        break;
      case LabelRequirement::Op::kExists:
        if (it == labels.end()) return false;
        break;
      case LabelRequirement::Op::kNotExists:
        if (it != labels.end()) return false;
        break;
    }
  }
  return true;
}

int64_t ParseDurationMillis(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return -1;
  const int64_t n = std::stoll(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60 * 1000;
  if (unit == "h") return n * 3600 * 1000;
  if (unit == "d") return n * 86400 * 1000;
  return -1;
}

std::string ParseLabelArgument(const std::string& text, std::string* key, std::string* value) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) return "--label '" + text + "' must be KEY=VALUE";
  *key = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return CheckLabels({{*key, *value}}, "--label");
}

}  // namespace graphopt
