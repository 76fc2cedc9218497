// placeholder: per-ISA GEMM (to be written)
