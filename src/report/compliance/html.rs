//! One self-contained HTML page: no scripts, no external assets, print-friendly
//! (officers print it to PDF). Every value from the store goes through [`esc`].

use super::{human_bytes, places, Context};
use crate::audit::record::FindingRow;
use crate::audit::view::AuditReport;
use crate::report::world;
use std::fmt::Write as _;
use std::io::{self, Write};

/// HTML-escapes text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

const STYLE: &str = "
:root{--eea:#2b6cb0;--adequate:#2f855a;--conditional:#d69e2e;--third_country:#c53030;--unknown:#718096;--none:#e2e8f0}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a202c;margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #e2e8f0;padding-bottom:4px}
.muted{color:#4a5568}.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;color:#fff}
.ok{background:var(--adequate)}.bad{background:var(--third_country)}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}.card{border:1px solid #e2e8f0;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}th,td{border:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f7fafc}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev-error{color:var(--third_country);font-weight:600}.sev-warning{color:#b7791f;font-weight:600}.sev-info{color:var(--eea)}
tr.soon td{background:#fefcbf}tr.expired td{background:#fed7d7}
svg{max-width:100%;height:auto}.map path{fill:var(--none);stroke:#fff;stroke-width:.3}
.map path.shade-eea{fill:var(--eea)}.map path.shade-adequate{fill:var(--adequate)}
.map path.shade-conditional{fill:var(--conditional)}.map path.shade-third_country{fill:var(--third_country)}
.map path.shade-unknown{fill:var(--unknown)}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
code{font-size:12px;word-break:break-all}
@media print{body{padding:0;max-width:none}h2{break-after:avoid}table,svg,.cards{break-inside:avoid}a{color:inherit}}
";

/// Renders the report.
pub fn render(report: &AuditReport, ctx: &Context, out: &mut dyn Write) -> io::Result<()> {
    let mut h = String::with_capacity(512 * 1024);
    let org = report
        .scan
        .as_ref()
        .and_then(|s| s.run.organisation.clone())
        .unwrap_or_else(|| "Data residency".to_string());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — residency compliance report</title><style>{STYLE}</style></head><body>",
        esc(&org)
    );
    summary(&mut h, report, ctx, &org);
    map(&mut h, report, ctx);
    assets(&mut h, report);
    charts(&mut h, report);
    findings(&mut h, report);
    transfers(&mut h, report);
    waivers(&mut h, report, ctx);
    egress(&mut h, report, ctx);
    evidence(&mut h, report);
    h.push_str("</body></html>\n");
    out.write_all(h.as_bytes())
}

fn summary(h: &mut String, r: &AuditReport, ctx: &Context, org: &str) {
    let (errors, warnings, infos, waived) = r.counts();
    let verdict = if r.compliant() {
        "<span class=\"verdict ok\" id=\"verdict\" data-compliant=\"true\">Compliant</span>"
    } else {
        "<span class=\"verdict bad\" id=\"verdict\" data-compliant=\"false\">Not compliant</span>"
    };
    let _ = write!(
        h,
        "<header><h1>{}</h1><div class=\"muted\">Personal-data residency and transfers (GDPR Chapter V) · generated {} · window {} – {}</div></header>\
         <section id=\"summary\"><h2>Executive summary</h2><p>{verdict}</p><div class=\"cards\">\
         <div class=\"card\"><b id=\"count-error\">{errors}</b>errors</div>\
         <div class=\"card\"><b id=\"count-warning\">{warnings}</b>warnings</div>\
         <div class=\"card\"><b id=\"count-info\">{infos}</b>info</div>\
         <div class=\"card\"><b id=\"count-waived\">{waived}</b>waived</div>\
         <div class=\"card\"><b id=\"count-transfers\">{}</b>transfers in the register</div></div>",
        esc(org),
        esc(&ctx.generated_at),
        esc(r.window.from.as_deref().unwrap_or("start")),
        esc(r.window.to.as_deref().unwrap_or("now")),
        r.transfers.len(),
    );
    match (&r.scan, &r.previous_scan) {
        (Some(s), Some(p)) => {
            let _ = write!(
                h,
                "<p id=\"changes\">Since the audit of {}: <b>{}</b> new and <b>{}</b> resolved findings.</p>",
                esc(&p.at),
                r.new_findings.len(),
                r.resolved_findings.len()
            );
            let _ = s;
            change_list(h, "New findings", "new-findings", &r.new_findings);
            change_list(
                h,
                "Resolved findings",
                "resolved-findings",
                &r.resolved_findings,
            );
        }
        (Some(_), None) => h.push_str(
            "<p id=\"changes\">First recorded audit in this window: nothing to compare with.</p>",
        ),
        (None, _) => h.push_str("<p id=\"changes\">No scan recorded in this window.</p>"),
    }
    if let Some(s) = &r.scan {
        let _ = write!(
            h,
            "<p class=\"muted\">Latest scan {} (row {}): {} assets, policy <code>{}</code>, as of {}.</p>",
            esc(&s.at),
            s.seq,
            s.run.assets,
            esc(&s.run.policy),
            esc(&s.run.as_of)
        );
    }
    if let Some(f) = &r.flows {
        let _ = write!(
            h,
            "<p class=\"muted\">Latest flow audit {} (row {}): {} flow records.</p>",
            esc(&f.at),
            f.seq,
            f.run.records
        );
    }
    h.push_str("</section>");
}

fn change_list(h: &mut String, title: &str, id: &str, rows: &[FindingRow]) {
    if rows.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<details open id=\"{id}\"><summary>{title}</summary><ul>"
    );
    for f in rows {
        let _ = write!(
            h,
            "<li><span class=\"sev-{}\">{}</span> {} <code>{}</code>: {}</li>",
            esc(&f.severity),
            esc(&f.rule),
            esc(&f.name),
            esc(&f.subject),
            esc(&f.message)
        );
    }
    h.push_str("</ul></details>");
}

fn map(h: &mut String, r: &AuditReport, ctx: &Context) {
    let places = places(r);
    let (w, ht) = world::VIEWBOX;
    let _ = write!(
        h,
        "<section id=\"map-section\"><h2>Where data lives and where it goes</h2>\
         <svg class=\"map\" id=\"map\" viewBox=\"0 0 {w} {ht}\" role=\"img\" aria-label=\"World map of data locations and flow destinations\">"
    );
    for s in world::shapes() {
        let role = places.get(s.code);
        let class = role
            .and_then(|_| ctx.classes.get(s.code))
            .map(|c| format!(" class=\"shade-{}\"", esc(c)))
            .unwrap_or_default();
        let roles = match role {
            Some((true, true)) => " data-holds=\"true\" data-flows=\"true\"",
            Some((true, false)) => " data-holds=\"true\"",
            Some((false, true)) => " data-flows=\"true\"",
            _ => "",
        };
        let _ = write!(
            h,
            "<path data-country=\"{}\"{class}{roles} d=\"{}\"><title>{}</title></path>",
            esc(s.code),
            s.path,
            esc(s.name)
        );
    }
    h.push_str("</svg><div class=\"legend\">");
    for (c, label) in [
        ("eea", "EEA"),
        ("adequate", "adequate"),
        ("conditional", "conditional adequacy"),
        ("third_country", "third country"),
        ("none", "no data, no flows"),
    ] {
        let _ = write!(
            h,
            "<span><i style=\"background:var(--{c})\"></i>{label}</span>"
        );
    }
    h.push_str("</div><table id=\"places\"><thead><tr><th>country</th><th>class</th><th>holds data</th><th>receives flows</th></tr></thead><tbody>");
    for (c, (holds, flows)) in &places {
        let class = ctx.classes.get(c).map(String::as_str).unwrap_or("unknown");
        let _ = write!(
            h,
            "<tr data-country=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c),
            esc(c),
            esc(class),
            if *holds { "yes" } else { "" },
            if *flows { "yes" } else { "" }
        );
    }
    h.push_str("</tbody></table></section>");
}

fn assets(h: &mut String, r: &AuditReport) {
    let held: Vec<_> = r.assets.iter().filter(|a| a.personal_data).collect();
    if held.is_empty() {
        return;
    }
    h.push_str("<section id=\"assets\"><h2>Data stores, replicas, backups and processors holding personal data</h2>\
                <table><thead><tr><th>asset</th><th>role</th><th>location</th><th>class</th><th>legal basis</th><th>status</th></tr></thead><tbody>");
    for a in held {
        let _ = write!(
            h,
            "<tr class=\"asset\" data-asset=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.id),
            esc(&a.id),
            esc(&a.role),
            esc(&a.location),
            esc(&a.class),
            esc(&a.basis),
            if a.compliant { "ok" } else { "<b class=\"sev-error\">finding</b>" }
        );
    }
    h.push_str("</tbody></table></section>");
}

fn charts(h: &mut String, r: &AuditReport) {
    h.push_str("<section id=\"charts\"><h2>Over time</h2>");
    // Findings per run: stacked bars (errors, warnings, info).
    let points = &r.trend;
    let max = points
        .iter()
        .map(|p| p.errors + p.warnings + p.info)
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, ht, pad) = (900.0_f64, 200.0_f64, 30.0_f64);
    let n = points.len().max(1) as f64;
    let bw = ((w - 2.0 * pad) / n).min(60.0);
    let _ = write!(
        h,
        "<svg id=\"chart-findings\" viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"Unwaived findings per recorded run\">\
         <text x=\"{pad}\" y=\"14\" font-size=\"12\">Unwaived findings per recorded run (max {max})</text>",
        ht + 40.0
    );
    for (i, p) in points.iter().enumerate() {
        let x = pad + i as f64 * bw;
        let mut y = ht;
        for (v, color) in [
            (p.errors, "var(--third_country)"),
            (p.warnings, "var(--conditional)"),
            (p.info, "var(--eea)"),
        ] {
            let bh = v as f64 / max as f64 * (ht - 30.0);
            y -= bh;
            let _ = write!(
                h,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{} {}: {v}</title></rect>",
                bw * 0.8,
                esc(&p.at),
                esc(&p.command)
            );
        }
        let _ = write!(
            h,
            "<text x=\"{x:.1}\" y=\"{}\" font-size=\"9\">{}</text>",
            ht + 14.0 + (i % 2) as f64 * 11.0,
            esc(p.at.get(..10).unwrap_or(&p.at))
        );
    }
    h.push_str("</svg>");
    // Egress bytes by country over the window: horizontal bars, top 15.
    let mut by: Vec<(&String, u64)> = r.egress.iter().map(|(c, e)| (c, e.bytes)).collect();
    by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    by.truncate(15);
    let top = by.first().map(|b| b.1).unwrap_or(0).max(1);
    let rows = by.len().max(1) as f64;
    let _ = write!(
        h,
        "<svg id=\"chart-egress\" viewBox=\"0 0 900 {}\" role=\"img\" aria-label=\"Egress bytes by destination country\">\
         <text x=\"0\" y=\"14\" font-size=\"12\">Egress bytes by destination country (window)</text>",
        rows * 20.0 + 30.0
    );
    if by.is_empty() {
        h.push_str("<text x=\"0\" y=\"40\" font-size=\"12\">No flow audit or egress decision recorded.</text>");
    }
    for (i, (c, b)) in by.iter().enumerate() {
        let y = 24.0 + i as f64 * 20.0;
        let bw = *b as f64 / top as f64 * 700.0;
        let _ = write!(
            h,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\">{}</text><rect class=\"egress-bar\" data-country=\"{}\" x=\"60\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"14\" fill=\"var(--eea)\"></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
            y + 11.0,
            esc(c),
            esc(c),
            66.0 + bw,
            y + 11.0,
            esc(&human_bytes(*b))
        );
    }
    h.push_str("</svg></section>");
}

fn findings(h: &mut String, r: &AuditReport) {
    h.push_str("<section id=\"findings\"><h2>Findings</h2>");
    if r.findings.is_empty() {
        h.push_str("<p>No findings.</p></section>");
        return;
    }
    h.push_str("<table><thead><tr><th>severity</th><th>rule</th><th>subject</th><th>finding</th><th>article</th><th>remediation</th><th>waiver</th></tr></thead><tbody>");
    for f in &r.findings {
        let _ = write!(
            h,
            "<tr class=\"finding\" data-rule=\"{}\"><td class=\"sev-{}\">{}</td><td>{} {}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.rule),
            esc(&f.severity),
            esc(&f.severity),
            esc(&f.rule),
            esc(&f.name),
            esc(&f.subject),
            esc(&f.message),
            esc(&f.article),
            esc(&f.remediation),
            esc(f.waiver.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</tbody></table></section>");
}

fn transfers(h: &mut String, r: &AuditReport) {
    h.push_str("<section id=\"transfer-register\"><h2>Transfer register (Art. 30(1)(e))</h2>");
    if r.transfers.is_empty() {
        h.push_str("<p>No transfers of personal data outside the EEA are recorded.</p></section>");
        return;
    }
    h.push_str("<table><thead><tr><th>subject</th><th>recipient</th><th>country</th><th>data categories</th><th>mechanism</th><th>TIA</th><th>expires</th><th>approval</th><th>status</th></tr></thead><tbody>");
    for t in &r.transfers {
        let _ = write!(
            h,
            "<tr class=\"transfer\" data-subject=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.subject),
            esc(&t.subject),
            esc(&t.recipient),
            esc(&t.countries.join(", ")),
            esc(&t.data_categories.join(", ")),
            esc(&t.mechanism),
            t.scc_module.map(|m| format!(" (module {m})")).unwrap_or_default(),
            esc(t.tia.as_deref().unwrap_or("")),
            esc(t.expires.as_deref().unwrap_or("")),
            esc(t.approval.as_deref().unwrap_or("")),
            if t.compliant { "allowed" } else { "<b class=\"sev-error\">no valid basis</b>" }
        );
    }
    h.push_str("</tbody></table></section>");
}

fn waivers(h: &mut String, r: &AuditReport, ctx: &Context) {
    h.push_str("<section id=\"waiver-register\"><h2>Waiver register</h2>");
    if r.waivers.is_empty() {
        h.push_str("<p>No waivers granted.</p></section>");
        return;
    }
    h.push_str("<table><thead><tr><th>waiver</th><th>rules</th><th>subjects</th><th>reason</th><th>approver</th><th>ticket</th><th>expires</th><th>findings waived</th></tr></thead><tbody>");
    for w in &r.waivers {
        let state = if w.expires.as_str() < ctx.today.as_str() {
            " class=\"waiver expired\""
        } else if w.expires.as_str() <= ctx.soon.as_str() {
            " class=\"waiver soon\""
        } else {
            " class=\"waiver\""
        };
        let _ = write!(
            h,
            "<tr{state}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
            esc(&w.id),
            esc(&w.rules.join(", ")),
            esc(&w.subjects.join(", ")),
            esc(&w.reason),
            esc(&w.approver),
            esc(&w.ticket),
            esc(&w.expires),
            w.used
        );
    }
    h.push_str("</tbody></table><p class=\"muted\">Yellow: expires within 30 days; red: expired.</p></section>");
}

fn egress(h: &mut String, r: &AuditReport, ctx: &Context) {
    if r.egress.is_empty() {
        return;
    }
    h.push_str("<section id=\"egress\"><h2>Egress by destination country</h2><table><thead><tr><th>country</th><th>class</th><th>flows</th><th>bytes</th><th>denied</th></tr></thead><tbody>");
    let mut rows: Vec<_> = r.egress.iter().collect();
    rows.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    for (c, e) in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(c),
            esc(ctx.classes.get(c).map(String::as_str).unwrap_or("unknown")),
            e.flows,
            esc(&human_bytes(e.bytes)),
            e.denied
        );
    }
    h.push_str("</tbody></table>");
    if !r.top_denied.is_empty() {
        h.push_str("<h3>Top denied destinations</h3><table id=\"top-denied\"><thead><tr><th>host</th><th>country</th><th>denials</th></tr></thead><tbody>");
        for (host, c, n) in &r.top_denied {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{n}</td></tr>",
                esc(host),
                esc(c)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");
}

fn evidence(h: &mut String, r: &AuditReport) {
    let v = &r.verification;
    let chain = match &v.first_bad {
        None => format!(
            "<b id=\"chain-ok\">verified</b>: {} rows, every hash{} intact",
            v.rows,
            if v.macs_checked {
                " and key signature"
            } else {
                ""
            }
        ),
        Some(b) => format!(
            "<b id=\"chain-broken\" class=\"sev-error\">BROKEN</b>: {}",
            esc(&b.reason)
        ),
    };
    let _ = write!(
        h,
        "<section id=\"evidence\"><h2>Evidence</h2><table><tbody>\
         <tr><th>audit store</th><td><code>{}</code></td></tr>\
         <tr><th>chain</th><td>{chain}</td></tr>\
         <tr><th>head hash</th><td><code id=\"head-hash\">{}</code></td></tr>",
        esc(&r.store),
        esc(&v.head)
    );
    if let Some((seq, hash)) = &v.checkpoint {
        let _ = write!(
            h,
            "<tr><th>pruned through row</th><td>{seq} (checkpoint <code>{}</code>)</td></tr>",
            esc(hash)
        );
    }
    for (label, run) in [("scan", &r.scan), ("flow audit", &r.flows)] {
        let Some(run) = run else { continue };
        let _ = write!(
            h,
            "<tr><th>{label}</th><td>row {} at {} · residency {} · policy <code>{}</code> sha256 <code>{}</code> · adequacy list {} · geodb {}</td></tr>",
            run.seq,
            esc(&run.at),
            esc(&run.run.version),
            esc(&run.run.policy),
            esc(&run.run.policy_hash),
            esc(&run.run.adequacy_list_date),
            esc(&run.run.geodb)
        );
        for i in &run.run.inputs {
            let _ = write!(
                h,
                "<tr><th>input</th><td><code>{}</code> sha256 <code>{}</code></td></tr>",
                esc(&i.path),
                esc(&i.sha256)
            );
        }
    }
    h.push_str("</tbody></table><p class=\"muted\">Map: Natural Earth 1:50m country boundaries (public domain). \
                Check the record yourself: <code>residency audit verify --audit FILE</code> and compare the head hash.</p></section>");
}
