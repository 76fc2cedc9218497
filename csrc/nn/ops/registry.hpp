#pragma once
// Every op of the network, in OpKind order (the enum and the op table are generated from this
// list). Adding an op: its file nn/ops/<op>.cpp (defining <op>_info and <op>_fns<T>) and one
// entry here.
#define FM_NN_OPS(X) X(dense) X(batchnorm) X(act) X(dropout) X(noise) X(standardize)
