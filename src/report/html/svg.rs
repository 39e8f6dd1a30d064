//! Plots as inline SVG, drawn here by hand: grouped bars, stacked horizontal bars and a
//! heatmap are a few rectangles and labels each. Hand-built rather than plotters' SVG backend:
//! no dependency (and its font handling) for three simple shapes, every label goes through
//! [`esc`], and colours are SVG attributes, so the page's CSP needs no `unsafe-inline` style.

use super::page::esc;
use std::fmt::Write;

/// Colours of the series, in order: Okabe–Ito's eight, distinguishable for the common colour
/// blindnesses, then two of Tol's muted ones (a database audit has up to ten reasons).
pub const PALETTE: [&str; 10] = [
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
    "#882255", "#117733",
];

/// The upper end of an axis that starts at 0: 1, 2 or 5 times a power of ten, at or above
/// `max`, with the step between its five ticks.
fn nice_axis(max: f64) -> (f64, f64) {
    if !max.is_finite() || max <= 0.0 {
        return (1.0, 0.25);
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| s * 4.0 >= max)
        .unwrap_or(10.0 * magnitude);
    (step * 4.0, step)
}

/// A number as an axis or bar label: no more digits than it needs.
pub fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn open(width: u32, height: u32, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{0}\"><title>{0}</title>",
        esc(label)
    )
}

/// Where each legend entry goes: (x, line), wrapping at `max_x`.
fn legend_layout(names: &[String], x0: f64, max_x: f64) -> Vec<(f64, usize)> {
    let mut at = x0;
    let mut line = 0;
    names
        .iter()
        .map(|name| {
            let w = 24.0 + 6.5 * name.chars().count() as f64;
            if at > x0 && at + w > max_x {
                at = x0;
                line += 1;
            }
            let here = (at, line);
            at += w;
            here
        })
        .collect()
}

/// How many lines [`legend`] takes.
fn legend_lines(names: &[String], x0: f64, max_x: f64) -> usize {
    legend_layout(names, x0, max_x)
        .last()
        .map_or(0, |(_, line)| line + 1)
}

/// The legend, its first line's baseline at `y`, 16 px a line.
fn legend(out: &mut String, names: &[String], x0: f64, y: f64, max_x: f64) {
    for (i, (name, (x, line))) in names
        .iter()
        .zip(legend_layout(names, x0, max_x))
        .enumerate()
    {
        let y = y + 16.0 * line as f64;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{y:.1}\" font-size=\"11\">{}</text>",
            y - 9.0,
            PALETTE[i % PALETTE.len()],
            x + 14.0,
            esc(name)
        );
    }
}

/// One value per category and series, as vertical bars grouped by category, each bar labelled
/// with its value. `series` are (name, one value per category).
pub fn grouped_bars(
    label: &str,
    unit: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> String {
    let (width, height) = (460.0, 260.0);
    let (left, right, top, bottom) = (52.0, 10.0, 24.0, 40.0);
    let plot_w = width - left - right;
    let plot_h = height - top - bottom;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (top_value, step) = nice_axis(max);
    let y = |v: f64| top + plot_h - (v.max(0.0) / top_value) * plot_h;
    let mut out = open(width as u32, height as u32, label);
    for i in 0..=4 {
        let v = step * f64::from(i);
        let _ = write!(
            out,
            "<line x1=\"{left}\" x2=\"{x2:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#d0d7de\"/><text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"10\" text-anchor=\"end\" fill=\"#57606a\">{label}</text>",
            x2 = width - right,
            at = y(v),
            tx = left - 4.0,
            ty = y(v) + 3.5,
            label = short(v)
        );
    }
    let _ = write!(
        out,
        "<text x=\"4\" y=\"12\" font-size=\"10\" fill=\"#57606a\">{}</text>",
        esc(unit)
    );
    let groups = categories.len().max(1) as f64;
    let group_w = plot_w / groups;
    let bar_w = (group_w * 0.8 / series.len().max(1) as f64).min(48.0);
    for (c, name) in categories.iter().enumerate() {
        let start = left + group_w * c as f64 + (group_w - bar_w * series.len() as f64) / 2.0;
        for (s, (_, values)) in series.iter().enumerate() {
            let v = values
                .get(c)
                .copied()
                .filter(|v| v.is_finite())
                .unwrap_or(0.0);
            let x = start + bar_w * s as f64;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
                y(v),
                bar_w - 2.0,
                top + plot_h - y(v),
                PALETTE[s % PALETTE.len()],
                esc(&format!("{}: {}", series[s].0, short(v))),
                x + (bar_w - 2.0) / 2.0,
                y(v) - 3.0,
                short(v)
            );
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            left + group_w * (c as f64 + 0.5),
            top + plot_h + 14.0,
            esc(name)
        );
    }
    let names: Vec<String> = series.iter().map(|(n, _)| n.clone()).collect();
    legend(&mut out, &names, left, height - 6.0, width);
    out.push_str("</svg>");
    out
}

/// A horizontal bar per row: its whole length is `total`, and its coloured part is made of
/// `segments` (one value per legend entry, laid end to end from the left); the rest is grey.
pub struct HBar {
    pub label: String,
    pub total: f64,
    /// What the bar's end says, e.g. `12.0 MiB, 48 % removable`.
    pub caption: String,
    pub segments: Vec<f64>,
}

