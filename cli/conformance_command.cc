// `graphopt conformance DIR`: runs ONNX backend-test case folders (model.onnx and
// test_data_set_N/{input,output}_K.pb) on the reference executor and compares the outputs.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "backends/reference/executor.h"
#include "backends/reference/inputs.h"
#include "backends/reference/kernel.h"
#include "backends/reference/tensor_compare.h"
#include "cli/command.h"
#include "optimizer/io/model_io.h"

namespace graphopt::cli {

namespace {

namespace fs = std::filesystem;

// The ONNX backend runner's defaults for float outputs.
constexpr double kDefaultRtol = 1e-3;
constexpr double kDefaultAtol = 1e-7;

struct Tolerance {
  double atol, rtol;
};

// Cases whose expected outputs cannot be met at the default tolerance by any float32
// implementation that accumulates in a different order; each entry states why.
Tolerance ToleranceFor(const std::string& case_name) {
  static const std::map<std::string, std::pair<Tolerance, const char*>> kLooser = {};
  auto it = kLooser.find(case_name);
  return it == kLooser.end() ? Tolerance{kDefaultAtol, kDefaultRtol} : it->second.first;
}

struct ConformanceArgs {
  std::string dir, report, filter;
};

enum class Outcome { kPassed, kFailed, kSkipped };

struct CaseResult {
  std::string name;
  Outcome outcome = Outcome::kFailed;
  std::string detail;
  std::vector<std::string> missing_ops;
};

void CollectMissingOps(const ir::Model& model, const ir::Graph& g, std::set<std::string>* missing) {
  for (const ir::Node* n : g.nodes()) {
    const int64_t opset = reference::DomainOpset(model, n->domain());
    const std::string domain = n->domain() == "ai.onnx" ? std::string() : n->domain();
    if (!reference::KernelRegistry::Get().Find(domain, n->op_type(), opset)) {
      missing->insert((domain.empty() ? "" : domain + ":") + n->op_type());
    }
    for (const ir::Graph* sub : n->Subgraphs()) CollectMissingOps(model, *sub, missing);
  }
}

// The element types the IR models (float8, int4, int2... are not among them).
bool KnownType(DataType t) {
  return static_cast<int32_t>(t) >= 0 &&
         static_cast<int32_t>(t) <= static_cast<int32_t>(DataType::kBfloat16);
}

// A type name when the graph (or a Cast/CastLike target) uses an element type the IR lacks.
std::string UnsupportedElementType(const ir::Graph& g) {
  auto check = [](const ir::Value* v) {
    return v && v->type().is_tensor() && !KnownType(v->elem_type());
  };
  for (const ir::Value* v : g.inputs()) {
    if (check(v)) return std::to_string(static_cast<int32_t>(v->elem_type()));
  }
  for (const ir::Value* v : g.outputs()) {
    if (check(v)) return std::to_string(static_cast<int32_t>(v->elem_type()));
  }
  for (const ir::Node* n : g.nodes()) {
    for (const ir::Value* v : n->outputs()) {
      if (check(v)) return std::to_string(static_cast<int32_t>(v->elem_type()));
    }
    if (n->HasAttr("to") && n->attr("to")->type == ir::AttrType::kInt &&
        !KnownType(static_cast<DataType>(n->GetInt("to", 1)))) {
      return std::to_string(n->GetInt("to", 1));
    }
    for (const ir::Graph* sub : n->Subgraphs()) {
      std::string t = UnsupportedElementType(*sub);
      if (!t.empty()) return t;
    }
  }
  return "";
}

bool HasNonTensorIo(const ir::Graph& g) {
  for (const ir::Value* v : g.inputs()) {
    if (!v->type().is_tensor()) return true;
  }
  for (const ir::Value* v : g.outputs()) {
    if (v && !v->type().is_tensor()) return true;
  }
  return false;
}

std::vector<fs::path> NumberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (int k = 0;; ++k) {
    fs::path p = dir / (prefix + std::to_string(k) + ".pb");
    if (!fs::exists(p)) break;
    files.push_back(p);
  }
  return files;
}

CaseResult RunCase(const fs::path& dir) {
  CaseResult r;
  r.name = dir.filename().string();
  auto loaded = LoadModel((dir / "model.onnx").string());
  if (!loaded.ok()) {
    if (loaded.status().code() == StatusCode::kUnimplemented) {
      r.outcome = Outcome::kSkipped;
      r.detail = "model uses an unsupported feature: " + loaded.status().message();
    } else {
      r.detail = "cannot load: " + loaded.status().message();
    }
    return r;
  }
  const ir::Model& model = **loaded;
  const ir::Graph& graph = *model.graph;
  std::set<std::string> missing;
  CollectMissingOps(model, graph, &missing);
  if (!missing.empty()) {
    r.outcome = Outcome::kSkipped;
    r.missing_ops.assign(missing.begin(), missing.end());
    r.detail = "no kernel for";
    for (const auto& op : r.missing_ops) r.detail += " " + op;
    return r;
  }
  if (const std::string type = UnsupportedElementType(graph); !type.empty()) {
    r.outcome = Outcome::kSkipped;
    r.detail = "element type " + type + " is not supported by the IR";
    return r;
  }
  if (HasNonTensorIo(graph)) {
    r.outcome = Outcome::kSkipped;
    r.detail = "sequence/optional inputs or outputs";
    return r;
  }
  std::vector<fs::path> sets;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0) {
      sets.push_back(entry.path());
    }
  }
  std::sort(sets.begin(), sets.end());
  const Tolerance tol = ToleranceFor(r.name);
  reference::Executor executor(model);
  for (const fs::path& set : sets) {
    const auto input_files = NumberedFiles(set, "input_");
    const auto output_files = NumberedFiles(set, "output_");
    // Input files bind to the graph inputs in order; when there are fewer files than inputs,
    // the inputs that carry initializers are the ones left out.
    std::vector<const ir::Value*> targets;
    for (const ir::Value* v : graph.inputs()) {
      if (input_files.size() == graph.inputs().size() || !v->has_initializer())
        targets.push_back(v);
    }
    if (targets.size() < input_files.size()) {
      r.detail = "more input files than graph inputs";
      return r;
    }
    std::map<std::string, Tensor> inputs;
    for (size_t k = 0; k < input_files.size(); ++k) {
      auto t = reference::ReadTensorFile(input_files[k].string());
      if (!t.ok()) {
        // A data file in an element type the IR lacks (e.g. int2) is a skip, not a failure.
        if (t.status().code() == StatusCode::kUnimplemented) r.outcome = Outcome::kSkipped;
        r.detail = t.status().message();
        return r;
      }
      inputs[targets[k]->name()] = *t;
    }
    auto outputs = executor.Run(inputs);
    if (!outputs.ok()) {
      r.detail = set.filename().string() + ": " + outputs.status().ToString();
      return r;
    }
    if (outputs->size() != output_files.size()) {
      r.detail = "the graph has " + std::to_string(outputs->size()) + " outputs, the data set " +
                 std::to_string(output_files.size());
      return r;
    }
    for (size_t k = 0; k < output_files.size(); ++k) {
      auto expected = reference::ReadTensorFile(output_files[k].string());
      if (!expected.ok()) {
        r.detail = expected.status().message();
        return r;
      }
      const std::string name = graph.outputs()[k] ? graph.outputs()[k]->name() : "";
      OutputComparison c =
          reference::CompareTensors(name, (*outputs)[k], *expected, tol.atol, tol.rtol);
      if (!c.match) {
        r.detail = set.filename().string() + " output '" + name + "': " + c.detail +
                   " (max abs err " + std::to_string(c.max_abs_err) + ")";
        return r;
      }
    }
  }
  r.outcome = Outcome::kPassed;
  return r;
}

