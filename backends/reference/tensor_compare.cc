// Tolerance-based tensor comparison for verification and conformance.
#include "backends/reference/tensor_compare.h"

#include <cmath>
#include <sstream>

namespace graphopt::reference {

OutputComparison CompareTensors(const std::string& name, const Tensor& actual,
                                const Tensor& expected, double atol, double rtol) {
  OutputComparison c;
  c.name = name;
  if (actual.dtype() != expected.dtype()) {
    c.detail = "dtype " + std::string(DataTypeName(actual.dtype())) + " vs expected " +
               std::string(DataTypeName(expected.dtype()));
    return c;
  }
  if (actual.shape() != expected.shape()) {
    c.detail = "shape " + ShapeToString(actual.shape()) + " vs expected " +
               ShapeToString(expected.shape());
    return c;
  }
  const int64_t n = actual.size();
  if (actual.dtype() == DataType::kString) {
    for (int64_t i = 0; i < n; ++i) {
      if (actual.strings()[static_cast<size_t>(i)] != expected.strings()[static_cast<size_t>(i)]) {
        c.detail = "string element " + std::to_string(i) + " differs";
        return c;
      }
    }
    c.match = true;
    return c;
  }
  if (!IsFloatingPoint(actual.dtype()) && !IsInteger(actual.dtype()) &&
      actual.dtype() != DataType::kBool) {
    // Complex and other exotic types: only bit-exact equality is judged.
    c.match = actual.bytes() == expected.bytes();
    if (!c.match) c.detail = "bytes differ";
    return c;
  }
  const bool is_float = IsFloatingPoint(actual.dtype());
  int64_t bad = 0, first_bad = -1;
  double dot = 0, norm_a = 0, norm_b = 0;  // over the finite pairs, for the cosine
  std::string nan_detail;
  for (int64_t i = 0; i < n; ++i) {
    if (!is_float) {
      const int64_t a = actual.GetInt64(i), b = expected.GetInt64(i);
      if (a != b) {
        const double err = std::fabs(static_cast<double>(a) - static_cast<double>(b));
        c.max_abs_err = std::max(c.max_abs_err, err);
        if (b != 0)
          c.max_rel_err = std::max(c.max_rel_err, err / std::fabs(static_cast<double>(b)));
        if (bad++ == 0) first_bad = i;
      }
      continue;
    }
    const double a = actual.GetDouble(i), b = expected.GetDouble(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) != std::isnan(b)) {
        if (nan_detail.empty())
          nan_detail = "NaN placement differs at element " + std::to_string(i);
        if (bad++ == 0) first_bad = i;
      }
      continue;
    }
    if (std::isinf(a) || std::isinf(b)) {
      if (a != b) {
        if (nan_detail.empty())
          nan_detail = "Inf placement differs at element " + std::to_string(i);
        if (bad++ == 0) first_bad = i;
      }
      continue;
    }
    dot += a * b;
    norm_a += a * a;
    norm_b += b * b;
    const double err = std::fabs(a - b);
    c.max_abs_err = std::max(c.max_abs_err, err);
    if (b != 0) c.max_rel_err = std::max(c.max_rel_err, err / std::fabs(b));
    if (err > atol + rtol * std::fabs(b)) {
      if (bad++ == 0) first_bad = i;
    }
  }
  if (norm_a > 0 && norm_b > 0) {
    c.cosine = dot / std::sqrt(norm_a * norm_b);
  } else if (norm_a > 0 || norm_b > 0) {
    c.cosine = 0;  // one of them is all zeros
  }
  c.match = bad == 0;
  if (!c.match) {
    std::ostringstream os;
    os << bad << " of " << n << " elements differ";
    if (!nan_detail.empty()) os << "; " << nan_detail;
    if (first_bad >= 0) {
      os << "; first at " << first_bad << ": " << actual.GetDouble(first_bad) << " vs expected "
         << expected.GetDouble(first_bad);
    }
    c.detail = os.str();
  }
  return c;
}

}  // namespace graphopt::reference
