//! The data causal discovery works on: one column per variable.

use crate::error::{Error, Result};

/// Samples × variables, stored column by column (a CI test reads whole columns).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    n_samples: usize,
    columns: Vec<Vec<f64>>,
    names: Vec<String>,
}

impl Dataset {
    /// A dataset from equal-length, finite columns and one name per column.
    ///
    /// # Errors
    /// [`Error::BadData`] when lengths differ, a value is not finite, or names and columns disagree.
    pub fn new(columns: Vec<Vec<f64>>, names: Vec<String>) -> Result<Self> {
        if names.len() != columns.len() {
            return Err(Error::BadData(format!(
                "{} names for {} columns",
                names.len(),
                columns.len()
            )));
        }
        let n_samples = columns.first().map_or(0, Vec::len);
        for (i, c) in columns.iter().enumerate() {
            if c.len() != n_samples {
                return Err(Error::BadData(format!(
                    "column {i} ({}) has {} samples, column 0 has {n_samples}",
                    names.get(i).map_or("?", String::as_str),
                    c.len()
                )));
            }
            if let Some(row) = c.iter().position(|v| !v.is_finite()) {
                return Err(Error::BadData(format!(
                    "column {i} ({}) row {row} is not finite",
                    names.get(i).map_or("?", String::as_str)
                )));
            }
        }
        Ok(Self {
            n_samples,
            columns,
            names,
        })
    }

    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of variables (columns).
    pub fn n_vars(&self) -> usize {
        self.columns.len()
    }

    /// One variable's values.
    ///
    /// # Errors
    /// [`Error::NoSuchVariable`] for an index out of range.
    pub fn column(&self, index: usize) -> Result<&[f64]> {
        self.columns
            .get(index)
            .map(Vec::as_slice)
            .ok_or(Error::NoSuchVariable {
                index,
                n_vars: self.columns.len(),
            })
    }

    /// One variable's name.
    pub fn name(&self, index: usize) -> Option<&str> {
        self.names.get(index).map(String::as_str)
    }
}
