#pragma once
// Activation names as Python spells them <-> Act. One table for the network builder and the
// kernel bindings, so both accept the same names and report the same error.
#include <string>

#include "common/types.hpp"

namespace fm {

// ValueError listing the valid names on an unknown one; "swish" is silu's other name.
Act act_from_name(const std::string& name);
const char* act_name(Act act);  // "?" for a value outside the enum
const char* valid_act_names();  // "linear, sigmoid, ..." for messages

}  // namespace fm
