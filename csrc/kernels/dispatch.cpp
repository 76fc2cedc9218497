// placeholder: kernel dispatcher (to be written)
