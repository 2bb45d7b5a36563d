"""Non-Python sources shipped as package data: hand-written WAT (wat/) and the JS loader (js/)."""
