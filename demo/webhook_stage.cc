#include "demo/webhook_stage.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <stdexcept>

#include "demo/yaml_json.h"
#include "platform/base64.h"
#include "platform/http_server.h"
#include "platform/metrics.h"
#include "platform/self_signed_cert.h"
#include "webhook/routes.h"

namespace mpshare::demo {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json admissionReview(const ExamplePod& example, int n) {
  const json gvk = {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}};
  const json gvr = {{"group", ""}, {"version", "v1"}, {"resource", "pods"}};
  const json meta = example.pod.value("metadata", json::object());
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "demo-" + std::to_string(n)},
            {"kind", gvk},
            {"resource", gvr},
            {"requestKind", gvk},
            {"requestResource", gvr},
            {"name", meta.value("name", "")},
            {"namespace", meta.value("namespace", "default")},
            {"operation", "CREATE"},
            {"userInfo", {{"username", "demo"}, {"groups", {"system:authenticated"}}}},
            {"object", example.pod},
            {"oldObject", nullptr},
            {"dryRun", false},
            {"options", {{"apiVersion", "meta.k8s.io/v1"}, {"kind", "CreateOptions"}}}}}};
}

// "THREADS MEMORY  where" for the first container that got MPS settings.
struct Injected {
  std::string threads = "-";
  std::string memory = "-";
  std::string notes;
};

Injected injectedSettings(const json& pod) {
  Injected out;
  const json spec = pod.value("spec", json::object());
  std::vector<std::string> containers;
  bool pipe = false;
  for (const char* list : {"initContainers", "containers"}) {
    for (const auto& c : spec.value(list, json::array())) {
      bool touched = false;
      for (const auto& e : c.value("env", json::array())) {
        const std::string name = e.value("name", "");
        if (name == "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE") out.threads = e.value("value", "") + "%";
        if (name == "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT") out.memory = e.value("value", "");
        if (name == "CUDA_MPS_PIPE_DIRECTORY") pipe = true;
        touched = touched || name.starts_with("CUDA_MPS_");
      }
      if (touched) containers.push_back(c.value("name", ""));
    }
  }
  for (const auto& c : containers) out.notes += (out.notes.empty() ? "into " : ", ") + c;
  if (out.threads == "-" && out.memory == "-" && !containers.empty())
    out.notes += " (no limits: whole GPU)";
  if (pipe) out.notes += "; MPS pipe mounted";
  if (spec.value("hostIPC", false)) out.notes += ", hostIPC";
  if (containers.empty()) out.notes = "not a GPU pod: unchanged";
  return out;
}

}  // namespace

std::vector<ExamplePod> loadExamplePods(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::runtime_error("no *.yaml pods in " + dir);
  std::vector<ExamplePod> pods;
  for (const auto& f : files) pods.push_back({f, loadYamlAsJson(f)});
  return pods;
}

std::vector<AdmittedPod> runWebhookStage(const std::vector<ExamplePod>& pods, std::ostream& out) {
  const fs::path dir = fs::temp_directory_path() / ("mpshare-demo-" + std::to_string(::getpid()));
  const platform::TlsBundle bundle = platform::writeSelfSignedBundle(dir.string());
  platform::MetricsRegistry registry;
  webhook::WebhookRoutes routes(webhook::Config{}, registry);
  platform::ServerOptions options;
  options.tls = platform::TlsFiles{bundle.cert_file, bundle.key_file, ""};
  auto server = platform::startHttpServer(
      options, [&routes](const platform::HttpRequest& r) { return routes.handle(r); });

  web::http::client::http_client_config config;
  config.set_validate_certificates(true);
  const std::string ca_file = bundle.ca_file;
  config.set_ssl_context_callback([ca_file](boost::asio::ssl::context& ctx) {
    ctx.load_verify_file(ca_file);  // trust only the CA generated above
  });
  const std::string base = "https://127.0.0.1:" + std::to_string(server->port());
  web::http::client::http_client client(base, config);

  out << "mpshare-webhook on " << base << " (TLS, " << server->servingCertificate()
      << ", fresh self-signed CA)\n\n";
  out << std::left << std::setw(18) << "POD" << std::setw(10) << "RESULT" << std::setw(9)
      << "THREADS" << std::setw(14) << "MEMORY LIMIT"
      << "DETAILS\n";

  std::vector<AdmittedPod> admitted;
  int n = 0;
  for (const auto& example : pods) {
    const json review = admissionReview(example, ++n);
    web::http::http_request request(web::http::methods::POST);
    request.set_request_uri("/mutate?timeout=10s");
    request.set_body(review.dump(), "application/json");
    const auto response = client.request(request).get();
    const std::string body = response.extract_utf8string(true).get();
    if (response.status_code() != 200) {
      throw std::runtime_error(example.file + ": webhook answered " +
                               std::to_string(response.status_code()) + ": " + body);
    }
    const json answer = json::parse(body).at("response");
    const std::string name =
        example.pod["metadata"].value("name", fs::path(example.file).stem().string());
    out << std::left << std::setw(18) << name;
    if (!answer.value("allowed", false)) {
      out << std::setw(10) << "DENIED" << std::setw(9) << "-" << std::setw(14) << "-"
          << answer["status"].value("message", "") << "\n";
      continue;
    }
    json pod = example.pod;
    if (answer.contains("patch")) {
      const auto patch = platform::base64Decode(answer["patch"].get<std::string>());
      if (!patch)
        throw std::runtime_error(example.file + ": webhook patch " + patch.error().describe());
      pod = pod.patch(json::parse(*patch));
    }
    const Injected injected = injectedSettings(pod);
    out << std::setw(10) << "admitted" << std::setw(9) << injected.threads << std::setw(14)
        << injected.memory << injected.notes << "\n";
    for (const auto& warning : answer.value("warnings", json::array())) {
      out << std::setw(18) << ""
          << "warning: " << warning.get<std::string>() << "\n";
    }
    admitted.push_back({example.file, std::move(pod)});
  }
  server->stop();
  fs::remove_all(dir);
  return admitted;
}

}  // namespace mpshare::demo
