#include "extender/standalone_extender.h"

#include <utility>

namespace mpshare::extender {

StandaloneExtender::StandaloneExtender(ExtenderConfig config)
    : metrics_(registry_),
      service_(std::move(config), pods_, binder_, &metrics_, registry_),
      routes_(service_, ready_) {}

core::Result<std::unique_ptr<StandaloneExtender>> StandaloneExtender::create(ExtenderConfig config,
                                                                             NodeSource* nodes) {
  std::unique_ptr<StandaloneExtender> extender(new StandaloneExtender(std::move(config)));
  if (nodes != nullptr) {
    if (core::Status started = nodes->start(extender->service_); !started) {
      return started.error();
    }
  }
  extender->service_.startLearning();
  extender->ready_.set(true);
  return extender;
}

}  // namespace mpshare::extender