pub fn stacked_hbars(label: &str, legend_names: &[String], bars: &[HBar]) -> String {
    let label_w = 230.0;
    let caption_w = 170.0;
    let width = 760.0;
    let bar_h = 16.0;
    let row_h = 22.0;
    let top = 8.0;
    let lines = legend_lines(legend_names, 8.0, width - 8.0);
    let height = top + row_h * bars.len() as f64 + 12.0 + 16.0 * lines as f64;
    let plot_w = width - label_w - caption_w;
    let max = bars.iter().map(|b| b.total).fold(0.0, f64::max);
    let scale = if max > 0.0 { plot_w / max } else { 0.0 };
    let mut out = open(width as u32, height as u32, label);
    for (i, b) in bars.iter().enumerate() {
        let y = top + row_h * i as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 12.0,
            esc(&b.label)
        );
        let whole = (b.total * scale).max(if b.total > 0.0 { 1.0 } else { 0.0 });
        let _ = write!(
            out,
            "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{whole:.1}\" height=\"{bar_h}\" fill=\"#d0d7de\"/>"
        );
        let mut x = label_w;
        for (s, v) in b.segments.iter().enumerate() {
            let w = (v * scale).min(label_w + whole - x).max(0.0);
            if w <= 0.0 {
                continue;
            }
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"{}\"><title>{}</title></rect>",
                PALETTE[s % PALETTE.len()],
                esc(legend_names.get(s).map_or("", String::as_str))
            );
            x += w;
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            label_w + whole + 6.0,
            y + 12.0,
            esc(&b.caption)
        );
    }
    legend(
        &mut out,
        legend_names,
        8.0,
        top + row_h * bars.len() as f64 + 16.0,
        width - 8.0,
    );
    out.push_str("</svg>");
    out
}

/// A table of text cells, each row's distinct values in distinct colours (so the odd node out
/// stands out), `–` in white where a node does not say.
pub fn heatmap(label: &str, columns: &[String], rows: &[(String, Vec<Option<String>>)]) -> String {
    // As wide as the longest setting name needs, up to the 44 characters shown.
    let longest = rows
        .iter()
        .map(|(s, _)| s.chars().count().min(44))
        .max()
        .unwrap_or(0);
    let label_w = (longest as f64 * 6.5 + 12.0).max(60.0);
    let cell_w = 110.0;
    let cell_h = 22.0;
    let top = 24.0;
    let width = label_w + cell_w * columns.len() as f64 + 4.0;
    let height = top + cell_h * rows.len() as f64 + 4.0;
    let mut out = open(width as u32, height as u32, label);
    for (c, name) in columns.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"16\" font-size=\"11\" font-weight=\"600\" text-anchor=\"middle\">{}</text>",
            label_w + cell_w * (c as f64 + 0.5),
            esc(&clip(name, 16))
        );
    }
    // Light tints, so the value written on a cell stays readable on it.
    const TINTS: [&str; 6] = [
        "#cfe3f3", "#f9e2b3", "#c4ead9", "#f0d4e6", "#d9ecf9", "#f6cdb7",
    ];
    for (r, (setting, values)) in rows.iter().enumerate() {
        let y = top + cell_h * r as f64;
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\"><title>{}</title>{}</text>",
            label_w - 6.0,
            y + 15.0,
            esc(setting),
            esc(&clip(setting, 44))
        );
        let mut distinct: Vec<&str> = Vec::new();
        for (c, v) in values.iter().enumerate() {
            let x = label_w + cell_w * c as f64;
            let (fill, text) = match v {
                Some(v) => {
                    let k = match distinct.iter().position(|d| d == v) {
                        Some(k) => k,
                        None => {
                            distinct.push(v);
                            distinct.len() - 1
                        }
                    };
                    (TINTS[k % TINTS.len()], v.as_str())
                }
                None => ("#ffffff", "–"),
            };
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"#ffffff\"><title>{}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
                cell_w,
                cell_h,
                esc(text),
                x + cell_w / 2.0,
                y + 15.0,
                esc(&clip(text, 16))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// At most `n` characters, with `…` when cut (the full text is in the SVG `<title>`).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers_at_or_above_the_largest_value() {
        assert_eq!(nice_axis(0.0), (1.0, 0.25));
        assert_eq!(nice_axis(3.2), (4.0, 1.0));
        assert_eq!(nice_axis(9.0), (10.0, 2.5));
        assert_eq!(nice_axis(1234.0), (2000.0, 500.0));
        assert_eq!(nice_axis(f64::NAN), (1.0, 0.25));
    }

    #[test]
    fn bars_are_as_tall_as_their_values_and_labels_are_escaped() {
        let svg = grouped_bars(
            "a<b",
            "ms",
            &["p50".into()],
            &[
                ("cur<rent>".into(), vec![2.0]),
                ("proposed".into(), vec![4.0]),
            ],
        );
        assert!(svg.contains("aria-label=\"a&lt;b\""), "{svg}");
        assert!(svg.contains("cur&lt;rent&gt;"), "{svg}");
        assert!(!svg.contains("<rent>"), "{svg}");
        // Axis 0..4 over 196 px: the 4.0 bar is the whole plot, the 2.0 one half of it.
        assert!(svg.contains("height=\"196.0\""), "{svg}");
        assert!(svg.contains("height=\"98.0\""), "{svg}");
    }

    #[test]
    fn a_heatmap_tints_equal_values_alike() {
        let svg = heatmap(
            "h",
            &["gw1".into(), "gw2".into(), "gw3".into()],
            &[(
                "maxActive".into(),
                vec![Some("50".into()), Some("100".into()), Some("50".into())],
            )],
        );
        let fills: Vec<&str> = svg
            .split("fill=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .filter(|f| f.starts_with("#c") || f.starts_with("#f9"))
            .collect();
        assert_eq!(fills, ["#cfe3f3", "#f9e2b3", "#cfe3f3"], "{svg}");
    }
}
