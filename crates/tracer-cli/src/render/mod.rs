//! Rendering: human units, aligned tables, the spectrogram (terminal and image).
pub mod human;
pub mod image;
pub mod spectro;
pub mod statsd;
pub mod table;
