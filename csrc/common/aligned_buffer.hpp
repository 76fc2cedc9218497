#pragma once
// A 64-byte aligned, uninitialized, move-only buffer. Allocation failure throws std::bad_alloc
// (MemoryError in Python), never crashes.
#include <cstddef>
#include <cstdlib>
#include <new>
#include <utility>

#include "common/types.hpp"

namespace fm {

inline constexpr std::size_t kAlign = 64;

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(index_t n) { resize(n); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  ~AlignedBuffer() { release(); }

  // Grows (never shrinks) to at least n elements; contents are not preserved.
  void resize(index_t n) {
    if (n <= n_) return;
    if (n < 0 || static_cast<std::size_t>(n) > (SIZE_MAX - kAlign) / sizeof(T))
      throw std::bad_alloc();
    std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, bytes);
    if (!p) throw std::bad_alloc();
    release();
    p_ = static_cast<T*>(p);
    n_ = n;
  }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  index_t size() const noexcept { return n_; }
  T& operator[](index_t i) noexcept { return p_[i]; }
  const T& operator[](index_t i) const noexcept { return p_[i]; }

 private:
  void release() noexcept {
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  index_t n_ = 0;
};

}  // namespace fm
