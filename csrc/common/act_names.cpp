#include "common/act_names.hpp"

#include "common/check.hpp"

namespace fm {
namespace {

struct ActName {
  const char* name;
  Act act;
};
constexpr ActName kActNames[] = {
    {"linear", Act::linear},
    {"sigmoid", Act::sigmoid},
    {"tanh", Act::tanh},
    {"relu", Act::relu},
    {"leaky_relu", Act::leaky_relu},
    {"softplus", Act::softplus},
    {"elu", Act::elu},
    {"gelu", Act::gelu},
    {"silu", Act::silu},
    {"softmax", Act::softmax},
};

}  // namespace

Act act_from_name(const std::string& name) {
  if (name == "swish") return Act::silu;
  for (const ActName& a : kActNames)
    if (name == a.name) return a.act;
  FM_CHECK(false, "unknown activation '", name, "'; valid names: ", valid_act_names());
}

const char* act_name(Act act) {
  for (const ActName& a : kActNames)
    if (act == a.act) return a.name;
  return "?";
}

const char* valid_act_names() {
  return "linear, sigmoid, tanh, relu, leaky_relu, softplus, elu, gelu, silu (swish), softmax";
}

}  // namespace fm
