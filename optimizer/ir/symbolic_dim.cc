#include "optimizer/ir/symbolic_dim.h"

#include <algorithm>
#include <cctype>
#include <functional>

namespace graphopt::ir {

namespace {

bool IsIdentifierStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentifierChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':';
}

bool IsIdentifier(const std::string& s) {
  if (s.empty() || !IsIdentifierStart(s[0])) return false;
  return std::all_of(s.begin(), s.end(), IsIdentifierChar);
}

// An atom that is a division ("(h-1)/2") rather than a symbol ("batch", "[batch size]").
bool IsDivisionAtom(const std::string& atom) {
  return !IsIdentifier(atom) && !(atom.size() >= 2 && atom.front() == '[' && atom.back() == ']');
}

int64_t FloorDivInt(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

struct Token {
  enum Kind { kNumber, kName, kOp, kEnd } kind;
  std::string text;
  int64_t number = 0;
};

// Tokens of an expression; false on a character no expression contains.
bool Tokenize(const std::string& s, std::vector<Token>* out) {
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ') {
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j - i > 17) return false;
      out->push_back({Token::kNumber, s.substr(i, j - i), std::stoll(s.substr(i, j - i))});
      i = j;
    } else if (IsIdentifierStart(c)) {
      size_t j = i;
      while (j < s.size() && IsIdentifierChar(s[j])) ++j;
      out->push_back({Token::kName, s.substr(i, j - i)});
      i = j;
    } else if (c == '[') {
      const size_t j = s.find(']', i);
      if (j == std::string::npos) return false;
      out->push_back({Token::kName, s.substr(i + 1, j - i - 1)});
      i = j + 1;
    } else if (std::string("+-*/%()").find(c) != std::string::npos) {
      out->push_back({Token::kOp, std::string(1, c)});
      ++i;
    } else {
      return false;
    }
  }
  out->push_back({Token::kEnd, ""});
  return true;
}

// Recursive descent over the tokens with the arithmetic of T (SymbolicDim or a number).
template <typename T>
class Parser {
 public:
  struct Ops {
    std::function<std::optional<T>(int64_t)> number;
    std::function<std::optional<T>(const std::string&)> name;
    std::function<std::optional<T>(char, const T&, const T&)> binary;
  };
  Parser(const std::vector<Token>& tokens, Ops ops) : t_(tokens), ops_(std::move(ops)) {}

  std::optional<T> Parse() {
    auto v = Expr();
    if (!v || t_[pos_].kind != Token::kEnd) return std::nullopt;
    return v;
  }

 private:
  bool IsOp(const char* op) const { return t_[pos_].kind == Token::kOp && t_[pos_].text == op; }

  std::optional<T> Expr() {
    auto v = Term();
    while (v && (IsOp("+") || IsOp("-"))) {
      const char op = t_[pos_++].text[0];
      auto r = Term();
      if (!r) return std::nullopt;
      v = ops_.binary(op, *v, *r);
    }
    return v;
  }
  std::optional<T> Term() {
    auto v = Factor();
    while (v && (IsOp("*") || IsOp("/") || IsOp("%"))) {
      const char op = t_[pos_++].text[0];
      auto r = Factor();
      if (!r) return std::nullopt;
      v = ops_.binary(op, *v, *r);
    }
    return v;
  }
  std::optional<T> Factor() {
    const Token& tok = t_[pos_];
    if (tok.kind == Token::kNumber) {
      ++pos_;
      return ops_.number(tok.number);
    }
    if (tok.kind == Token::kName) {
      ++pos_;
      return ops_.name(tok.text);
    }
    if (IsOp("-")) {
      ++pos_;
      auto v = Factor();
      auto zero = ops_.number(0);
      if (!v || !zero) return std::nullopt;
      return ops_.binary('-', *zero, *v);
    }
    if (IsOp("(")) {
      ++pos_;
      auto v = Expr();
      if (!v || !IsOp(")")) return std::nullopt;
      ++pos_;
      return v;
    }
    return std::nullopt;
  }

  const std::vector<Token>& t_;
  Ops ops_;
  size_t pos_ = 0;
};

std::optional<SymbolicDim> ParseExpression(const std::string& text) {
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens)) return std::nullopt;
  Parser<SymbolicDim>::Ops ops;
  ops.number = [](int64_t v) { return std::optional<SymbolicDim>(SymbolicDim(v)); };
  ops.name = [](const std::string& n) {
    return std::optional<SymbolicDim>(SymbolicDim::Symbol(n));
  };
  ops.binary = [](char op, const SymbolicDim& a,
                  const SymbolicDim& b) -> std::optional<SymbolicDim> {
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        return a.FloorDiv(b);
      default:
        return a.Mod(b);
    }
  };
  return Parser<SymbolicDim>(tokens, ops).Parse();
}

}  // namespace

