//! `GET /`: the summary as one self-contained HTML page. Charts are inline SVG drawn here;
//! there is no script, and the page's Content-Security-Policy forbids loading anything,
//! so a browser opening it makes no request beyond the page itself.

use std::fmt::Write;

use super::summary::{Adoption, Sum, Summary};
use crate::report::spelling as label_of;

/// Sent with the page: nothing may load from anywhere, inline styles excepted.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The windows offered as links at the top of the page.
const WINDOWS: [u32; 4] = [7, 30, 90, 365];

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:14px 28px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:20px;margin:0}header a{color:#9cc3ff;margin-right:10px}header .now{color:#c4c9d4;font-size:13px}
main{padding:20px 28px;display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:18px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:14px 18px}
section.wide{grid-column:1/-1}h2{font-size:15px;margin:0 0 10px;color:#47506a}
.tiles{display:flex;gap:14px;flex-wrap:wrap}.tile{flex:1;min-width:130px;background:#f0f4fb;border-radius:6px;padding:10px 12px}
.tile b{display:block;font-size:24px}.tile span{color:#5b6478;font-size:13px}
table{border-collapse:collapse;width:100%}td{padding:3px 6px;vertical-align:middle}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.bar{width:45%}svg{display:block}.empty{color:#7a8295}
";

pub fn render(summary: &Summary) -> String {
    let mut page = String::with_capacity(16 * 1024);
    let window = &summary.window;
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>Axon and Kelos telemetry</title><style>{STYLE}</style></head><body>\
         <header><h1>Axon and Kelos telemetry</h1><div>Last {} days ({} to {}):",
        window.days, window.from, window.to
    );
    for days in WINDOWS {
        let _ = write!(page, " <a href=\"?days={days}\">{days} days</a>");
    }
    let _ = write!(
        page,
        "</div><div class=\"now\">generated {}</div></header><main>",
        summary.generated_at
    );

    let active = &summary.active;
    let tasks: Sum = summary.phases.values().sum();
    section(&mut page, "Installations", true, |p| {
        p.push_str("<div class=\"tiles\">");
        for (label, value) in [
            ("active today", active.last1_day.to_string()),
            ("active in 7 days", active.last7_days.to_string()),
            ("active in 30 days", active.last30_days.to_string()),
            ("reporting in window", summary.installations.to_string()),
            ("tasks", tasks.to_string()),
            ("cost (USD)", dollars(summary.usage.total_cost_micros)),
        ] {
            let _ = write!(
                p,
                "<div class=\"tile\"><b>{value}</b><span>{label}</span></div>"
            );
        }
        p.push_str("</div>");
    });

    section(&mut page, "Daily active installations", true, |p| {
        daily_chart(p, summary)
    });

    section(
        &mut page,
        "Agent types: installations using each (tasks)",
        false,
        |p| {
            let rows = summary.agent_types.iter().map(|(agent, used)| {
                (
                    label_of(agent),
                    used.installations,
                    format!("{} ({} tasks)", used.installations, used.tasks),
                )
            });
            bar_table(p, rows, summary.installations)
        },
    );
    section(&mut page, "Tasks by phase", false, |p| {
        let max = summary.phases.values().copied().max().unwrap_or(0);
        let rows = summary
            .phases
            .iter()
            .map(|(phase, n)| (label_of(phase), *n, n.to_string()));
        bar_table(p, rows, max)
    });
    section(
        &mut page,
        "Feature adoption (% of installations)",
        false,
        |p| {
            let features = &summary.features;
            let mut rows: Vec<(String, &Adoption)> = vec![
                ("TaskSpawners".to_owned(), &features.task_spawners),
                ("AgentConfigs".to_owned(), &features.agent_configs),
                ("Workspaces".to_owned(), &features.workspaces),
            ];
            for (source, adoption) in &features.source_types {
                rows.push((format!("source: {}", label_of(source)), adoption));
            }
            adoption_table(p, rows, summary.installations)
        },
    );
    let v2 = summary.schema_versions.get(&2).copied().unwrap_or(0);
    section(
        &mut page,
        "Kelos features (% of installations sending schema v2)",
        false,
        |p| {
            let features = &summary.features;
            let rows = vec![
                ("Sessions".to_owned(), &features.sessions),
                ("WorkerPools".to_owned(), &features.worker_pools),
                ("SessionSpawners".to_owned(), &features.session_spawners),
                ("TaskBudgets".to_owned(), &features.task_budgets),
                ("TaskRecords".to_owned(), &features.task_records),
            ];
            adoption_table(p, rows, v2)
        },
    );
    section(&mut page, "API versions read (installations)", false, |p| {
        let mut rows: Vec<(String, u64, String)> = summary
            .apis
            .iter()
            .map(|(api, n)| (api.clone(), *n, n.to_string()))
            .collect();
        let v1 = summary.schema_versions.get(&1).copied().unwrap_or(0);
        rows.push((
            "schema v1 reporter (axon.io only)".to_owned(),
            v1,
            v1.to_string(),
        ));
        bar_table(p, rows.into_iter(), summary.installations)
    });
    section(&mut page, "TaskSpawners by source", false, |p| {
        let max = summary.spawner_sources.values().copied().max().unwrap_or(0);
        let rows = summary
            .spawner_sources
            .iter()
            .map(|(source, n)| (label_of(source), *n, n.to_string()));
        bar_table(p, rows, max)
    });
    section(&mut page, "Sessions", false, |p| {
        let sessions = &summary.sessions;
        let max = sessions.total;
        let rows = sessions
            .by_type
            .iter()
            .map(|(agent, n)| (format!("type: {}", label_of(agent)), *n, n.to_string()))
            .chain(
                sessions
                    .by_phase
                    .iter()
                    .map(|(phase, n)| (format!("phase: {}", label_of(phase)), *n, n.to_string())),
            );
        bar_table(p, rows, max)
    });
    section(&mut page, "WorkerPools", false, |p| {
        let pools = &summary.worker_pools;
        let rows = pools
            .by_phase
            .iter()
            .map(|(phase, n)| (label_of(phase), *n, n.to_string()));
        bar_table(p, rows, pools.total);
        let _ = write!(
            p,
            "<table><tr><td>replicas desired</td><td class=\"n\">{}</td></tr>\
             <tr><td>replicas current</td><td class=\"n\">{}</td></tr>\
             <tr><td>replicas ready</td><td class=\"n\">{}</td></tr></table>",
            pools.desired_replicas, pools.current_replicas, pools.ready_replicas
        );
    });
    section(&mut page, "Namespaces per installation", false, |p| {
        let rows = summary.namespaces.iter().map(|b| {
            (
                b.namespaces.to_owned(),
                b.installations,
                b.installations.to_string(),
            )
        });
        bar_table(p, rows, summary.installations)
    });
    for (title, shares) in [
        ("Axon / Kelos versions", &summary.versions.axon),
        ("Kubernetes versions", &summary.versions.kubernetes),
    ] {
        section(&mut page, title, false, |p| {
            let rows = shares.iter().map(|s| {
                (
                    s.version.clone(),
                    s.installations,
                    s.installations.to_string(),
                )
            });
            bar_table(p, rows, summary.installations)
        });
    }
    section(
        &mut page,
        "Usage (latest report of each installation)",
        false,
        |p| {
            let usage = &summary.usage;
            let _ = write!(
                p,
                "<table><tr><td>cost</td><td class=\"n\">{} USD</td></tr>\
             <tr><td>input tokens</td><td class=\"n\">{}</td></tr>\
             <tr><td>output tokens</td><td class=\"n\">{}</td></tr></table>",
                dollars(usage.total_cost_micros),
                usage.total_input_tokens,
                usage.total_output_tokens
            );
        },
    );
    page.push_str("</main></body></html>\n");
    page
}

/// Micro-dollars as dollars and cents, rounded half up.
fn dollars(micros: Sum) -> String {
    let cents = (micros + 5_000) / 10_000;
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// Rows of adoption: a bar of installations out of `of`, the share and the count.
fn adoption_table(page: &mut String, rows: Vec<(String, &Adoption)>, of: u64) {
    let rows = rows.into_iter().map(|(label, a)| {
        (
            label,
            a.installations,
            format!("{}% ({})", a.percent, a.installations),
        )
    });
    bar_table(page, rows, of)
}

fn section(page: &mut String, title: &str, wide: bool, body: impl FnOnce(&mut String)) {
    let class = if wide { " class=\"wide\"" } else { "" };
    let _ = write!(page, "<section{class}><h2>{}</h2>", escape(title));
    body(page);
    page.push_str("</section>");
}

/// Rows of label, bar and figure; bars are scaled to `max`. Values are installations (`u64`)
/// or totals ([`Sum`]).
fn bar_table<N: Into<Sum>>(
    page: &mut String,
    rows: impl Iterator<Item = (String, N, String)>,
    max: impl Into<Sum>,
) {
    let max: Sum = max.into();
    let rows: Vec<_> = rows.collect();
    if rows.is_empty() {
        page.push_str("<p class=\"empty\">no reports in this window</p>");
        return;
    }
    page.push_str("<table>");
    for (label, value, figure) in rows {
        let value: Sum = value.into();
        let width = if max == 0 {
            0.0
        } else {
            100.0 * value as f64 / max as f64
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td class=\"bar\"><svg viewBox=\"0 0 100 10\" width=\"100%\" height=\"12\" preserveAspectRatio=\"none\" role=\"img\">\
             <rect width=\"100\" height=\"10\" fill=\"#eef1f6\"/><rect width=\"{width:.2}\" height=\"10\" fill=\"#3d7be0\"/></svg></td>\
             <td class=\"n\">{}</td></tr>",
            escape(&label),
            escape(&figure)
        );
    }
    page.push_str("</table>");
}

/// One column per day, labelled at the ends and at the peak.
fn daily_chart(page: &mut String, summary: &Summary) {
    const WIDTH: f64 = 1000.0;
    const HEIGHT: f64 = 160.0;
    let days = &summary.daily_active;
    let peak = days.iter().map(|d| d.installations).max().unwrap_or(0);
    let scale = if peak == 0 {
        0.0
    } else {
        (HEIGHT - 20.0) / peak as f64
    };
    let step = WIDTH / days.len().max(1) as f64;
    let _ = write!(
        page,
        "<svg viewBox=\"0 0 {WIDTH} {}\" width=\"100%\" role=\"img\" aria-label=\"daily active installations\">",
        HEIGHT + 20.0
    );
    for (i, day) in days.iter().enumerate() {
        let h = day.installations as f64 * scale;
        let _ = write!(
            page,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#3d7be0\"><title>{}: {}</title></rect>",
            i as f64 * step + step * 0.1,
            HEIGHT - h,
            step * 0.8,
            day.day,
            day.installations
        );
    }
    let _ = write!(
        page,
        "<line x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\" stroke=\"#9aa3b5\"/>\
         <text x=\"0\" y=\"{}\" font-size=\"13\" fill=\"#5b6478\">{}</text>\
         <text x=\"{WIDTH}\" y=\"{}\" font-size=\"13\" fill=\"#5b6478\" text-anchor=\"end\">{}</text>\
         <text x=\"4\" y=\"14\" font-size=\"13\" fill=\"#5b6478\">peak {peak}</text></svg>",
        HEIGHT + 16.0,
        summary.window.from,
        HEIGHT + 16.0,
        summary.window.to
    );
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
