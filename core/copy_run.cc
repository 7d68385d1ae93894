#include "core/copy_run.h"

#include <cassert>

namespace mirrorfs::core {

namespace {
uint64_t copy_cost(const DeltaCommand& c) {
  uint8_t buf[kMaxCommandHeader];
  return encode_copy(c.basis_pos, c.len, buf);
}
}  // namespace

uint64_t CopyRun::Plan::total() const {
  return cost + (open.len ? copy_cost(open) : 0);
}

void CopyRun::extend(Plan& p, uint64_t new_off, uint64_t pos, uint64_t len) {
  if (p.open.len && p.open.basis_pos + p.open.len == pos) {
    p.open.len += len;
    return;
  }
  if (p.open.len) {
    p.cost += copy_cost(p.open);
    p.closed.push_back(p.open);
  }
  p.open = DeltaCommand{true, new_off, len, pos};
}

void CopyRun::add(uint64_t new_off, uint64_t extend_pos, uint64_t first_pos,
                  uint64_t len) {
  extend(plans_[0], new_off, extend_pos, len);
  extend(plans_[1], new_off, first_pos, len);
  if (plans_[0].closed.size() > kMaxPlanCommands ||
      plans_[1].closed.size() > kMaxPlanCommands) {
    settle();
  }
}

void CopyRun::settle() {
  // Ties go to "extend": its open COPY is the likelier to grow.
  const Plan& best =
      plans_[1].total() < plans_[0].total() ? plans_[1] : plans_[0];
  for (const DeltaCommand& c : best.closed) sink_(c);
  const DeltaCommand open = best.open;
  for (Plan& p : plans_) {
    p.closed.clear();
    p.cost = 0;
    p.open = open;
  }
  assert(plans_[0].open.new_off == plans_[1].open.new_off);
}

DeltaCommand CopyRun::finish_but_open() {
  settle();
  const DeltaCommand open = plans_[0].open;
  for (Plan& p : plans_) p.open.len = 0;
  return open;
}

void CopyRun::finish() {
  const DeltaCommand open = finish_but_open();
  if (open.len) sink_(open);
}

}  // namespace mirrorfs::core
