//! A plain-text table for terminal output: columns sized to their widest cell, every cell
//! with its control characters escaped (see [`crate::display::escape`]).

use crate::display::escape;

/// `cell` followed by spaces up to `width` characters (any length works: no format width).
fn pad(cell: &str, width: usize) -> String {
    let mut out = cell.to_owned();
    out.extend(std::iter::repeat_n(
        ' ',
        width.saturating_sub(cell.chars().count()),
    ));
    out
}

/// Renders `rows` under `header`, columns separated by two spaces.
pub(crate) fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| escape(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| pad(cell, *w))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = line(&header);
    out.push('\n');
    out.push_str(&line(&rule));
    for row in &rows {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_align() {
        let text = super::render(&["a", "bb"], &[vec!["long".into(), "x".into()]]);
        assert_eq!(text, "a     bb\n----  --\nlong  x");
    }

    #[test]
    fn huge_and_hostile_cells_are_safe() {
        let huge = "x".repeat(100_000);
        let text = super::render(&["a", "b"], &[vec![huge, "\u{1b}[2J".into()]]);
        assert!(text.ends_with("\\u{1b}[2J"), "escaped");
    }
}
