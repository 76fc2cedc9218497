// placeholder: training step (to be written)
