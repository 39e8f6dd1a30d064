//! Renderers: turn an audit report into text or JSON. They never judge or read files.

pub mod json;
pub mod sanitize;
pub mod text;
