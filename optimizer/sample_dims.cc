#include "optimizer/sample_dims.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "optimizer/if_branch_values.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/symbolic_dim.h"
#include "optimizer/ir/symbolic_shape_inference.h"

namespace graphopt {

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// Two sample values for a symbol called `name` seen at `axis` of a rank-`rank` input.
std::pair<int64_t, int64_t> Samples(const std::string& name, size_t axis, size_t rank) {
  const std::string n = Lower(name);
  if (Contains(n, "batch") || n == "n" || n == "b" || n == "bs" ||
      Contains(n, "dynamicdimension.0")) {
    return {1, 3};
  }
  // Raw audio: a Conv front end (Silero VAD's STFT-like stride-16 convolution) needs hundreds.
  if (Contains(n, "sample") || Contains(n, "audio") || Contains(n, "wav")) return {512, 320};
  if (Contains(n, "seq") || Contains(n, "len") || Contains(n, "token") || Contains(n, "time") ||
      n == "s" || n == "t") {
    return {16, 7};
  }
  if (Contains(n, "height") || Contains(n, "width") || n == "h" || n == "w" ||
      (rank == 4 && axis >= 2)) {
    return {64, 96};
  }
  return {2, 5};  // neither 1 (a broadcast would hide) nor large
}

// The values an integer or bool input holds (uint64's limited to int64's).
void TypeRange(DataType type, int64_t* lo, int64_t* hi) {
  *lo = std::numeric_limits<int64_t>::min();
  *hi = std::numeric_limits<int64_t>::max();
  if (type == DataType::kBool) {
    *lo = 0, *hi = 1;
  } else if (type == DataType::kUint32) {
    *lo = 0, *hi = 4294967295;
  } else if (type == DataType::kUint64) {
    *lo = 0;
  } else {
    QuantizedRange(type, lo, hi);  // int8...int32; int64 keeps its whole range
  }
}

}  // namespace

std::vector<DimAssignment> SampleDimAssignments(const ir::Model& model, const DimAssignment& fixed,
                                                const DimAssignment& overrides) {
  DimAssignment first = fixed, second = fixed;
  for (const auto& [k, v] : overrides) first[k] = second[k] = v;
  bool free = false;
  if (model.graph) {
    for (const ir::Value* v : model.graph->inputs()) {
      if (v->has_initializer() || !v->type().shape) continue;
      const auto& dims = *v->type().shape;
      for (size_t axis = 0; axis < dims.size(); ++axis) {
        if (dims[axis].known() || dims[axis].param.empty()) continue;
        for (const std::string& s : ir::SymbolicDim::Parse(dims[axis].param).Symbols()) {
          if (first.count(s)) continue;
          const auto [a, b] = Samples(s, axis, dims.size());
          first[s] = a;
          second[s] = b;
          free = true;
        }
      }
    }
  }
  if (!free) return {first};
  return {first, second};
}

std::vector<IntAssignment> SampleIntAssignments(std::vector<IfBranchCoverage>* ifs,
                                                const IntAssignment& overrides) {
  std::map<std::string, std::vector<int64_t>> values;
  size_t runs = 1;
  for (IfBranchCoverage& c : *ifs) {
    if (!c.both_branches) continue;
    if (overrides.count(c.input)) {
      c.both_branches = false;
      c.reason = "'" + c.input + "' is pinned to " + std::to_string(overrides.at(c.input)) +
                 " by --verify-int";
      continue;
    }
    std::vector<int64_t>& v = values[c.input];
    for (int64_t x : {c.then_value, c.else_value}) {
      if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
    }
    runs = std::max(runs, v.size());
  }
  std::vector<IntAssignment> out(runs, overrides);
  for (size_t k = 0; k < runs; ++k) {
    for (const auto& [input, v] : values) out[k][input] = k < v.size() ? v[k] : v.front();
  }
  return out;
}

std::vector<VerificationSample> VerificationSamples(const ir::Model& model,
                                                    const DimAssignment& fixed,
                                                    const DimAssignment& dim_overrides,
                                                    const IntAssignment& int_overrides,
                                                    std::vector<IfBranchCoverage>* ifs) {
  *ifs = model.graph ? DeriveIfBranchValues(*model.graph) : std::vector<IfBranchCoverage>{};
  const std::vector<IntAssignment> ints = SampleIntAssignments(ifs, int_overrides);
  std::vector<VerificationSample> out;
  // Every dims assignment with every branch: a shape frozen inside one branch is caught too.
  for (const DimAssignment& dims : SampleDimAssignments(model, fixed, dim_overrides)) {
    for (const IntAssignment& i : ints) out.push_back({dims, i});
  }
  return out;
}

Status CheckVerifyInts(const ir::Model& model, const IntAssignment& ints) {
  std::map<std::string, DataType> candidates;
  for (const ir::Value* v : model.graph->inputs()) {
    if (v->has_initializer()) continue;
    if (IsInteger(v->elem_type()) || v->elem_type() == DataType::kBool) {
      candidates[v->name()] = v->elem_type();
    }
  }
  for (const auto& [name, value] : ints) {
    auto it = candidates.find(name);
    if (it == candidates.end()) {
      std::string known;
      for (const auto& [n, t] : candidates) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("--verify-int " + name + ": the model has no integer input of " +
                             "that name (its integer inputs: " + (known.empty() ? "none" : known) +
                             ")");
    }
    int64_t lo = 0, hi = 0;
    TypeRange(it->second, &lo, &hi);
    if (value < lo || value > hi) {
      return InvalidArgument("--verify-int " + name + "=" + std::to_string(value) +
                             ": out of range for its type " +
                             std::string(DataTypeName(it->second)));
    }
  }
  return Status::Ok();
}

std::string SampleToString(const VerificationSample& s) {
  std::string out = AssignmentToString(s.dims);
  if (!s.ints.empty()) out += " " + AssignmentToString(s.ints);
  return out;
}

std::string AssignmentToString(const DimAssignment& a) {
  std::string out;
  for (const auto& [k, v] : a) {
    if (!out.empty()) out += ",";
    out += k + "=" + std::to_string(v);
  }
  return out.empty() ? "static" : out;
}

Status CheckDimNames(const ir::Model& model, const std::map<std::string, int64_t>& dims) {
  const auto symbols = ir::InputSymbols(*model.graph);
  for (const auto& [name, value] : dims) {
    if (symbols.count(name)) continue;
    std::string known;
    for (const std::string& s : symbols) known += (known.empty() ? "" : ", ") + s;
    return InvalidArgument("--dim " + name + ": the model has no symbolic dim of that name (its " +
                           "symbolic dims: " + (known.empty() ? "none" : known) + ")");
  }
  return Status::Ok();
}

Status CheckDimNamesInModelBytes(const std::string& bytes, const std::map<std::string, int64_t>& dims) {
  auto model = LoadModelFromBytes(bytes);
  if (!model.ok()) return Status::Ok();
  return CheckDimNames(**model, dims);
}

}  // namespace graphopt
