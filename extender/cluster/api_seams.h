#pragma once

// Cluster-mode seams backed by the API server: bind POSTs a Binding that carries
// mpshare.io/gpu-index (the server merges it into the pod in the same atomic
// update), and pod lookup falls back to GET when filter never saw the pod.

#include "extender/seams.h"
#include "extender/standalone.h"
#include "platform/kube_client.h"

namespace mpshare::extender {

// Pods remembered from filter/prioritize; unknown ones are read from the API
// server (e.g. after an extender restart between filter and bind).
class ApiPodLookup : public PodLookup {
 public:
  explicit ApiPodLookup(platform::KubeClient& client) : client_(client) {}
  void remember(const core::PodView& pod) override { memory_.remember(pod); }
  [[nodiscard]] std::optional<core::PodView> find(const std::string& uid,
                                                  const std::string& namespace_name,
                                                  const std::string& name) const override;
  void forget(const std::string& uid) override { memory_.forget(uid); }

 private:
  MemoryPodLookup memory_;
  platform::KubeClient& client_;
};

// Commits a bind as POST .../pods/{name}/binding with the uid precondition.
// A 409 or a failed exchange (network, 5xx) with the pod found on the
// requested node afterwards is success (this or an earlier attempt's reply was
// lost). When that check fails too, the answer is kUnavailable: the Binding
// may have landed, and the service holds the reservation until the cache
// settles it. Any other failure (the pod found elsewhere or unbound, a 404, a
// 4xx) is a known one, never kUnavailable, and the service releases the
// reservation it took before the POST.
class ApiBinder : public Binder {
 public:
  explicit ApiBinder(platform::KubeClient& client) : client_(client) {}
  core::Status bind(const BindRequest& request) override;

 private:
  platform::KubeClient& client_;
};

}  // namespace mpshare::extender
