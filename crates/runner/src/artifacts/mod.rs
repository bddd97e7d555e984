//! Build artifacts: choosing files, zipping them, unpacking safely.

pub mod archive;
pub mod extract;
pub mod from_tar;
pub mod parallel_zip;
pub mod select;
mod zip_format;
