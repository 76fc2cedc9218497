// placeholder: GEMM dispatcher (to be written)