SymbolicDim::SymbolicDim(int64_t value) {
  if (value != 0) terms_[{}] = value;
}

SymbolicDim SymbolicDim::Symbol(const std::string& name) {
  SymbolicDim d;
  d.terms_[{IsIdentifier(name) ? name : "[" + name + "]"}] = 1;
  return d;
}

SymbolicDim SymbolicDim::Parse(const std::string& text) {
  if (IsIdentifier(text)) return Symbol(text);
  if (auto e = ParseExpression(text)) return *e;
  return Symbol(text);
}

std::optional<SymbolicDim> SymbolicDim::FromDim(const Dim& d) {
  if (d.known()) return SymbolicDim(d.value);
  if (d.param.empty()) return std::nullopt;
  return Parse(d.param);
}

bool SymbolicDim::is_constant() const {
  return terms_.empty() || (terms_.size() == 1 && terms_.begin()->first.empty());
}

int64_t SymbolicDim::constant() const {
  auto it = terms_.find({});
  return it == terms_.end() ? 0 : it->second;
}

std::optional<int64_t> SymbolicDim::AsConstant() const {
  if (!is_constant()) return std::nullopt;
  return constant();
}

bool SymbolicDim::is_symbol() const {
  return terms_.size() == 1 && terms_.begin()->first.size() == 1 && terms_.begin()->second == 1 &&
         !IsDivisionAtom(terms_.begin()->first[0]);
}

std::string SymbolicDim::ToString() const {
  if (terms_.empty()) return "0";
  if (is_symbol()) {
    const std::string& atom = terms_.begin()->first[0];
    return atom.front() == '[' ? atom.substr(1, atom.size() - 2) : atom;
  }
  std::string out;
  auto append = [&](const Monomial& m, int64_t c) {
    const bool negative = c < 0;
    const int64_t magnitude = negative ? -c : c;
    if (out.empty()) {
      if (negative) out += "-";
    } else {
      out += negative ? "-" : "+";
    }
    if (m.empty()) {
      out += std::to_string(magnitude);
      return;
    }
    const bool alone = m.size() == 1 && magnitude == 1;
    for (size_t i = 0; i < m.size(); ++i) {
      if (i) out += "*";
      out += !alone && IsDivisionAtom(m[i]) ? "(" + m[i] + ")" : m[i];
    }
    if (magnitude != 1) out += "*" + std::to_string(magnitude);
  };
  for (const auto& [m, c] : terms_) {
    if (!m.empty()) append(m, c);
  }
  if (auto it = terms_.find({}); it != terms_.end()) append(it->first, it->second);
  return out;
}

Dim SymbolicDim::ToDim() const {
  if (is_constant()) return Dim{constant(), ""};
  return Dim{-1, ToString()};
}

std::set<std::string> SymbolicDim::Symbols() const {
  std::set<std::string> out;
  for (const auto& [m, c] : terms_) {
    for (const std::string& atom : m) {
      if (!IsDivisionAtom(atom)) {
        out.insert(atom.front() == '[' ? atom.substr(1, atom.size() - 2) : atom);
        continue;
      }
      std::vector<Token> tokens;
      if (!Tokenize(atom, &tokens)) continue;
      for (const Token& t : tokens) {
        if (t.kind == Token::kName) out.insert(t.text);
      }
    }
  }
  return out;
}

