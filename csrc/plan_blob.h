// The plan as one flat byte string, so that it can cross execve: the addon writes it into a memfd
// and runt-init reads it back. Pointers travel as offsets into the blob's data area; decoding turns
// them back into pointers in place, so the decoded Plan points into the caller's buffer.
#pragma once

#include <cstddef>
#include <string>

#include "plan.h"

namespace runt {

std::string EncodePlan(const Plan& plan);

// `blob` must stay alive (and writable) as long as `plan` is used. False when it is malformed or
// was written by a different build (layout check).
bool DecodePlan(char* blob, size_t len, Plan& plan);

}  // namespace runt
