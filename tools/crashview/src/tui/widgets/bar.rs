//! A horizontal time bar: where a span sits within a whole, in cells.

/// Cells `[start, end)` of a bar `width` cells wide for `begin..end`
/// within `t0..t1`. A span always gets at least one cell so short steps
/// stay visible.
pub fn cells(t0: u64, t1: u64, begin: u64, end: u64, width: u16) -> (u16, u16) {
    let w = u64::from(width.max(1));
    let total = t1.saturating_sub(t0).max(1);
    let scale = |t: u64| (t.saturating_sub(t0).min(total) * w / total) as u16;
    let a = scale(begin).min(width.saturating_sub(1));
    let b = scale(end).max(a + 1).min(width.max(1));
    (a, b)
}

/// `0.122 ms`, `12.4 ms`, `1.52 s`: short enough for a column.
pub fn duration(ns: u64) -> String {
    if ns < 10_000_000 {
        format!("{}.{:03} ms", ns / 1_000_000, ns % 1_000_000 / 1000)
    } else if ns < 1_000_000_000 {
        format!("{}.{} ms", ns / 1_000_000, ns % 1_000_000 / 100_000)
    } else {
        format!(
            "{}.{:02} s",
            ns / 1_000_000_000,
            ns % 1_000_000_000 / 10_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_cells() {
        assert_eq!(cells(0, 100, 0, 100, 10), (0, 10));
        assert_eq!(cells(0, 100, 50, 51, 10), (5, 6));
        assert_eq!(cells(0, 100, 100, 100, 10), (9, 10));
        assert_eq!(cells(5, 5, 5, 5, 10), (0, 1));
    }

    #[test]
    fn durations() {
        assert_eq!(duration(122_753), "0.122 ms");
        assert_eq!(duration(10_085_238), "10.0 ms");
        assert_eq!(duration(1_500_000_000), "1.50 s");
    }
}