std::optional<int64_t> SymbolicDim::Evaluate(const std::map<std::string, int64_t>& values) const {
  if (is_constant()) return constant();
  std::string text = ToString();
  if (is_symbol()) {
    auto it = values.find(text);
    return it == values.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  std::vector<Token> tokens;
  if (!Tokenize(text, &tokens)) return std::nullopt;
  Parser<int64_t>::Ops ops;
  ops.number = [](int64_t v) { return std::optional<int64_t>(v); };
  ops.name = [&](const std::string& n) -> std::optional<int64_t> {
    auto it = values.find(n);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
  ops.binary = [](char op, int64_t a, int64_t b) -> std::optional<int64_t> {
    switch (op) {
      case '+':
        return a + b;
      case '-':
        return a - b;
      case '*':
        return a * b;
      case '/':
        return b == 0 ? std::nullopt : std::optional<int64_t>(FloorDivInt(a, b));
      default:
        return b == 0 ? std::nullopt : std::optional<int64_t>(a - b * FloorDivInt(a, b));
    }
  };
  return Parser<int64_t>(tokens, ops).Parse();
}

void SymbolicDim::Add(const Monomial& m, int64_t coefficient) {
  int64_t& c = terms_[m];
  c += coefficient;
  if (c == 0) terms_.erase(m);
}

SymbolicDim SymbolicDim::operator+(const SymbolicDim& o) const {
  SymbolicDim r = *this;
  for (const auto& [m, c] : o.terms_) r.Add(m, c);
  return r;
}

SymbolicDim SymbolicDim::operator-(const SymbolicDim& o) const {
  SymbolicDim r = *this;
  for (const auto& [m, c] : o.terms_) r.Add(m, -c);
  return r;
}

SymbolicDim SymbolicDim::operator*(const SymbolicDim& o) const {
  SymbolicDim r;
  for (const auto& [m1, c1] : terms_) {
    for (const auto& [m2, c2] : o.terms_) {
      Monomial m = m1;
      m.insert(m.end(), m2.begin(), m2.end());
      std::sort(m.begin(), m.end());
      r.Add(m, c1 * c2);
    }
  }
  return r;
}

namespace {

// True when multiset `part` is contained in sorted `whole`; `rest` receives the difference.
bool ContainsAtoms(const std::vector<std::string>& whole, const std::vector<std::string>& part,
                   std::vector<std::string>* rest) {
  rest->clear();
  size_t j = 0;
  for (const std::string& a : whole) {
    if (j < part.size() && a == part[j]) {
      ++j;
    } else {
      rest->push_back(a);
    }
  }
  return j == part.size();
}

}  // namespace

bool SymbolicDim::DividesBy(const SymbolicDim& divisor) const {
  if (divisor.terms_.size() != 1) return *this == divisor || terms_.empty();
  const auto& [dm, dc] = *divisor.terms_.begin();
  if (dc == 0) return false;
  Monomial rest;
  for (const auto& [m, c] : terms_) {
    if (c % dc != 0 || !ContainsAtoms(m, dm, &rest)) return false;
  }
  return true;
}

SymbolicDim SymbolicDim::FloorDiv(const SymbolicDim& divisor) const {
  if (terms_.empty()) return SymbolicDim();
  if (*this == divisor && !divisor.terms_.empty()) return SymbolicDim(1);
  if (is_constant() && divisor.is_constant() && divisor.constant() != 0) {
    return SymbolicDim(FloorDivInt(constant(), divisor.constant()));
  }
  if (divisor.is_constant() && divisor.constant() == 1) return *this;
  if (DividesBy(divisor) && divisor.terms_.size() == 1) {
    const auto& [dm, dc] = *divisor.terms_.begin();
    SymbolicDim r;
    Monomial rest;
    for (const auto& [m, c] : terms_) {
      ContainsAtoms(m, dm, &rest);
      r.Add(rest, c / dc);
    }
    return r;
  }
  auto wrap = [](const SymbolicDim& d) {
    const std::string s = d.ToString();
    const bool simple =
        (d.is_constant() && d.constant() >= 0) || (d.is_symbol() && IsIdentifier(s));
    if (d.is_symbol() && !IsIdentifier(s)) return "[" + s + "]";
    return simple ? s : "(" + s + ")";
  };
  SymbolicDim r;
  r.terms_[{wrap(*this) + "/" + wrap(divisor)}] = 1;
  return r;
}

SymbolicDim SymbolicDim::CeilDiv(const SymbolicDim& divisor) const {
  return (*this + divisor - SymbolicDim(1)).FloorDiv(divisor);
}

SymbolicDim SymbolicDim::Mod(const SymbolicDim& divisor) const {
  return *this - divisor * FloorDiv(divisor);
}

std::optional<SymbolicShape> ToSymbolicShape(const std::vector<Dim>& dims) {
  SymbolicShape out;
  for (const Dim& d : dims) {
    auto s = SymbolicDim::FromDim(d);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

std::vector<Dim> ToDims(const SymbolicShape& shape) {
  std::vector<Dim> out;
  for (const SymbolicDim& d : shape) out.push_back(d.ToDim());
  return out;
}

SymbolicDim NumElements(const SymbolicShape& shape) {
  SymbolicDim n(1);
  for (const SymbolicDim& d : shape) n = n * d;
  return n;
}

}  // namespace graphopt::ir
