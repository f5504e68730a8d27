//! Service output: a pipe per service read into a bounded in-memory ring
//! and rotated log files, with live followers for `corral ctl logs -f`.

pub mod file;
mod reader;
pub mod ring;
mod sink;

pub use file::Limits;
pub use reader::pump;
pub use sink::{LogSink, Settings};
