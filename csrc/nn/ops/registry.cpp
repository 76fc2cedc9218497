// The op table: OpKind -> the op's plan step and its forward / backward / inference functions.
#include "common/check.hpp"
#include "nn/ops/op.hpp"

namespace fm::nn {

#define FM_OP_DECLARE(name)        \
  extern const OpInfo name##_info; \
  template <class T>               \
  OpFns<T> name##_fns();
FM_NN_OPS(FM_OP_DECLARE)
#undef FM_OP_DECLARE

namespace {

const OpInfo* const kInfos[] = {
#define FM_OP_INFO(name) &name##_info,
    FM_NN_OPS(FM_OP_INFO)
#undef FM_OP_INFO
};

template <class T>
struct FnTable {
  OpFns<T> fns[kNumOps] = {
#define FM_OP_FNS(name) name##_fns<T>(),
      FM_NN_OPS(FM_OP_FNS)
#undef FM_OP_FNS
  };
};

}  // namespace

const OpInfo& op_info(OpKind kind) { return *kInfos[static_cast<int>(kind)]; }

template <class T>
const OpFns<T>& op_fns(OpKind kind) {
  static const FnTable<T> table;
  return table.fns[static_cast<int>(kind)];
}

template const OpFns<float>& op_fns<float>(OpKind);
template const OpFns<double>& op_fns<double>(OpKind);

OpKind layer_kind_from_name(const std::string& name) {
  for (int k = 0; k < kNumOps; ++k)
    if (name == kInfos[k]->name) return static_cast<OpKind>(k);
  std::string valid;
  for (int k = 0; k < kNumOps; ++k) valid += std::string(k ? ", " : "") + kInfos[k]->name;
  FM_CHECK(false, "unknown layer kind '", name, "'; valid kinds: ", valid);
}

}  // namespace fm::nn
