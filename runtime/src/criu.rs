//! Checkpoint and restore through CRIU (being written).
