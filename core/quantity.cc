#include "core/quantity.h"

#include <array>
#include <string>

namespace mpshare::core {
namespace {

using u128 = unsigned __int128;

// Large enough for any realistic quantity, small enough that mantissa * 10^k * 2^n
// stays exact in 128 bits for the scalings floorDiv performs.
constexpr int kMaxSignificantDigits = 24;
constexpr int kMaxExponent10 = 30;

struct Suffix {
  std::string_view text;
  int exp10;
  int exp2;
};

constexpr std::array<Suffix, 14> kSuffixes{{
    {"Ki", 0, 10},
    {"Mi", 0, 20},
    {"Gi", 0, 30},
    {"Ti", 0, 40},
    {"Pi", 0, 50},
    {"Ei", 0, 60},
    {"m", -3, 0},
    {"k", 3, 0},
    {"M", 6, 0},
    {"G", 9, 0},
    {"T", 12, 0},
    {"P", 15, 0},
    {"E", 18, 0},
    {"", 0, 0},
}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

Error malformed(std::string_view text, std::string_view why) {
  return invalidArgument(
      "", "\"" + std::string(text) + "\" is not a Kubernetes quantity: " + std::string(why));
}

// 10^n for 0 <= n <= 38, or nullopt past u128.
std::optional<u128> pow10(int n) {
  if (n < 0 || n > 38) return std::nullopt;
  u128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

bool mulOverflows(u128 a, u128 b, u128* out) {
  if (a != 0 && b > ~u128{0} / a) return true;
  *out = a * b;
  return false;
}

}  // namespace

Result<Quantity> parseQuantity(std::string_view text) {
  const std::string_view original = text;
  if (text.empty()) return malformed(original, "it is empty");

  Quantity q;
  if (text.front() == '+' || text.front() == '-') {
    q.negative_ = text.front() == '-';
    text.remove_prefix(1);
  }

  // Number: digits with at most one '.', at least one digit.
  size_t pos = 0;
  int digits_seen = 0;
  int fraction_digits = 0;
  bool in_fraction = false;
  int significant = 0;
  u128 mantissa = 0;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '.') {
      if (in_fraction) return malformed(original, "more than one '.'");
      in_fraction = true;
      continue;
    }
    if (!isDigit(c)) break;
    ++digits_seen;
    if (in_fraction) ++fraction_digits;
    if (mantissa == 0 && c == '0') continue;  // leading zeros are not significant
    if (++significant > kMaxSignificantDigits) {
      return malformed(original, "more than 24 significant digits");
    }
    mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
  }
  if (digits_seen == 0) return malformed(original, "it must start with a number");

  int exp10 = -fraction_digits;
  int exp2 = 0;
  const std::string_view suffix = text.substr(pos);
  if (!suffix.empty() && (suffix.front() == 'e' || suffix.front() == 'E') && suffix.size() > 1 &&
      (isDigit(suffix[1]) || suffix[1] == '+' || suffix[1] == '-')) {
    // Decimal exponent: e<signed integer>.
    std::string_view rest = suffix.substr(1);
    bool exp_negative = false;
    if (rest.front() == '+' || rest.front() == '-') {
      exp_negative = rest.front() == '-';
      rest.remove_prefix(1);
    }
    if (rest.empty()) return malformed(original, "exponent has no digits");
    int exponent = 0;
    for (const char c : rest) {
      if (!isDigit(c)) return malformed(original, "exponent must be an integer");
      exponent = exponent * 10 + (c - '0');
      if (exponent > 1000) return malformed(original, "exponent out of range");
    }
    exp10 += exp_negative ? -exponent : exponent;
  } else {
    const Suffix* match = nullptr;
    for (const Suffix& s : kSuffixes) {
      if (s.text == suffix) {
        match = &s;
        break;
      }
    }
    if (match == nullptr) {
      return malformed(original, "unknown suffix \"" + std::string(suffix) +
                                     "\" (allowed: Ki Mi Gi Ti Pi Ei, m k M G T P E, or e<n>)");
    }
    exp10 += match->exp10;
    exp2 = match->exp2;
  }

  // Fold trailing zeros into the exponent so equal values share one form.
  while (mantissa != 0 && mantissa % 10 == 0) {
    mantissa /= 10;
    ++exp10;
  }
  if (mantissa == 0) exp10 = 0;
  if (exp10 > kMaxExponent10) return malformed(original, "value too large");

  q.mantissa_ = mantissa;
  q.exp10_ = exp10;
  q.exp2_ = exp2;
  return q;
}

std::optional<int64_t> Quantity::floorDiv(int64_t unit) const {
  if (unit <= 0 || isNegative()) return std::nullopt;
  if (mantissa_ == 0) return 0;
  // value / unit = mantissa * 10^exp10 * 2^exp2 / unit, computed as num / den.
  u128 num = mantissa_;
  u128 den = static_cast<u128>(unit);
  if (exp10_ >= 0) {
    const auto p = pow10(exp10_);
    if (!p || mulOverflows(num, *p, &num)) return std::nullopt;
  } else {
    const auto p = pow10(-exp10_);
    if (!p) return 0;  // below 10^-38: rounds down to zero for any unit >= 1
    if (mulOverflows(den, *p, &den)) return 0;
  }
  for (int i = 0; i < exp2_; ++i) {
    if (mulOverflows(num, 2, &num)) return std::nullopt;
  }
  const u128 result = num / den;
  if (result > static_cast<u128>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(result);
}

std::optional<int64_t> Quantity::exactInteger() const {
  if (exp10_ < 0) return std::nullopt;  // trailing zeros were folded, so a fraction remains
  Quantity magnitude = *this;
  magnitude.negative_ = false;
  const auto value = magnitude.floorDiv(1);
  if (!value) return std::nullopt;
  return negative_ ? -*value : *value;
}

}  // namespace mpshare::core
