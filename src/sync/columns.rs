//! Column arrays for the batch upserts: a stream maps a page's records into one array per
//! column, record by record, the last of duplicate keys kept and malformed records set
//! aside as rejected.

use serde_json::Value;

use super::rejects::RejectedRecord;

/// Column arrays for one batch upsert, built record by record.
pub trait ColumnBuilder: Default {
    /// Maps one record to a row of every column but `raw`. It does everything that can
    /// fail before it pushes anything, so a rejected record leaves the columns aligned.
    fn push(&mut self, record: &Value) -> anyhow::Result<()>;

    /// The `raw` column: each record as received.
    fn raw_column(&mut self) -> &mut Vec<Value>;

    /// The columns of a page's records, keyed by the string field `key` (a key that
    /// repeats keeps its last record), and the records that could not be mapped.
    fn from_records(records: Vec<Value>, key: &str) -> (Self, Vec<RejectedRecord>) {
        Self::default().fill(records, key)
    }

    /// [`ColumnBuilder::from_records`] into columns the caller set up.
    fn fill(mut self, records: Vec<Value>, key: &str) -> (Self, Vec<RejectedRecord>) {
        let columns = &mut self;
        let mut rejected = Vec::new();
        let key_of = |v: &Value| v.get(key).and_then(Value::as_str).map(str::to_string);
        // A record without a key is never a duplicate: it is mapped (and rejected) alone.
        let numbered = records.into_iter().enumerate().collect();
        let unique = dedup_last(numbered, |(i, v): &(usize, Value)| key_of(v).ok_or(*i));
        for (_, record) in unique {
            match columns.push(&record) {
                Ok(()) => columns.raw_column().push(record),
                Err(error) => rejected.push(RejectedRecord {
                    key: key_of(&record),
                    reason: format!("{error:#}"),
                    raw: record,
                }),
            }
        }
        (self, rejected)
    }
}

/// Keeps the last of several rows with the same key: a batch upsert may not touch a row
/// twice, and the later occurrence is the newer one.
pub fn dedup_last<T, K: std::hash::Hash + Eq>(rows: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut seen = std::collections::HashSet::new();
    let mut kept: Vec<T> = rows
        .into_iter()
        .rev()
        .filter(|row| seen.insert(key(row)))
        .collect();
    kept.reverse();
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_keeps_the_last_occurrence_in_order() {
        let rows = vec![(1, "a"), (2, "b"), (1, "c")];
        assert_eq!(dedup_last(rows, |r| r.0), vec![(2, "b"), (1, "c")]);
    }
}
