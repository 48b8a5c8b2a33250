//! Charts drawn by the host as SVG from a plugin's numbers.
//!
//! The plugin sends labels and values; everything drawn here is computed
//! by the host, and every label goes through maud's escaping. A table of
//! the same numbers sits under each chart for screen readers and for
//! copying.

use greenroom_runtime::view::{Chart, ChartKind};
use maud::{Markup, html};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;
/// Distinct series colours in the design system (`.series-0` …).
const PALETTE: usize = 6;
/// About how many steps the y axis is cut into; the round step chosen
/// makes it between 2 and 5. More would crowd the 240-pixel-high plot.
const TICKS: usize = 4;

/// The y range to draw: includes zero, and never empty.
fn y_range(chart: &Chart) -> (f64, f64) {
    let values = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite());
    let (min, max) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if (max - min).abs() < f64::EPSILON {
        (min, min + 1.0)
    } else {
        (min, max)
    }
}

/// The y axis: the data's range stretched to whole steps of 1, 2 or 5
/// times a power of ten, so that every grid line reads as a round number
/// (0, 20, 40… rather than 0, 41.50, 83…).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    min: f64,
    max: f64,
    step: f64,
}

impl Axis {
    fn of(chart: &Chart) -> Axis {
        let (lo, hi) = y_range(chart);
        let step = round_step((hi - lo) / TICKS as f64);
        let axis = Axis {
            min: (lo / step).floor() * step,
            max: (hi / step).ceil() * step,
            step,
        };
        let sane = [axis.min, axis.max, axis.step]
            .iter()
            .all(|v| v.is_finite())
            && axis.step > 0.0
            && axis.max > axis.min;
        match sane {
            true => axis,
            // Values near the limits of f64: the plain range, in TICKS.
            false => Axis {
                min: lo,
                max: hi,
                step: (hi - lo) / TICKS as f64,
            },
        }
    }

    /// The value at every grid line, from the bottom.
    fn ticks(self) -> impl Iterator<Item = f64> {
        let count = ((self.max - self.min) / self.step).round() as usize;
        (0..=count.min(4 * TICKS)).map(move |i| self.min + self.step * i as f64)
    }

    /// A tick's value with as many decimals as the step needs.
    fn label(self, value: f64) -> String {
        let decimals = (-self.step.log10().floor()).clamp(0.0, 6.0) as usize;
        match decimals {
            0 => format_number(value.round()),
            d => format!("{value:.d$}"),
        }
    }
}

/// The round step (1, 2 or 5 times a power of ten) nearest `raw`, as in
/// Heckbert's "nice numbers" (Graphics Gems, 1990).
fn round_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let round = match raw / power {
        m if m < 1.5 => 1.0,
        m if m < 3.0 => 2.0,
        m if m < 7.0 => 5.0,
        _ => 10.0,
    };
    round * power
}

fn format_number(value: f64) -> String {
    if value.fract().abs() < 1e-9 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.2}")
    }
}

