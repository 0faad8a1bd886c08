// JS SpawnConfig (src/plan/steps.ts) -> Plan, in the runtime process.
#pragma once

#include <napi.h>

#include "plan.h"

namespace runt {

// Converts a JS SpawnConfig; throws a JS TypeError on malformed input.
void BuildPlan(const Napi::Object& cfg, Plan& plan);

}  // namespace runt
