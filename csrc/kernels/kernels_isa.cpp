// placeholder: per-ISA kernels (to be written)