/// Draws a chart, or an empty state when there is nothing to draw.
pub(crate) fn draw(chart: &Chart) -> Markup {
    let points = chart.x_labels.len();
    if points == 0 || chart.series.is_empty() {
        return html! { div.empty-state { p.empty-title { "No data to chart" } } };
    }
    let axis = Axis::of(chart);
    let (min, max) = (axis.min, axis.max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let y = |v: f64| TOP + plot_h - (v - min) / (max - min) * plot_h;
    let slot = plot_w / points as f64;
    let x_center = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let unit = chart.unit.as_deref().unwrap_or("");
    let label = chart.title.clone().unwrap_or_else(|| "Chart".to_owned());
    // Show at most ~10 x labels so they do not overlap.
    let label_every = points.div_ceil(10).max(1);
    html! {
        figure.chart {
            @if let Some(title) = &chart.title { figcaption.chart-title { (title) } }
            svg.chart-svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(label) preserveAspectRatio="none" {
                @for value in axis.ticks() {
                    line.chart-grid x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y(value)) y2=(y(value)) {}
                    text.chart-axis x=(LEFT - 6.0) y=(y(value) + 4.0) text-anchor="end" { (axis.label(value)) (unit) }
                }
                @for (i, x_label) in chart.x_labels.iter().enumerate() {
                    @if i % label_every == 0 {
                        text.chart-axis x=(x_center(i)) y=(HEIGHT - BOTTOM + 18.0) text-anchor="middle" { (x_label) }
                    }
                }
                @match chart.kind {
                    ChartKind::Line => {
                        @for (s, series) in chart.series.iter().enumerate() {
                            @for segment in line_segments(&series.values, points) {
                                polyline class={ "chart-line series-" (s % PALETTE) } fill="none"
                                    points=(segment.iter().map(|&i| format!("{:.1},{:.1}", x_center(i), y(series.values[i]))).collect::<Vec<_>>().join(" ")) {}
                            }
                            @for (i, value) in series.values.iter().take(points).enumerate() {
                                @if value.is_finite() {
                                    circle class={ "chart-dot series-" (s % PALETTE) } cx=(x_center(i)) cy=(y(*value)) r="3" {
                                        title { (series.name) ", " (chart.x_labels[i]) ": " (format_number(*value)) (unit) }
                                    }
                                }
                            }
                        }
                    }
                    ChartKind::Bar => {
                        @let group = slot * 0.8;
                        @let bar = group / chart.series.len() as f64;
                        @for (s, series) in chart.series.iter().enumerate() {
                            @for (i, value) in series.values.iter().take(points).enumerate() {
                                @if value.is_finite() {
                                    @let top = y(value.max(0.0));
                                    @let bottom = y(value.min(0.0));
                                    rect class={ "chart-bar series-" (s % PALETTE) }
                                        x=(LEFT + slot * i as f64 + slot * 0.1 + bar * s as f64) y=(top)
                                        width=(bar.max(1.0)) height=((bottom - top).max(0.5)) {
                                        title { (series.name) ", " (chart.x_labels[i]) ": " (format_number(*value)) (unit) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if chart.series.len() > 1 {
                ul.chart-legend {
                    @for (s, series) in chart.series.iter().enumerate() {
                        li { span class={ "chart-swatch series-" (s % PALETTE) } {} (series.name) }
                    }
                }
            }
            details.chart-data {
                summary { "Data" }
                table.table {
                    thead { tr { th { "" } @for series in &chart.series { th.align-end { (series.name) } } } }
                    tbody {
                        @for (i, x_label) in chart.x_labels.iter().enumerate() {
                            tr {
                                th { (x_label) }
                                @for series in &chart.series {
                                    td.align-end {
                                        @match series.values.get(i).filter(|v| v.is_finite()) {
                                            Some(value) => { (format_number(*value)) (unit) }
                                            None => { "—" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Runs of consecutive finite values: a line breaks at gaps.
fn line_segments(values: &[f64], points: usize) -> Vec<Vec<usize>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for (i, value) in values.iter().take(points).enumerate() {
        if value.is_finite() {
            current.push(i);
        } else if !current.is_empty() {
            segments.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenroom_runtime::view::Series;

    fn chart(kind: ChartKind, values: Vec<f64>) -> Chart {
        Chart {
            kind,
            title: Some("Deploys".into()),
            x_labels: (0..values.len()).map(|i| format!("d{i}")).collect(),
            series: vec![Series {
                name: "deploys".into(),
                values,
            }],
            unit: None,
        }
    }

    #[test]
    fn draws_one_bar_per_finite_value() {
        let html = draw(&chart(ChartKind::Bar, vec![1.0, 3.0, f64::NAN])).into_string();
        assert_eq!(html.matches("<rect").count(), 2, "{html}");
        assert!(html.contains("deploys, d1: 3"), "{html}");
    }

    #[test]
    fn breaks_lines_at_gaps() {
        assert_eq!(
            line_segments(&[1.0, f64::NAN, 2.0, 3.0], 4),
            vec![vec![0], vec![2, 3]]
        );
        let html = draw(&chart(ChartKind::Line, vec![1.0, f64::INFINITY, 2.0, 3.0])).into_string();
        assert_eq!(html.matches("<polyline").count(), 2, "{html}");
    }

    #[test]
    fn draws_an_empty_state_without_data() {
        assert!(
            draw(&chart(ChartKind::Line, vec![]))
                .into_string()
                .contains("No data")
        );
    }

    fn ticks(values: Vec<f64>) -> Vec<String> {
        let axis = Axis::of(&chart(ChartKind::Bar, values));
        axis.ticks().map(|v| axis.label(v)).collect()
    }

    #[test]
    fn the_y_axis_is_cut_at_round_numbers() {
        assert_eq!(ticks(vec![166.0, 83.0]), ["0", "50", "100", "150", "200"]);
        assert_eq!(ticks(vec![83.0]), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(
            ticks(vec![0.0, 0.0]),
            ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(ticks(vec![-2.0, 4.0]), ["-2", "0", "2", "4"]);
        assert_eq!(ticks(vec![0.3]), ["0.0", "0.1", "0.2", "0.3"]);
        let html = draw(&chart(ChartKind::Line, vec![83.0, 12.0])).into_string();
        assert!(
            html.contains(">60</text>") && !html.contains("41.5"),
            "{html}"
        );
    }

    #[test]
    fn the_y_axis_survives_extreme_values() {
        for values in [vec![f64::MAX], vec![f64::MIN, f64::MAX], vec![1e-300]] {
            let axis = Axis::of(&chart(ChartKind::Bar, values.clone()));
            assert!(
                axis.ticks().count() <= 4 * TICKS + 1,
                "{values:?}: {axis:?}"
            );
            draw(&chart(ChartKind::Bar, values));
        }
    }

    #[test]
    fn handles_flat_and_negative_series() {
        assert_eq!(y_range(&chart(ChartKind::Bar, vec![5.0, 5.0])), (0.0, 5.0));
        assert_eq!(y_range(&chart(ChartKind::Bar, vec![0.0, 0.0])), (0.0, 1.0));
        assert_eq!(
            y_range(&chart(ChartKind::Bar, vec![-2.0, 4.0])),
            (-2.0, 4.0)
        );
    }
}
