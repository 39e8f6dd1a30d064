//! STUB until the real module lands.
