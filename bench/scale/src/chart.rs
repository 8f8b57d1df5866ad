//! SVG charts from the JSON results (plotters): throughput by thread count,
//! p99 latency by thread count, per-request time against added latency with
//! the physical floor drawn in, and memory per idle connection.

use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

type Res = Result<(), Box<dyn std::error::Error>>;

const MACHINE: &str = "2 vCPUs, client and server pinned to one CPU";

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(0.0)
}
fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn distinct<'a>(rows: &'a [Value], k: &str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rows {
        let v = s(r, k);
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// One panel per workload: `metric` against thread count, a line per client.
fn by_threads(
    rows: &[Value],
    metric: &str,
    y_desc: &str,
    log_y: bool,
    title: &str,
    out: &Path,
) -> Res {
    let root = SVGBackend::new(out, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&format!("{title} ({MACHINE})"), ("sans-serif", 22))?;
    let workloads = distinct(rows, "workload");
    let panels = root.split_evenly((2, workloads.len().div_ceil(2).max(1)));
    for (w, area) in workloads.iter().zip(panels.iter()) {
        let mine: Vec<&Value> = rows.iter().filter(|r| s(r, "workload") == *w).collect();
        let ymax = mine.iter().map(|r| f(r, metric)).fold(0.0, f64::max) * 1.15;
        let ymin = mine
            .iter()
            .map(|r| f(r, metric))
            .fold(f64::MAX, f64::min)
            .max(0.1)
            * 0.8;
        let xs = |t: f64| t.log2();
        let mut b = ChartBuilder::on(area);
        b.caption(*w, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70);
        let clients: Vec<&str> = {
            let mut c: Vec<&str> = Vec::new();
            for r in &mine {
                if !c.contains(&s(r, "client")) {
                    c.push(s(r, "client"));
                }
            }
            c
        };
        macro_rules! draw {
            ($chart:ident) => {
                $chart
                    .configure_mesh()
                    .x_desc("threads sharing one client")
                    .y_desc(y_desc)
                    .x_label_formatter(&|x| format!("{}", 2f64.powf(*x).round()))
                    .draw()?;
                for (i, c) in clients.iter().enumerate() {
                    let color = Palette99::pick(i).to_rgba();
                    let pts: Vec<(f64, f64)> = mine
                        .iter()
                        .filter(|r| s(r, "client") == *c)
                        .map(|r| (xs(f(r, "threads")), f(r, metric)))
                        .collect();
                    $chart
                        .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                        .label(*c)
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                        });
                    $chart
                        .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
                }
                $chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.85))
                    .border_style(BLACK)
                    .position(SeriesLabelPosition::UpperLeft)
                    .draw()?;
            };
        }
        if log_y {
            let mut chart = b.build_cartesian_2d(-0.3f64..6.3, (ymin..ymax).log_scale())?;
            draw!(chart);
        } else {
            let mut chart = b.build_cartesian_2d(-0.3f64..6.3, 0f64..ymax)?;
            draw!(chart);
        }
    }
    root.present()?;
    Ok(())
}

/// One panel per mode: median per-request time against the added round
/// trip, a line per client, the physical floor dashed.
fn latency(rows: &[Value], out: &Path) -> Res {
    let root = SVGBackend::new(out, (1400, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        &format!("Per-request time with added network latency, against the floor ({MACHINE}; relay on loopback)"),
        ("sans-serif", 20),
    )?;
    let modes = distinct(rows, "mode");
    let panels = root.split_evenly((2, modes.len().div_ceil(2).max(1)));
    for (m, area) in modes.iter().zip(panels.iter()) {
        let mine: Vec<&Value> = rows.iter().filter(|r| s(r, "mode") == *m).collect();
        let rtt = |r: &Value| 2.0 * f(r, "delay_ms_each_way");
        let xmax = mine.iter().map(|r| rtt(r)).fold(0.0, f64::max) * 1.05;
        let ymax = mine.iter().map(|r| f(r, "median_ms")).fold(0.0, f64::max) * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(*m, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
        chart
            .configure_mesh()
            .x_desc("added round trip (ms)")
            .y_desc("median ms per request")
            .draw()?;
        let mut floor: Vec<(f64, f64)> = mine.iter().map(|r| (rtt(r), f(r, "floor_ms"))).collect();
        floor.sort_by(|a, b| a.partial_cmp(b).unwrap());
        floor.dedup();
        chart
            .draw_series(DashedLineSeries::new(floor, 6, 4, BLACK.stroke_width(2)))?
            .label("physical floor")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        let clients = {
            let mut c: Vec<&str> = Vec::new();
            for r in &mine {
                if !c.contains(&s(r, "client")) {
                    c.push(s(r, "client"));
                }
            }
            c
        };
        for (i, c) in clients.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let mut pts: Vec<(f64, f64)> = mine
                .iter()
                .filter(|r| s(r, "client") == *c)
                .map(|r| (rtt(r), f(r, "median_ms")))
                .collect();
            pts.sort_by(|a, b| a.partial_cmp(b).unwrap());
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
                .label(*c)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// Bars: KiB of resident memory per idle pooled connection.
fn memory(rows: &[Value], out: &Path) -> Res {
    let root = SVGBackend::new(out, (1000, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let labels: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                s(r, "client"),
                if r["tls"].as_bool() == Some(true) {
                    "TLS"
                } else {
                    "plain"
                }
            )
        })
        .collect();
    let ymax = rows
        .iter()
        .map(|r| f(r, "kib_per_connection"))
        .fold(0.0, f64::max)
        * 1.2
        + 1.0;
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Resident memory per idle pooled connection, 1,000 held by one client ({MACHINE})"
            ),
            ("sans-serif", 18),
        )
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n, 0f64..ymax)?;
    let l2 = labels.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rows.len() * 2)
        .x_label_formatter(&move |x| {
            let i = (*x - 0.5).round();
            if (*x - 0.5 - i).abs() < 0.01 && i >= 0.0 && (i as usize) < l2.len() {
                l2[i as usize].clone()
            } else {
                String::new()
            }
        })
        .y_desc("KiB per connection")
        .draw()?;
    chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
        let color = Palette99::pick(i % 3).to_rgba();
        Rectangle::new(
            [
                (i as f64 + 0.15, 0.0),
                (i as f64 + 0.85, f(r, "kib_per_connection")),
            ],
            color.filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}

/// Draws every chart whose JSON exists in `dir`.
pub fn draw_all(dir: &Path) -> Res {
    let load = |name: &str| -> Option<Vec<Value>> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        serde_json::from_str::<Vec<Value>>(&text).ok()
    };
    if let Some(rows) = load("threads.json") {
        by_threads(
            &rows,
            "per_sec",
            "operations per second",
            false,
            "Throughput by thread count",
            &dir.join("threads-throughput.svg"),
        )?;
        by_threads(
            &rows,
            "p99_us",
            "p99 latency per operation (µs, log)",
            true,
            "p99 latency by thread count",
            &dir.join("threads-p99.svg"),
        )?;
    }
    if let Some(rows) = load("latency.json") {
        latency(&rows, &dir.join("added-latency.svg"))?;
    }
    if let Some(rows) = load("memory.json") {
        memory(&rows, &dir.join("memory.svg"))?;
    }
    Ok(())
}
