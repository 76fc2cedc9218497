#pragma once
// Running totals of a loss pass, one type from a batch's loss to an epoch's result: a step,
// an epoch, an evaluation and fit's progress callback all report these (Python: _core.Totals).
#include "common/types.hpp"

namespace fm::nn {

struct Totals {
  index_t count = 0;      // rows
  double loss = 0.0;      // mean loss incl. the L1/L2 penalty (an epoch: loss_sum / count)
  double loss_sum = 0.0;  // sum of each batch's mean loss times its rows (loss * count)
  double data_sum = 0.0;  // loss summed over samples (ce) or elements (bce, mse), times their
                          // weights, without the penalty: the mse metric's numerator
  double correct = 0.0;   // correct samples (ce) or elements (bce), weighted; -1 for mse
  double weight = 0.0;    // sum of the sample weights (rows when unweighted): accuracy's divisor
  double abs_sum = 0.0;   // mse with Network::track_abs_error: sum of |error|, weighted (mae)

  // Adds another part (a batch to an epoch, a block to an evaluation); fixed call order keeps
  // the sums deterministic. correct stays -1 once a part has none.
  void add(const Totals& o) {
    count += o.count;
    loss_sum += o.loss_sum;
    data_sum += o.data_sum;
    correct = (correct < 0 || o.correct < 0) ? -1.0 : correct + o.correct;
    weight += o.weight;
    abs_sum += o.abs_sum;
    loss = count > 0 ? loss_sum / static_cast<double>(count) : 0.0;
  }
  // Sets the mean loss of this one pass (data mean + penalty) and its loss_sum.
  void set_loss(double mean) {
    loss = mean;
    loss_sum = mean * static_cast<double>(count);
  }
};

}  // namespace fm::nn
