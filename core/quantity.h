#pragma once

// Kubernetes resource quantities ("4Gi", "1.5Gi", "512Mi", "8G", "1e9", "4096"),
// parsed exactly as apimachinery's resource.Quantity grammar defines them:
//
//   quantity ::= [+-] number suffix
//   number   ::= digits | digits "." digits | digits "." | "." digits
//   suffix   ::= "" | binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (m k M G T P E)
//              | ("e" | "E") [+-] digits
//
// The value is kept exact (an integer mantissa scaled by powers of 10 and 2), so
// "1.5Gi" is exactly 1536 MiB and rounding happens only where a caller asks.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.h"

namespace mpshare::core {

class Quantity {
 public:
  Quantity() = default;

  [[nodiscard]] bool isZero() const { return mantissa_ == 0; }
  [[nodiscard]] bool isNegative() const { return negative_ && mantissa_ != 0; }

  // floor(value / unit) for a non-negative value, or nullopt if negative or if the
  // result does not fit in int64. Example: parse("1.5Gi")->floorDiv(1 << 20) == 1536.
  [[nodiscard]] std::optional<int64_t> floorDiv(int64_t unit) const;

  // The value as an integer when it is one ("2", "2000m", "1e3"), else nullopt.
  [[nodiscard]] std::optional<int64_t> exactInteger() const;

 private:
  friend Result<Quantity> parseQuantity(std::string_view text);

  bool negative_ = false;
  unsigned __int128 mantissa_ = 0;  // significant digits, trailing zeros folded into exp10_
  int exp10_ = 0;
  int exp2_ = 0;
};

// Parses `text` as a Kubernetes quantity. Errors name what is malformed, e.g.
// `"4GB" is not a Kubernetes quantity: unknown suffix "GB" (use Ki, Mi, Gi, ... or k, M, G, ...)`.
Result<Quantity> parseQuantity(std::string_view text);

inline constexpr int64_t kMiB = int64_t{1} << 20;

}  // namespace mpshare::core
