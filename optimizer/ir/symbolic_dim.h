// A dimension that is a known integer, a named symbol ("batch") or an integer expression of
// symbols ("seq*4", "batch*heads", "(h-1)/2+1"), kept in one canonical form so that two equal
// expressions compare equal and print the same dim_param.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt::ir {

// A polynomial with integer coefficients over atoms. An atom is a symbol name or an opaque
// floor division that did not divide exactly ("(h-1)/2"), itself kept in canonical form.
// Division is floor division of non-negative sizes, as in shape arithmetic.
class SymbolicDim {
 public:
  SymbolicDim() = default;     // 0
  SymbolicDim(int64_t value);  // NOLINT(google-explicit-constructor): dims mix freely with ints
  static SymbolicDim Symbol(const std::string& name);
  // Parses what ToString() prints; a string that is not an expression of identifiers and
  // numbers (any other dim_param) becomes one symbol named by the whole string.
  static SymbolicDim Parse(const std::string& text);
  // A known dim or a named one; nullopt for an unknown, unnamed dim.
  static std::optional<SymbolicDim> FromDim(const Dim& d);

  bool is_constant() const;
  // The value when constant (0 for the empty polynomial).
  int64_t constant() const;
  std::optional<int64_t> AsConstant() const;
  bool is_symbol() const;  // exactly one atom with coefficient 1 and no constant term
  std::string ToString() const;
  Dim ToDim() const;
  // Symbol names the expression depends on (inside divisions too).
  std::set<std::string> Symbols() const;
  // The value for an assignment of every symbol, nullopt when one is missing.
  std::optional<int64_t> Evaluate(const std::map<std::string, int64_t>& values) const;

  SymbolicDim operator+(const SymbolicDim& o) const;
  SymbolicDim operator-(const SymbolicDim& o) const;
  SymbolicDim operator*(const SymbolicDim& o) const;
  // Floor division: exact when the divisor divides every term, else an opaque atom.
  SymbolicDim FloorDiv(const SymbolicDim& divisor) const;
  SymbolicDim CeilDiv(const SymbolicDim& divisor) const;
  SymbolicDim Mod(const SymbolicDim& divisor) const;
  // True when this divides exactly by `divisor` (so FloorDiv is exact).
  bool DividesBy(const SymbolicDim& divisor) const;

  bool operator==(const SymbolicDim& o) const { return terms_ == o.terms_; }
  bool operator!=(const SymbolicDim& o) const { return !(*this == o); }
  bool operator<(const SymbolicDim& o) const { return terms_ < o.terms_; }

 private:
  using Monomial = std::vector<std::string>;  // sorted atoms; empty for the constant term
  void Add(const Monomial& m, int64_t coefficient);
  std::map<Monomial, int64_t> terms_;  // no zero coefficients
  // Atom -> the (numerator, denominator) it stands for, for evaluation.
  std::map<std::string, std::pair<std::string, std::string>> divisions_;
};

using SymbolicShape = std::vector<SymbolicDim>;

// Dims of a declared shape in symbolic form (nullopt when the rank or some dim is unknown).
std::optional<SymbolicShape> ToSymbolicShape(const std::vector<Dim>& dims);
std::vector<Dim> ToDims(const SymbolicShape& shape);
SymbolicDim NumElements(const SymbolicShape& shape);

}  // namespace graphopt::ir
