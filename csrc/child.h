// The executor that runs in the child made by clone3 (see spawn.cc).
#pragma once

#include "plan.h"

namespace runt {

// Carries out plan.steps in the freshly cloned child and never returns: it ends in execve or
// _exit. Only async-signal-safe code runs from here on; `plan` is the child's private copy.
[[noreturn]] void RunChild(Plan& plan, int sock);

}  // namespace runt
