//! The terminal side of `nsinit exec --tty` (being written).
