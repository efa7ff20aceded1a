"""Pure domain: no I/O, no clock, no cloud imports."""
