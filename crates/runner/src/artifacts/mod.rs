//! Build artifacts: choosing files, zipping them, unpacking safely.

pub mod archive;
pub mod extract;
pub mod select;
