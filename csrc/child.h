// The executor: runs in runt-init (init_main.cc), the program the clone3 child execs.
#pragma once

#include "plan.h"

namespace runt {

// Carries out plan.steps in runt-init and never returns: it ends in execve or
// _exit. Only async-signal-safe code runs from here on; `plan` is runt-init's own copy.
[[noreturn]] void RunChild(Plan& plan, int sock);

}  // namespace runt
