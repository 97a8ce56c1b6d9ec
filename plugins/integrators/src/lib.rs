//! Built-in integrators (being written).
