//! Test and coverage reports (`reports:` in the buildspec, `-r DIR`).

pub mod formats;
mod generate;
mod xml;

pub(crate) use generate::generate_reports;
