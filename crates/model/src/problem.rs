//! Diagnostics: what is wrong with a definition, and where.

use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a problem is: errors make a definition unusable, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// The place a problem points at. Every field but the file is optional because
/// not every problem belongs to a stage or action, and JSON/YAML lines are
/// recovered heuristically (see `locate`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Place {
    pub file: PathBuf,
    pub line: Option<usize>,
    /// Which pipeline, when the file holds several: `'Name' (LogicalId)`.
    pub pipeline: Option<String>,
    pub stage: Option<String>,
    pub action: Option<String>,
}

impl Place {
    pub fn file(file: &Path) -> Self {
        Place {
            file: file.to_path_buf(),
            ..Place::default()
        }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(p) = &self.pipeline {
            write!(f, ": pipeline {p}")?;
        }
        match (&self.stage, &self.action) {
            (Some(s), Some(a)) => write!(f, ": stage '{s}', action '{a}'"),
            (Some(s), None) => write!(f, ": stage '{s}'"),
            (None, Some(a)) => write!(f, ": action '{a}'"),
            (None, None) => Ok(()),
        }
    }
}

/// One finding, printed as `file:line: stage 'S', action 'A': error: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub place: Place,
    pub message: String,
}

impl Problem {
    pub fn error(place: Place, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            place,
            message: message.into(),
        }
    }

    pub fn warning(place: Place, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            place,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {kind}: {}", self.place, self.message)
    }
}

/// Why a definition could not be loaded at all. Each variant names the file,
/// and the line where the parser knows it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: cannot read file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", place)]
    Syntax { place: Box<Place>, message: String },
    #[error("{}", problems.iter().filter(|p| p.is_error()).map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
}

impl LoadError {
    /// What a reader of a definition found: the value and its warnings
    /// when it found no error, else every problem, errors first.
    pub(crate) fn unless_errors<T>(
        value: Option<T>,
        errors: Vec<Problem>,
        warnings: Vec<Problem>,
    ) -> Result<(T, Vec<Problem>), LoadError> {
        match value {
            Some(value) if errors.is_empty() => Ok((value, warnings)),
            _ => {
                let mut problems = errors;
                problems.extend(warnings);
                Err(LoadError::Invalid { problems })
            }
        }
    }

    pub fn invalid(problem: Problem) -> Self {
        LoadError::Invalid {
            problems: vec![problem],
        }
    }

    /// One line for a one-line error: the first error, and how many more
    /// there are (`pipelocal validate` lists them all).
    pub fn summary(&self) -> String {
        let problems = self.problems();
        let mut errors = problems.iter().filter(|p| p.is_error());
        let Some(first) = errors.next() else {
            return self.to_string();
        };
        let more = errors.count();
        let line = format!("{}: {}", first.place, first.message);
        match more {
            0 => line,
            n => format!(
                "{line} (and {n} more problem{}: run `pipelocal validate` to list them)",
                if n == 1 { "" } else { "s" }
            ),
        }
    }

    /// Every problem this error stands for, for callers that list them all.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            LoadError::Read { path, source } => vec![Problem::error(
                Place::file(path),
                format!("cannot read file: {source}"),
            )],
            LoadError::Syntax { place, message } => {
                vec![Problem::error((**place).clone(), message)]
            }
            LoadError::Invalid { problems } => problems.clone(),
        }
    }
}
