#pragma once

// Kubernetes YAML manifests -> the JSON the API server would send, so the demo
// can wrap the example pods in AdmissionReviews exactly as a cluster would.

#include <nlohmann/json.hpp>
#include <string>

namespace mpshare::demo {

// Converts one YAML document. Quoted scalars stay strings ("1" stays "1");
// plain scalars become integers, booleans or null where YAML 1.2 core schema
// says so, like kubectl's conversion. Throws std::runtime_error naming the file.
nlohmann::json loadYamlAsJson(const std::string& path);

}  // namespace mpshare::demo
