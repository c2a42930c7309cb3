// Adagrad as Keras implements it, shared by every trainable parameter.
#ifndef MOVIEREC_MODEL_ADAGRAD_H_
#define MOVIEREC_MODEL_ADAGRAD_H_

namespace movierec {

struct AdagradOptions {
  float learning_rate = 0.1f;
  float initial_accumulator = 0.1f;  // Keras' default
  float epsilon = 1e-7f;             // Keras' default
};

// One Adagrad step on a block of parameters (any Eigen expressions of the
// same shape): acc += grad^2; weights -= lr * grad / (sqrt(acc) + epsilon).
template <typename W, typename A, typename G>
void AdagradUpdate(const AdagradOptions& options, W&& weights, A&& acc,
                   const G& grad) {
  acc.array() += grad.array().square();
  weights.array() -= options.learning_rate * grad.array() /
                     (acc.array().sqrt() + options.epsilon);
}

}  // namespace movierec

#endif  // MOVIEREC_MODEL_ADAGRAD_H_
