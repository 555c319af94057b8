#pragma once

// A read-only view of one JSON value, with one small API over two libraries:
//   NlohmannView  nlohmann::json, for documents mpshare keeps or edits (the
//                 extender's caches, watch events, the scheduler's arguments);
//   SimdjsonView  simdjson's DOM, for a body parsed once and read once (the
//                 webhook's AdmissionReview: about 10x faster to parse).
// Readers of Kubernetes objects (platform/kube_json.cc) are templates over a
// view, so both libraries give the same values and the same error messages.
// Include this only from .cc files: it pulls in both libraries' headers.

#include <simdjson.h>

#include <charconv>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace mpshare::platform {

enum class JsonKind { kNull, kBoolean, kNumber, kString, kArray, kObject };

// The name errors print, as nlohmann's type_name(): "expected an object, got array".
constexpr const char* jsonKindName(JsonKind kind) {
  switch (kind) {
    case JsonKind::kNull:
      return "null";
    case JsonKind::kBoolean:
      return "boolean";
    case JsonKind::kNumber:
      return "number";
    case JsonKind::kString:
      return "string";
    case JsonKind::kArray:
      return "array";
    case JsonKind::kObject:
      return "object";
  }
  return "unknown";
}

// The error for a value of the wrong JSON type at `path`:
// "spec.containers: expected an array, got object".
template <typename View>
core::Error wrongJsonType(const std::string& path, const char* expected, const View& got) {
  return core::invalidArgument(
      path, std::string("expected ") + expected + ", got " + jsonKindName(got.kind()));
}

// Both views offer:
//   kind()                       the JSON type
//   find(key)                    the member `key` of an object (null included), else nullopt
//   text()                       a string's characters ("" for a non-string)
//   boolean()                    a boolean's value (false for a non-boolean)
//   numberText()                 a number as json::dump writes it ("1", "1.5")
//   forEachMember(f)             f(std::string_view key, View value) -> core::Status, in
//                                document order for simdjson, key order for nlohmann;
//                                stops at and returns the first error
//   forEachElement(f)            f(size_t index, View value) -> core::Status, likewise
//   dump()                       compact JSON text of the value
class NlohmannView {
 public:
  explicit NlohmannView(const nlohmann::json& value) : value_(&value) {}

  [[nodiscard]] JsonKind kind() const {
    switch (value_->type()) {
      case nlohmann::json::value_t::null:
        return JsonKind::kNull;
      case nlohmann::json::value_t::boolean:
        return JsonKind::kBoolean;
      case nlohmann::json::value_t::string:
        return JsonKind::kString;
      case nlohmann::json::value_t::array:
        return JsonKind::kArray;
      case nlohmann::json::value_t::object:
        return JsonKind::kObject;
      default:
        return JsonKind::kNumber;  // integer, unsigned, float (binary never comes from text)
    }
  }
  [[nodiscard]] std::optional<NlohmannView> find(std::string_view key) const {
    if (!value_->is_object()) return std::nullopt;
    auto it = value_->find(key);
    if (it == value_->end()) return std::nullopt;
    return NlohmannView(*it);
  }
  [[nodiscard]] std::string_view text() const {
    if (!value_->is_string()) return {};
    return value_->get_ref<const std::string&>();
  }
  [[nodiscard]] bool boolean() const { return value_->is_boolean() && value_->get<bool>(); }
  [[nodiscard]] std::string numberText() const { return value_->dump(); }
  template <typename F>
  core::Status forEachMember(F&& f) const {
    if (!value_->is_object()) return {};
    for (const auto& [key, value] : value_->items()) {
      if (auto s = f(std::string_view(key), NlohmannView(value)); !s) return s;
    }
    return {};
  }
  template <typename F>
  core::Status forEachElement(F&& f) const {
    if (!value_->is_array()) return {};
    size_t index = 0;
    for (const auto& value : *value_) {
      if (auto s = f(index++, NlohmannView(value)); !s) return s;
    }
    return {};
  }
  [[nodiscard]] std::string dump() const {
    return value_->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

 private:
  const nlohmann::json* value_;
};

// Valid only while the simdjson::dom::parser that produced the element lives
// and parses nothing else.
class SimdjsonView {
 public:
  explicit SimdjsonView(simdjson::dom::element value) : value_(value) {}

  [[nodiscard]] JsonKind kind() const {
    switch (value_.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        return JsonKind::kNull;
      case simdjson::dom::element_type::BOOL:
        return JsonKind::kBoolean;
      case simdjson::dom::element_type::STRING:
        return JsonKind::kString;
      case simdjson::dom::element_type::ARRAY:
        return JsonKind::kArray;
      case simdjson::dom::element_type::OBJECT:
        return JsonKind::kObject;
      default:
        return JsonKind::kNumber;  // INT64, UINT64, DOUBLE
    }
  }
  [[nodiscard]] std::optional<SimdjsonView> find(std::string_view key) const {
    simdjson::dom::object object;
    if (value_.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::element found;
    if (object.at_key(key).get(found) != simdjson::SUCCESS) return std::nullopt;
    return SimdjsonView(found);
  }
  [[nodiscard]] std::string_view text() const {
    std::string_view out;
    if (value_.get_string().get(out) != simdjson::SUCCESS) return {};
    return out;
  }
  [[nodiscard]] bool boolean() const {
    bool out = false;
    if (value_.get_bool().get(out) != simdjson::SUCCESS) return false;
    return out;
  }
  [[nodiscard]] std::string numberText() const {
    switch (value_.type()) {
      case simdjson::dom::element_type::INT64:
        return std::to_string(int64_t(value_));
      case simdjson::dom::element_type::UINT64:
        return std::to_string(uint64_t(value_));
      case simdjson::dom::element_type::DOUBLE: {
        // Shortest round-trip digits, with ".0" on whole numbers as json::dump writes them.
        char buffer[32];
        const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), double(value_));
        std::string out(buffer, ec == std::errc() ? end : buffer);
        if (out.find_first_of(".e") == std::string::npos) out += ".0";
        return out;
      }
      default:
        return {};
    }
  }
  template <typename F>
  core::Status forEachMember(F&& f) const {
    simdjson::dom::object object;
    if (value_.get_object().get(object) != simdjson::SUCCESS) return {};
    for (const auto field : object) {
      if (auto s = f(field.key, SimdjsonView(field.value)); !s) return s;
    }
    return {};
  }
  template <typename F>
  core::Status forEachElement(F&& f) const {
    simdjson::dom::array array;
    if (value_.get_array().get(array) != simdjson::SUCCESS) return {};
    size_t index = 0;
    for (const auto value : array) {
      if (auto s = f(index++, SimdjsonView(value)); !s) return s;
    }
    return {};
  }
  [[nodiscard]] std::string dump() const { return simdjson::to_string(value_); }
  [[nodiscard]] simdjson::dom::element element() const { return value_; }

 private:
  simdjson::dom::element value_;
};

}  // namespace mpshare::platform
