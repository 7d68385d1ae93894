#include "replicator/log.h"

#include <atomic>

namespace mirrorfs::replicator {
namespace {
std::atomic<const char*> component{"replicate"};
}  // namespace

void set_log_component(const char* name) { component.store(name); }
const char* log_component() { return component.load(); }

}  // namespace mirrorfs::replicator