int RunConformance(const ConformanceArgs& a) {
  std::error_code ec;
  if (!fs::is_directory(a.dir, ec)) {
    std::cerr << "graphopt: " << a.dir << " is not a directory\n";
    return kExitError;
  }
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(a.dir, ec)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "model.onnx")) continue;
    if (!a.filter.empty() && entry.path().filename().string().find(a.filter) == std::string::npos) {
      continue;
    }
    cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());

  int passed = 0, failed = 0, skipped = 0;
  std::map<std::string, int> missing_count;
  nlohmann::json case_reports = nlohmann::json::array();
  for (const fs::path& dir : cases) {
    CaseResult r;
    try {
      r = RunCase(dir);
    } catch (const std::exception& e) {
      r.name = dir.filename().string();
      r.outcome = Outcome::kFailed;
      r.detail = std::string("exception: ") + e.what();
    } catch (...) {
      r.name = dir.filename().string();
      r.outcome = Outcome::kFailed;
      r.detail = "unknown exception";
    }
    const char* status = "passed";
    switch (r.outcome) {
      case Outcome::kPassed:
        ++passed;
        break;
      case Outcome::kFailed:
        ++failed;
        status = "failed";
        std::cout << "FAIL " << r.name << ": " << r.detail << "\n";
        break;
      case Outcome::kSkipped:
        ++skipped;
        status = "skipped";
        for (const auto& op : r.missing_ops) ++missing_count[op];
        break;
    }
    case_reports.push_back({{"case", r.name},
                            {"status", status},
                            {"detail", r.detail},
                            {"missing_ops", r.missing_ops}});
  }

  if (!a.report.empty()) {
    nlohmann::json report = {{"dir", a.dir},
                             {"passed", passed},
                             {"failed", failed},
                             {"skipped", skipped},
                             {"missing_ops", missing_count},
                             {"cases", case_reports}};
    std::ofstream out(a.report);
    out << report.dump(2) << "\n";
    if (!out) {
      std::cerr << "graphopt: cannot write report '" << a.report << "'\n";
      return kExitError;
    }
  }
  if (!missing_count.empty()) {
    std::cout << "missing kernels:";
    for (const auto& [op, n] : missing_count) std::cout << " " << op << "(" << n << ")";
    std::cout << "\n";
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped" << std::endl;
  return failed == 0 ? kExitOk : kExitMismatch;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<ConformanceArgs>();
  CLI::App* cmd = app.add_subcommand(
      "conformance", "run ONNX backend-test case folders on the reference executor");
  cmd->add_option("dir", args->dir, "folder of case folders (model.onnx + test_data_set_N/)")
      ->required();
  cmd->add_option("--report", args->report, "write a JSON report here");
  cmd->add_option("--filter", args->filter, "only cases whose name contains this");
  return [args] { return RunConformance(*args); };
};

GRAPHOPT_REGISTER_COMMAND("conformance", 50, Setup);

}  // namespace

}  // namespace graphopt::cli
