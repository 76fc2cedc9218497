// placeholder: network (to be written)
